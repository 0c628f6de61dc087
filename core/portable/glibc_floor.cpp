// core/portable/glibc_floor.cpp — keeps the portable binaries loadable on glibc 2.34 (Ubuntu
// 22.04, RHEL 9) although they are built on a newer one (docs/release.md, "glibc").
//
// A binary needs the newest glibc symbol version it references. The static libstdc++ of GCC 12
// built on glibc 2.36 references arc4random (new in 2.36) from std::random_device, which the
// library pulls in even though ssmlab never uses it. Defining arc4random here, in an object file
// linked directly into every program (not from an archive, so it comes before libc on the link
// line), binds that reference to this definition and the 2.36 requirement disappears. It draws
// from getrandom(2) (glibc 2.25), the kernel source glibc's own arc4random uses.
#include <sys/random.h>

#include <cerrno>
#include <cstdint>

extern "C" uint32_t arc4random(void) {
  uint32_t value = 0;
  for (;;) {
    const ssize_t n = getrandom(&value, sizeof value, 0);
    if (n == static_cast<ssize_t>(sizeof value)) return value;
    if (n < 0 && errno != EINTR) __builtin_trap();  // no entropy source at all: nothing to return
  }
}
