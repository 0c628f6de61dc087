// train/run_dir.cpp — the run directory's lock and its atomically replaced files.
#include "train/run_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <nlohmann/json.hpp>  // defines: nlohmann::json

#include "core/error.h"         // defines: UserError, SSM_USER_CHECK
#include "core/regular_file.h"  // defines: read_regular_file

namespace ssm {
namespace fs = std::filesystem;

namespace {

bool write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// Flushes a directory's entries so the rename into it survives a power cut, not only a kill.
void sync_dir(const fs::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// The pid a lock file names, or "" when it names none (its holder may not have written it yet).
std::string holder_pid(int fd) {
  char buffer[32] = {};
  const ssize_t n = ::pread(fd, buffer, sizeof(buffer) - 1, 0);
  if (n <= 0) return "";
  std::string text(buffer, static_cast<size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  const bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
  return digits ? text : "";
}

}  // namespace

RunDirLock::RunDirLock(const std::string& run_dir) {
  SSM_USER_CHECK(!run_dir.empty(), "--run-dir: the run directory is an empty path");
  const fs::path dir(run_dir);
  std::error_code ec;
  const fs::file_status status = fs::status(dir, ec);
  SSM_USER_CHECK(!fs::exists(status) || fs::is_directory(status), "run directory '", run_dir,
                 "' exists and is not a directory (pass another --run-dir)");
  fs::create_directories(dir, ec);
  SSM_USER_CHECK(!ec, "cannot create run directory '", run_dir, "': ", ec.message());
  SSM_USER_CHECK(::access(dir.c_str(), W_OK | X_OK) == 0, "run directory '", run_dir, "' is not writable: ",
                 std::strerror(errno));
  const fs::path lock_path = dir / ".lock";
  fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  SSM_USER_CHECK(fd_ >= 0, "run directory '", run_dir, "': cannot open its lock file '", lock_path.string(), "': ",
                 std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    const std::string pid = holder_pid(fd_);
    ::close(fd_);
    fd_ = -1;
    SSM_USER_CHECK(err != EWOULDBLOCK, "run directory '", run_dir, "' is in use by another ssmlab train (",
                   pid.empty() ? std::string("pid unknown") : "pid " + pid, ", holding ", lock_path.string(),
                   "): wait for it to finish, or pass another --run-dir");
    throw UserError(absl::StrCat("run directory '", run_dir, "': cannot lock '", lock_path.string(), "': ",
                                 std::strerror(err)));
  }
  // Ours now: name this process for whoever is refused next. Best effort (the lock is what counts).
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) == 0) (void)!::pwrite(fd_, pid.data(), pid.size(), 0);
}

RunDirLock::~RunDirLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock; the file stays (removing it would race a new holder)
}

void write_file_atomically(const std::string& path, const std::string& text) {
  const std::string staged = path + ".tmp";
  const int fd = ::open(staged.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  SSM_USER_CHECK(fd >= 0, "cannot write '", staged, "': ", std::strerror(errno));
  // The replacement keeps the permissions of the file it replaces.
  struct stat old {};
  bool ok = ::stat(path.c_str(), &old) != 0 || ::fchmod(fd, old.st_mode & 07777) == 0;
  ok = ok && write_all(fd, text.data(), text.size()) && ::fsync(fd) == 0;
  const int err = errno;
  ok = ::close(fd) == 0 && ok;
  if (!ok) {
    ::unlink(staged.c_str());
    throw UserError(absl::StrCat("cannot write '", staged, "': ", std::strerror(err)));
  }
  if (::rename(staged.c_str(), path.c_str()) != 0) {
    const int rename_err = errno;
    ::unlink(staged.c_str());
    throw UserError(absl::StrCat("cannot rename '", staged, "' to '", path, "': ", std::strerror(rename_err)));
  }
  sync_dir(fs::path(path).parent_path());
}

int64_t rewrite_metrics(const std::string& path, int64_t last_step) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(path, ec))) return 0;
  std::istringstream in(read_regular_file(path, absl::StrCat("cannot read the run's metrics log '", path, "'")));
  std::string line, kept;
  int64_t rows = 0;
  while (std::getline(in, line)) {
    const nlohmann::json row = nlohmann::json::parse(line, nullptr, false);
    if (row.is_discarded() || !row.is_object()) continue;
    const auto step = row.find("step");
    if (step != row.end() && step->is_number() && step->get<double>() > static_cast<double>(last_step)) continue;
    kept += line + "\n";
    ++rows;
  }
  write_file_atomically(path, kept);
  return rows;
}

}  // namespace ssm
