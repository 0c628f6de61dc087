// cuda/dynamic/library_loader.h — finds and opens, at run time, the CUDA libraries ssmlab does not link:
// cuBLAS (with cuBLASLt) and NCCL. The CUDA runtime is linked statically, so a binary copied to
// another machine needs only the NVIDIA driver to start; these two large libraries come from the
// host's CUDA: its toolkit, or the nvidia-* Python packages PyTorch installs (docs/release.md).
//
// The cuBLAS and NCCL functions the kernels call are defined beside this file as forwards into
// the library opened here, so the kernel files call cuBLAS exactly as they would if it were
// linked (and, under the host emulator, call the emulator's versions instead).
#pragma once

#include <string>
#include <vector>

namespace ssm::cuda {

struct LoadedLibrary {
  void* handle = nullptr;
  std::string path;  // where it was found ("libcublas.so.13" when the dynamic loader found it)
};

// The folders searched after the dynamic loader's own search (LD_LIBRARY_PATH, the binary's RPATH,
// /etc/ld.so.cache), in order: $SSMLAB_CUDA_LIBRARY_PATH (a colon-separated list), the toolkit
// named by $CUDA_HOME, $CUDA_PATH or $CUDA_ROOT, /usr/local/cuda and /usr/local/cuda-<major>,
// then the lib folders of the nvidia-* Python packages under $VIRTUAL_ENV, $CONDA_PREFIX,
// ~/.local, /usr/local, /usr and /opt/conda. Only folders that exist are returned.
std::vector<std::string> library_search_dirs();

// Opens `file_name` (e.g. "libcublas.so.13"), first as the dynamic loader finds it, then in each of
// library_search_dirs(). Throws a UserError on one line naming the library (`what`, e.g. "cuBLAS")
// and every place it was looked for.
LoadedLibrary open_library(const std::string& file_name, const std::string& what);

// The address of `symbol` in `library`; throws an Error naming both when it is missing (a library
// older than the headers ssmlab was built with).
void* library_symbol(const LoadedLibrary& library, const char* symbol);

// cuBLAS, opened once (thread-safe) on first use; the CUDA backend opens it at start-up when a GPU
// is visible, so a missing cuBLAS is reported before any work. libcublas finds its companion
// cuBLASLt through its own RUNPATH ($ORIGIN).
const LoadedLibrary& cublas_library();

// NCCL, opened once on first use (multi-GPU data parallelism only).
const LoadedLibrary& nccl_library();

// For the forwarding definitions: the function `name` in `library()`, looked up once. `Forward`
// is the forwarding function itself; only its type (the header's prototype) and its identity
// (one cached address per function) are used.
template <auto Forward>
auto resolved(const LoadedLibrary& (*library)(), const char* name) {
  static const auto fn = reinterpret_cast<decltype(Forward)>(library_symbol(library(), name));
  return fn;
}

}  // namespace ssm::cuda
