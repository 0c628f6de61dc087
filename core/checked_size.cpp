// core/checked_size.cpp — overflow-checked size arithmetic and the memory limit (checked_size.h).
#include "core/checked_size.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "absl/strings/str_format.h"  // defines: absl::StrFormat
#include "core/error.h"               // defines: UserError

namespace ssm {

namespace {

// A container's memory limit (cgroup v2 memory.max, or v1 memory.limit_in_bytes) is what the
// machine has for us, even when the host's RAM is larger. "max", a huge v1 value or an
// unreadable file: no limit.
int64_t cgroup_memory_limit() {
  int64_t limit = INT64_MAX;
  for (const char* path : {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
    std::ifstream in(path);
    int64_t bytes = 0;
    if (in >> bytes && bytes > 0) limit = std::min(limit, bytes);
  }
  return limit;
}

}  // namespace

int64_t checked_mul(int64_t a, int64_t b, const std::string& what) {
  int64_t out = 0;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &out)) {
    throw UserError(absl::StrCat(what, ": ", a, " x ", b, " does not fit in a 64-bit size"));
  }
  return out;
}

int64_t checked_add(int64_t a, int64_t b, const std::string& what) {
  int64_t out = 0;
  if (a < 0 || b < 0 || __builtin_add_overflow(a, b, &out)) {
    throw UserError(absl::StrCat(what, ": ", a, " + ", b, " does not fit in a 64-bit size"));
  }
  return out;
}

int64_t memory_limit_bytes() {
  static const int64_t limit = [] {
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
    int64_t bytes = pages > 0 && page > 0 ? static_cast<int64_t>(pages) * page : INT64_MAX;
    bytes = std::min(bytes, cgroup_memory_limit());
    struct rlimit rl {};
    if (::getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
      bytes = std::min<int64_t>(bytes, static_cast<int64_t>(std::min<rlim_t>(rl.rlim_cur, INT64_MAX)));
    }
    return bytes;
  }();
  return limit;
}

std::string describe_bytes(double bytes) {
  const double gib = bytes / (1024.0 * 1024.0 * 1024.0);
  // Exact digits while they are exact in a double; past that, three significant ones.
  const std::string count = bytes < 9e15 ? absl::StrFormat("%.0f", bytes) : absl::StrFormat("%.3g", bytes);
  const std::string size = gib < 1e6 ? absl::StrFormat("%.1f GiB", gib) : absl::StrFormat("%.3g GiB", gib);
  return absl::StrCat(count, " bytes (", size, ")");
}

void check_allocation(double bytes, const std::string& what) {
  const double limit = static_cast<double>(memory_limit_bytes());
  if (!(bytes <= limit)) {  // NaN is refused too
    throw UserError(absl::StrCat(what, ": would need ", describe_bytes(bytes), ", more than this machine has (",
                                 absl::StrFormat("%.1f GiB", limit / (1024.0 * 1024.0 * 1024.0)), ")"));
  }
}

}  // namespace ssm
