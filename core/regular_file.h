// core/regular_file.h — opening the files ssmlab reads: regular files only, never blocking, and
// never more than the caller allows.
//
// open() on a FIFO blocks until a writer comes, and /dev/zero or a directory never ends well:
// every file a user names (a config, a corpus, a token file, model.safetensors, a tokenizer,
// --data) is opened with O_NONBLOCK and checked with fstat to be a regular file, or refused with
// one line (a UserError, exit code 2) that says what it is instead. A missing file, a symlink
// loop or a permission problem is the same one line with the system's reason.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

namespace ssm {

// An open, read-only descriptor of a regular file; closed with the object.
class RegularFile {
 public:
  // Opens `path`. `what` starts every message about it, e.g. "cannot read config 'a.yaml'".
  static RegularFile open(const std::string& path, const std::string& what);

  RegularFile() = default;
  RegularFile(RegularFile&& other) noexcept;
  RegularFile& operator=(RegularFile&& other) noexcept;
  RegularFile(const RegularFile&) = delete;
  RegularFile& operator=(const RegularFile&) = delete;
  ~RegularFile();

  int fd() const { return fd_; }
  int64_t size() const { return size_; }  // when it was opened
  const std::string& what() const { return what_; }
  void set_what(std::string what) { what_ = std::move(what); }  // what later messages start with

  // Reads exactly `n` bytes at `offset`. A file that ends sooner was truncated since it was
  // opened: a UserError naming it (reading a mapping would have been SIGBUS).
  void read_at(int64_t offset, void* out, size_t n) const;

  // The whole file. UserError, before anything is read, when it is larger than `max_bytes`
  // (`limit_name` says whose limit, e.g. "a config") or than this machine's memory.
  std::string read_all(int64_t max_bytes = INT64_MAX, const std::string& limit_name = "") const;

 private:
  int fd_ = -1;
  int64_t size_ = 0;
  std::string what_;
};

// RegularFile::open(path, what).read_all(max_bytes, limit_name).
std::string read_regular_file(const std::string& path, const std::string& what, int64_t max_bytes = INT64_MAX,
                              const std::string& limit_name = "");

// The largest config or sweep file ssmlab parses (16 MiB): far above any real one, far below
// what would make the YAML parser take minutes.
constexpr int64_t kMaxConfigFileBytes = 16ll << 20;

}  // namespace ssm
