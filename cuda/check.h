// cuda/check.h — checked CUDA runtime and cuBLAS calls, and checked kernel launches.
//
// Every failure throws ssm::Error naming the op that was running and the call that failed, e.g.
//   "CUDA error in ssd_forward: cudaMemsetAsync(...) failed: out of memory"
// Kernel launches are asynchronous: a launch error (bad configuration) is caught right after the
// launch, but a fault inside a kernel surfaces at the next synchronising call. Setting the
// environment variable SSMLAB_CUDA_SYNC=1 synchronises after every launch, so the error names the
// kernel that faulted (slow; for debugging a first run on a new GPU).
// Included by cuda/ sources only (it needs cuda_runtime.h); host code outside cuda/ uses
// cuda/device.h and cuda/stream.h, which need no CUDA headers.
#pragma once

#include <cuda_runtime.h>

#include "cuda/stream.h"  // defines: stream_handle

namespace ssm::cuda {

// The compute stream every kernel, copy and cuBLAS call of ssmlab runs on.
inline cudaStream_t stream() { return static_cast<cudaStream_t>(stream_handle()); }

// Throws unless status == cudaSuccess.
void check_cuda(cudaError_t status, const char* op, const char* call);
// Throws unless status == CUBLAS_STATUS_SUCCESS (the status is passed as int to keep cuBLAS
// headers out of here).
void check_cublas(int status, const char* op, const char* call);
// After a kernel launch: throws on a launch error; with SSMLAB_CUDA_SYNC=1 also synchronises and
// throws on an execution error.
void check_launch(const char* op, const char* kernel);

}  // namespace ssm::cuda

// SSM_CUDA_CHECK(op, call): `op` names the ssmlab op for the message.
#define SSM_CUDA_CHECK(op, call) ::ssm::cuda::check_cuda((call), (op), #call)
#define SSM_CUBLAS_CHECK(op, call) ::ssm::cuda::check_cublas(static_cast<int>(call), (op), #call)
// SSM_CUDA_LAUNCH(op, kernel, grid, block, shared, args...): launches on the compute stream and
// checks the launch. In the emulated build (cuda/emulation/) the same line runs the kernel on
// host threads instead.
#if defined(SSMLAB_CUDA_EMULATED)
#define SSM_CUDA_LAUNCH(op, kernel, grid, block, shared, ...)                              \
  do {                                                                                     \
    ::cuda_emulation::launch(#kernel, (grid), (block), (shared), [&] { kernel(__VA_ARGS__); }); \
    ::ssm::cuda::check_launch((op), #kernel);                                              \
  } while (0)
#else
#define SSM_CUDA_LAUNCH(op, kernel, grid, block, shared, ...)                              \
  do {                                                                                     \
    kernel<<<(grid), (block), (shared), ::ssm::cuda::stream()>>>(__VA_ARGS__);             \
    ::ssm::cuda::check_launch((op), #kernel);                                              \
  } while (0)
#endif
