// cuda/device.h — the CUDA runtime as core/ and the CLI see it: device discovery, the device's
// limits, device selection, and registering GPU memory with core/storage.h (so that
// Tensor::empty(..., Device::cuda()) works).
//
// Host code includes this header without nvcc: nothing here needs CUDA types. All work runs on
// the current device (one process per GPU; Device::cuda(i) with i != the current device is an
// error in the backend).
#pragma once

#include <cstdint>
#include <string>

namespace ssm::cuda {

// Number of visible CUDA devices (0 when the driver or a GPU is missing; never throws).
int device_count();

// Why no device can be used, in words for a message: "no CUDA device is visible: CUDA driver
// version is insufficient for CUDA runtime version" (no driver), "...: no CUDA-capable device is
// detected". Empty when a device is visible.
std::string no_device_reason();

// Registers the caching allocator and the host<->device copies with core/ (idempotent). Returns
// false without a GPU. The CUDA backend calls it at start-up when a GPU is visible.
bool initialize();

// Makes `index` the current device; call before any other CUDA work in the process.
void set_device(int index);
int current_device();

// Human-readable name and memory of device `index`, e.g. "NVIDIA H100 80GB HBM3, 79.1 GiB, sm_90".
const char* device_description(int index);

// What a benchmark compares against. Memory bandwidth is the theoretical peak from the memory
// clock and bus width (2 transfers per clock); compute peaks are not queryable and are left to
// the caller (ssmlab bench uses the H100 SXM figures as its reference).
struct DeviceInfo {
  std::string name;
  int sm_count = 0;
  int major = 0, minor = 0;       // compute capability
  double total_memory_bytes = 0;
  double sm_clock_khz = 0;
  double memory_clock_khz = 0;
  int memory_bus_bits = 0;
  double memory_bandwidth_bytes_per_s = 0;  // 2 · memory clock · bus width / 8
  int64_t max_shared_per_block = 0;         // bytes of shared memory a block can opt in to
};
DeviceInfo device_info(int index);

// The shared memory a block of the current device can opt in to (227 KiB on sm_90, 163 KiB on
// sm_80, 99 KiB on sm_86/89): kernels that tile through shared memory check their plan against it
// and leave shapes that do not fit to a version that does (docs/kernels.md).
int64_t max_shared_per_block();

}  // namespace ssm::cuda
