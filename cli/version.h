// cli/version.h — what `ssmlab --version` prints: which ssmlab this is and what was compiled in.
#pragma once

#include <string>

namespace ssm::cli {

// Three lines: the version, commit and build type; the compute backends (CPU always; CUDA with
// its toolkit version and GPU architectures, or "not built"); data parallelism (MPI, NCCL).
std::string version_text();

}  // namespace ssm::cli
