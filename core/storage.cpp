// core/storage.cpp — CPU aligned allocation and the registry of device allocators.
#include "core/storage.h"

#include <cstdlib>
#include <map>

#include "core/error.h"

namespace ssm {
namespace {

std::map<DeviceType, DeviceAllocator>& allocator_registry() {
  static std::map<DeviceType, DeviceAllocator> registry;
  return registry;
}

}  // namespace

void register_device_allocator(DeviceType type, DeviceAllocator allocator) {
  allocator_registry()[type] = std::move(allocator);
}

const DeviceAllocator* device_allocator(DeviceType type) {
  auto it = allocator_registry().find(type);
  return it == allocator_registry().end() ? nullptr : &it->second;
}

std::shared_ptr<Storage> allocate_storage(size_t nbytes, Device device) {
  auto storage = std::make_shared<Storage>();
  storage->nbytes = nbytes;
  storage->device = device;
  if (device.is_cpu()) {
    // 64-byte alignment: one cache line, and enough for any SIMD load the compiler emits.
    const size_t rounded = (nbytes + 63) / 64 * 64;
    void* ptr = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
    SSM_CHECK(ptr != nullptr, "out of host memory allocating ", nbytes, " bytes");
    storage->data = std::shared_ptr<void>(ptr, [](void* p) { std::free(p); });
    return storage;
  }
  const DeviceAllocator* alloc = device_allocator(device.type);
  SSM_USER_CHECK(alloc != nullptr, "device ", device.str(),
                 " is not available (this ssmlab has no CUDA support, or no GPU is visible)");
  void* ptr = alloc->allocate(nbytes);
  auto release = alloc->release;
  storage->data = std::shared_ptr<void>(ptr, [release](void* p) { release(p); });
  return storage;
}

std::shared_ptr<Storage> wrap_storage(void* ptr, size_t nbytes, Device device,
                                      std::shared_ptr<void> keep_alive) {
  auto storage = std::make_shared<Storage>();
  storage->nbytes = nbytes;
  storage->device = device;
  // Aliasing constructor: shares ownership of keep_alive but points at ptr.
  storage->data = std::shared_ptr<void>(std::move(keep_alive), ptr);
  return storage;
}

}  // namespace ssm
