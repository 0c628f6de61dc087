// cuda/check.cpp — the error paths of cuda/check.h.
#include "cuda/check.h"

#include <cublas_v2.h>

#include <cstdlib>
#include <cstring>

#include "core/error.h"    // defines: Error

namespace ssm::cuda {
namespace {

bool sync_after_launch() {
  static const bool on = [] {
    const char* v = std::getenv("SSMLAB_CUDA_SYNC");
    return v != nullptr && std::strcmp(v, "") != 0 && std::strcmp(v, "0") != 0;
  }();
  return on;
}

}  // namespace

void check_cuda(cudaError_t status, const char* op, const char* call) {
  if (status == cudaSuccess) return;
  cudaGetLastError();  // clear a non-sticky error so the next call does not report it again
  throw Error(absl::StrCat("CUDA error in ", op, ": ", call, " failed: ", cudaGetErrorString(status), " (",
                           cudaGetErrorName(status), ")"));
}

void check_cublas(int status, const char* op, const char* call) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  throw Error(absl::StrCat("cuBLAS error in ", op, ": ", call, " failed: ",
                           cublasGetStatusString(static_cast<cublasStatus_t>(status))));
}

void check_launch(const char* op, const char* kernel) {
  const cudaError_t launch = cudaGetLastError();
  if (launch != cudaSuccess) {
    throw Error(absl::StrCat("CUDA error in ", op, ": launching ", kernel, " failed: ",
                             cudaGetErrorString(launch)));
  }
  if (sync_after_launch()) {
    const cudaError_t run = cudaStreamSynchronize(stream());
    if (run != cudaSuccess) {
      throw Error(absl::StrCat("CUDA error in ", op, ": kernel ", kernel, " failed: ", cudaGetErrorString(run)));
    }
  }
}

}  // namespace ssm::cuda
