// core/regular_file.cpp — non-blocking, regular-files-only opening and reading (regular_file.h).
#include "core/regular_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "core/checked_size.h"  // defines: check_allocation
#include "core/error.h"         // defines: UserError

namespace ssm {

namespace {

std::string not_regular(mode_t mode) {
  const char* kind = S_ISDIR(mode)    ? "a directory"
                     : S_ISFIFO(mode) ? "a FIFO (named pipe)"
                     : S_ISCHR(mode)  ? "a character device"
                     : S_ISBLK(mode)  ? "a block device"
                     : S_ISSOCK(mode) ? "a socket"
                                      : nullptr;
  return kind ? absl::StrCat("it is ", kind, ", not a regular file") : "not a regular file";
}

}  // namespace

RegularFile RegularFile::open(const std::string& path, const std::string& what) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw UserError(absl::StrCat(what, ": ", std::strerror(errno)));
  RegularFile file;
  file.fd_ = fd;
  file.what_ = what;
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw UserError(absl::StrCat(what, ": ", std::strerror(errno)));
  if (!S_ISREG(st.st_mode)) throw UserError(absl::StrCat(what, ": ", not_regular(st.st_mode)));
  // Regular files never block; clear the flag so reads behave as they always do.
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  file.size_ = static_cast<int64_t>(st.st_size);
  return file;
}

RegularFile::RegularFile(RegularFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), size_(other.size_), what_(std::move(other.what_)) {}

RegularFile& RegularFile::operator=(RegularFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    size_ = other.size_;
    what_ = std::move(other.what_);
  }
  return *this;
}

RegularFile::~RegularFile() {
  if (fd_ >= 0) ::close(fd_);
}

void RegularFile::read_at(int64_t offset, void* out, size_t n) const {
  auto* dst = static_cast<char*>(out);
  size_t done = 0;
  while (done < n) {
    const ssize_t got = ::pread(fd_, dst + done, n - done, static_cast<off_t>(offset) + static_cast<off_t>(done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw UserError(absl::StrCat(what_, ": read failed: ", std::strerror(errno)));
    if (got == 0) {
      struct stat st {};
      const int64_t now = ::fstat(fd_, &st) == 0 ? static_cast<int64_t>(st.st_size) : -1;
      throw UserError(absl::StrCat(what_, ": the file changed while it was read: it had ", size_,
                                   " bytes when opened, now ", now, " (bytes ", offset, "..",
                                   offset + static_cast<int64_t>(n), " are gone)"));
    }
    done += static_cast<size_t>(got);
  }
}

std::string RegularFile::read_all(int64_t max_bytes, const std::string& limit_name) const {
  if (size_ > max_bytes) {
    throw UserError(absl::StrCat(what_, ": the file has ", size_, " bytes, more than the ", max_bytes, " bytes (",
                                 max_bytes >> 20, " MiB) ", limit_name.empty() ? "allowed" : "allowed for " + limit_name));
  }
  check_allocation(static_cast<double>(size_), what_);
  std::string text(static_cast<size_t>(size_), '\0');
  read_at(0, text.data(), text.size());
  return text;
}

std::string read_regular_file(const std::string& path, const std::string& what, int64_t max_bytes,
                              const std::string& limit_name) {
  return RegularFile::open(path, what).read_all(max_bytes, limit_name);
}

}  // namespace ssm
