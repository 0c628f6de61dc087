// core/storage.h — a block of bytes on one device, and the allocators that make them.
//
// Storage is shared by a tensor and all its views. The deleter travels with the pointer, so the
// same type holds aligned heap memory, tensors viewing a safetensors file read whole, or CUDA memory from the
// caching allocator. Devices other than the CPU register their allocator at start-up
// (cuda/ does this), which keeps core/ free of any CUDA dependency.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include "core/dtype.h"

namespace ssm {

struct Storage {
  std::shared_ptr<void> data;  // owns the bytes; its deleter frees them the right way
  size_t nbytes = 0;
  Device device;
};

// Allocates nbytes on `device` (CPU: 64-byte aligned, zero-initialised is NOT guaranteed). Freed
// CPU blocks of 16 KiB and more are cached for reuse by later allocations of their size class.
std::shared_ptr<Storage> allocate_storage(size_t nbytes, Device device);

// Returns the CPU blocks the cache holds to the system (e.g. between benchmarks, so one's peak
// memory does not include what the previous one left cached).
void release_cached_host_memory();

// Wraps memory someone else owns (e.g. a whole file's bytes); `keep_alive` is released with the storage.
std::shared_ptr<Storage> wrap_storage(void* ptr, size_t nbytes, Device device,
                                      std::shared_ptr<void> keep_alive);

class Tensor;

// Device memory hooks, installed by a backend library (cuda/) when it is linked in.
struct DeviceAllocator {
  std::function<void*(size_t)> allocate;
  std::function<void(void*)> release;
  // Copies bytes between host and this device or within it (kind: 0 h2d, 1 d2h, 2 d2d).
  std::function<void(void* dst, const void* src, size_t nbytes, int kind)> copy;
  // Copies between two tensors on this device, strided on both sides and converting dtype (the
  // device's Backend::copy). Tensor::copy_from uses it within a device and to stage transfers.
  std::function<void(const Tensor& src, const Tensor& dst)> copy_tensor;
};
void register_device_allocator(DeviceType type, DeviceAllocator allocator);
const DeviceAllocator* device_allocator(DeviceType type);  // nullptr when not built in

}  // namespace ssm
