// cli/version.h — what `ssmlab --version` prints: which ssmlab this is and what was compiled in.
#pragma once

#include <string>

namespace ssm::cli {

// Four lines: the version, commit and build type; the compute backends (CPU always; CUDA with
// its toolkit version and GPU architectures, or "not built"); data parallelism (MPI, NCCL); the
// device this process would use (the GPU and where cuBLAS came from, or why it is the CPU).
std::string version_text();

}  // namespace ssm::cli
