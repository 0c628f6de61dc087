// ops/kernel_versions.h — kernels that exist in several versions side by side (docs/kernels.md),
// as llm.c's dev/cuda keeps them: version 1 is the readable reference, a port of the CPU loop;
// later versions are faster (tiled, on tensor cores) and are tested against the same CPU results.
// Which version runs is chosen per kernel, for the whole process:
//   SSMLAB_KERNELS=ssd_chunked_forward=2[,kernel=version...]   the environment, read at first use
//   set_kernel_version / KernelVersionGuard                    the benchmarks and the tests
// A version applies where it can: version 2 of a CUDA kernel runs on f32 tensors of the shapes
// it supports and leaves the others to version 1 (kernel_version_applies says which).
#pragma once

#include <string>
#include <vector>

namespace ssm::ops {

struct KernelFamily {
  std::string name;                   // e.g. "ssd_chunked_forward"
  int versions;                       // 1 .. versions exist
  int default_version;
  std::vector<std::string> described;  // one line per version, [0] = version 1
};

// Every kernel with more than one version.
const std::vector<KernelFamily>& kernel_families();

// The version chosen for `name` now: set_kernel_version's, else SSMLAB_KERNELS's, else the
// default. UserError for an unknown name, or for a malformed SSMLAB_KERNELS (naming it).
int kernel_version(const std::string& name);
// Reads SSMLAB_KERNELS now (it is otherwise read at the first question): UserError when malformed.
void check_kernel_environment();
// UserError naming the kernel, the version and the versions that exist.
void set_kernel_version(const std::string& name, int version);

// Parses "name=version[,name=version...]" (SSMLAB_KERNELS' syntax; the name "all" sets every
// family, e.g. "all=2,adamw=1") and sets each; `source` names where the text came from in errors
// (e.g. "SSMLAB_KERNELS", "--kernels").
void set_kernel_versions(const std::string& text, const std::string& source);

// The version that ran last for `name` (0: none yet). A kernel with versions records which one it
// ran, so that a benchmark row or a test can say whether the chosen version applied.
void record_kernel_version_ran(const std::string& name, int version);
int last_kernel_version_ran(const std::string& name);

class KernelVersionGuard {
 public:
  KernelVersionGuard(const std::string& name, int version) : name_(name), saved_(kernel_version(name)) {
    set_kernel_version(name, version);
  }
  ~KernelVersionGuard() { set_kernel_version(name_, saved_); }
  KernelVersionGuard(const KernelVersionGuard&) = delete;
  KernelVersionGuard& operator=(const KernelVersionGuard&) = delete;

 private:
  std::string name_;
  int saved_;
};

}  // namespace ssm::ops
