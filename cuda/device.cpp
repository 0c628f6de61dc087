// cuda/device.cpp — device discovery and limits, and the registration of GPU memory with core/
// (cuda/device.h). Allocation goes to the caching allocator (cuda/allocator.h); copies run on
// the compute stream (cuda/stream.h) and wait for it when the host is involved.
#include "cuda/device.h"

#include <cuda_runtime.h>

#include "absl/strings/str_format.h"  // defines: absl::StrFormat
#include "core/error.h"      // defines: Error
#include "core/storage.h"    // defines: register_device_allocator
#include "core/tensor.h"     // defines: Tensor
#include "cuda/allocator.h"  // defines: device_allocate, device_release
#include "cuda/check.h"      // defines: SSM_CUDA_CHECK, stream
#include "ops/backend.h"     // defines: backend_for

namespace ssm::cuda {

int device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error
    return 0;
  }
  return count;
}

std::string no_device_reason() {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  cudaGetLastError();
  if (status == cudaSuccess && count > 0) return "";
  return absl::StrCat("no CUDA device is visible: ",
                      status == cudaSuccess ? "the driver reports none" : cudaGetErrorString(status));
}

bool initialize() {
  static const bool ok = [] {
    if (device_count() == 0) return false;
    DeviceAllocator alloc;
    alloc.allocate = [](size_t nbytes) { return device_allocate(nbytes); };
    alloc.release = [](void* ptr) { device_release(ptr); };
    alloc.copy = [](void* dst, const void* src, size_t nbytes, int kind) {
      if (nbytes == 0) return;
      const cudaMemcpyKind k = kind == 0 ? cudaMemcpyHostToDevice
                               : kind == 1 ? cudaMemcpyDeviceToHost
                                           : cudaMemcpyDeviceToDevice;
      SSM_CUDA_CHECK("copy", cudaMemcpyAsync(dst, src, nbytes, k, stream()));
      // The host buffer may be freed or read as soon as we return: wait when the host is involved.
      if (kind != 2) SSM_CUDA_CHECK("copy", cudaStreamSynchronize(stream()));
    };
    alloc.copy_tensor = [](const Tensor& src, const Tensor& dst) { backend_for(dst.device()).copy(src, dst); };
    register_device_allocator(DeviceType::cuda, alloc);
    return true;
  }();
  return ok;
}

void set_device(int index) { SSM_CUDA_CHECK("set_device", cudaSetDevice(index)); }

int current_device() {
  int index = 0;
  SSM_CUDA_CHECK("current_device", cudaGetDevice(&index));
  return index;
}

const char* device_description(int index) {
  static thread_local std::string text;
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, index) != cudaSuccess) return "unavailable";
  text = absl::StrFormat("%s, %.1f GiB, sm_%d%d", prop.name,
                         static_cast<double>(prop.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0), prop.major,
                         prop.minor);
  return text.c_str();
}

DeviceInfo device_info(int index) {
  cudaDeviceProp prop{};
  SSM_CUDA_CHECK("device_info", cudaGetDeviceProperties(&prop, index));
  DeviceInfo info;
  info.name = prop.name;
  info.sm_count = prop.multiProcessorCount;
  info.major = prop.major;
  info.minor = prop.minor;
  info.total_memory_bytes = static_cast<double>(prop.totalGlobalMem);
  int sm_clock = 0, mem_clock = 0, bus = 0;
  SSM_CUDA_CHECK("device_info", cudaDeviceGetAttribute(&sm_clock, cudaDevAttrClockRate, index));
  SSM_CUDA_CHECK("device_info", cudaDeviceGetAttribute(&mem_clock, cudaDevAttrMemoryClockRate, index));
  SSM_CUDA_CHECK("device_info", cudaDeviceGetAttribute(&bus, cudaDevAttrGlobalMemoryBusWidth, index));
  info.sm_clock_khz = sm_clock;
  info.memory_clock_khz = mem_clock;
  info.memory_bus_bits = bus;
  info.memory_bandwidth_bytes_per_s = 2.0 * mem_clock * 1e3 * bus / 8.0;
  int shared = 0;
  SSM_CUDA_CHECK("device_info", cudaDeviceGetAttribute(&shared, cudaDevAttrMaxSharedMemoryPerBlockOptin, index));
  info.max_shared_per_block = shared;
  return info;
}

int64_t max_shared_per_block() {
  int shared = 0;
  SSM_CUDA_CHECK("max_shared_per_block",
                 cudaDeviceGetAttribute(&shared, cudaDevAttrMaxSharedMemoryPerBlockOptin, current_device()));
  return shared;
}

}  // namespace ssm::cuda
