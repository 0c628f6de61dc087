// cuda/device.cu — device discovery, checked CUDA calls, and device memory for core/.
//
// Allocation is plain cudaMalloc/cudaFree for now; the caching allocator that avoids a
// cudaMalloc per op replaces it in the CUDA backend work (it registers through the same hook).
#include "cuda/device.h"

#include <cuda_runtime.h>

#include <cstdio>
#include <string>

#include "core/error.h"    // defines: Error
#include "core/storage.h"  // defines: register_device_allocator

namespace ssm::cuda {
namespace {

void check(cudaError_t status, const char* call) {
  if (status != cudaSuccess) {
    throw Error(absl::StrCat("CUDA call ", call, " failed: ", cudaGetErrorString(status)));
  }
}

#define SSM_CUDA_CHECK(call) check((call), #call)

}  // namespace

int device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error
    return 0;
  }
  return count;
}

bool initialize() {
  static const bool ok = [] {
    if (device_count() == 0) return false;
    DeviceAllocator alloc;
    alloc.allocate = [](size_t nbytes) {
      void* ptr = nullptr;
      SSM_CUDA_CHECK(cudaMalloc(&ptr, nbytes == 0 ? 1 : nbytes));
      return ptr;
    };
    alloc.release = [](void* ptr) { cudaFree(ptr); };
    alloc.copy = [](void* dst, const void* src, size_t nbytes, int kind) {
      const cudaMemcpyKind k = kind == 0 ? cudaMemcpyHostToDevice
                               : kind == 1 ? cudaMemcpyDeviceToHost
                                           : cudaMemcpyDeviceToDevice;
      SSM_CUDA_CHECK(cudaMemcpy(dst, src, nbytes, k));
    };
    register_device_allocator(DeviceType::cuda, alloc);
    return true;
  }();
  return ok;
}

const char* device_description(int index) {
  static thread_local std::string text;
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, index) != cudaSuccess) return "unavailable";
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s, %.1f GiB, sm_%d%d", prop.name,
                static_cast<double>(prop.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0), prop.major,
                prop.minor);
  text = buf;
  return text.c_str();
}

}  // namespace ssm::cuda
