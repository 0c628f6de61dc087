// cli/openblas_core.h — making sure OpenBLAS runs the GEMM kernels this CPU supports.
//
// OpenBLAS (built for every x86-64 CPU, as Debian ships it) picks its kernels once, when it is
// loaded, from the CPU model number. A model newer than its release (OpenBLAS 0.3.21 predates
// Sapphire and Emerald Rapids) gets the oldest kernels, "Prescott" (SSE3): four floats per
// instruction on a CPU that does sixteen, and every GEMM of a training step three to four times
// slower. The only supported override is the OPENBLAS_CORETYPE environment variable, read at load
// time, so the process sets it and executes itself again.
#pragma once

namespace ssm::cli {

// When OpenBLAS fell back to its generic kernels on a CPU with AVX-512 (SkylakeX kernels) or
// AVX2 + FMA (Haswell kernels) and OPENBLAS_CORETYPE is not set: sets it and re-executes
// /proc/self/exe with the same arguments (never returns then). Otherwise, or if that fails,
// returns and the run goes on with the kernels OpenBLAS chose.
void ensure_openblas_kernels(char** argv);

}  // namespace ssm::cli
