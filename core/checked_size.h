// core/checked_size.h — sizes that come from a config, a flag or a file: computed without
// overflow, and compared with the machine's memory before anything is allocated.
//
// A size the user chose (d_model, --length, a token count in a file header) must never wrap
// around to a small number (a heap overflow later) nor reach the allocator as an absurd request
// (minutes of paging, then "internal error"). Every such size goes through here: the products
// are checked, and the bytes they would need are compared with memory_limit_bytes(); both
// failures are UserErrors (exit code 2) that name the key or flag and the bytes.
#pragma once

#include <cstdint>
#include <string>

namespace ssm {

// a · b and a + b of sizes (both >= 0). UserError "<what>: a x b does not fit in a 64-bit size"
// when the result would overflow int64.
int64_t checked_mul(int64_t a, int64_t b, const std::string& what);
int64_t checked_add(int64_t a, int64_t b, const std::string& what);

// The memory this process may use: physical RAM (sysconf), lowered by a cgroup limit
// (memory.max) or an address-space rlimit when one is set. Read once.
int64_t memory_limit_bytes();

// "1088000000000 bytes (1013.3 GiB)"; a double, so that sizes past 2^63 can still be named.
std::string describe_bytes(double bytes);

// UserError "<what>: would need N bytes (X GiB), more than this machine has (Y GiB)" when `bytes`
// (computed in double by the caller, so it cannot overflow) exceeds memory_limit_bytes().
void check_allocation(double bytes, const std::string& what);

}  // namespace ssm
