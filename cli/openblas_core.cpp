// cli/openblas_core.cpp — re-executing with OPENBLAS_CORETYPE when OpenBLAS misjudged the CPU
// (cli/openblas_core.h).
#include "cli/openblas_core.h"

#include <cblas.h>  // defines: openblas_get_corename
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace ssm::cli {

void ensure_openblas_kernels(char** argv) {
#if defined(__x86_64__)
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return;  // the user's choice, or our second start
  const char* chosen = openblas_get_corename();
  // The generic fallbacks of OpenBLAS's x86-64 table; a named modern core means it recognised the CPU.
  const bool generic = chosen == nullptr || std::strcmp(chosen, "Prescott") == 0 || std::strcmp(chosen, "Core2") == 0 ||
                       std::strcmp(chosen, "Nehalem") == 0 || std::strcmp(chosen, "Sandybridge") == 0;
  if (!generic) return;
  const char* want = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")
                         ? "SkylakeX"
                     : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? "Haswell"
                                                                                       : nullptr;
  if (want == nullptr || (chosen != nullptr && std::strcmp(chosen, want) == 0)) return;
  if (::setenv("OPENBLAS_CORETYPE", want, 1) != 0) return;
  ::execv("/proc/self/exe", argv);
  ::unsetenv("OPENBLAS_CORETYPE");  // execv failed (no /proc): carry on as loaded
#else
  (void)argv;
#endif
}

}  // namespace ssm::cli
