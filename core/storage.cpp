// core/storage.cpp — CPU aligned allocation (with a cache of freed blocks) and the registry of
// device allocators.
#include "core/storage.h"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <map>
#include <mutex>
#include <vector>

#include "core/checked_size.h"  // defines: memory_limit_bytes
#include "core/error.h"

#if defined(__SANITIZE_ADDRESS__)
#define SSM_HOST_CACHE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SSM_HOST_CACHE 0
#endif
#endif
#ifndef SSM_HOST_CACHE
#define SSM_HOST_CACHE 1
#endif

namespace ssm {
namespace {

// Freed host blocks of 16 KiB and more, kept for the next allocation of their size class.
//
// A training step allocates and frees the same activations every step. Without a cache every
// large block comes from mmap as fresh pages: the kernel zeroes each page at its first touch (a
// page fault per 4 KiB), which cost several percent of a CPU training step. Sizes are rounded up
// to classes a quarter of a power of two apart (at most 25% slack), so a block freed by one step
// serves the same tensor in the next. The cache holds at most min(1 GiB, an eighth of the
// machine's memory); beyond that freed blocks go back to the system. Address sanitizer builds
// skip it, so a use after free is still caught.
class HostBlockCache {
 public:
  static constexpr size_t kMinBytes = 16 << 10;

  // The size class of `nbytes` (>= kMinBytes): 2^k · {1, 1.25, 1.5, 1.75}, the smallest that fits.
  static size_t size_class(size_t nbytes) {
    const size_t power = std::bit_floor(nbytes), quarter = power / 4;
    return (nbytes + quarter - 1) / quarter * quarter;
  }

  void* take(size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = free_.find(bytes);
    if (it == free_.end() || it->second.empty()) return nullptr;
    void* p = it->second.back();
    it->second.pop_back();
    cached_ -= bytes;
    return p;
  }

  // Frees every cached block (their memory goes back to the system).
  void clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [bytes, blocks] : free_) {
      for (void* p : blocks) std::free(p);
    }
    free_.clear();
    cached_ = 0;
  }

  // Keeps `p` (a block of `bytes`) for reuse, or frees it when the cache is full.
  void give(void* p, size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (cached_ + bytes <= capacity()) {
        free_[bytes].push_back(p);
        cached_ += bytes;
        return;
      }
    }
    std::free(p);
  }

 private:
  static size_t capacity() {
    static const size_t cap = static_cast<size_t>(std::min<int64_t>(int64_t{1} << 30, memory_limit_bytes() / 8));
    return cap;
  }

  std::mutex mutex_;
  std::map<size_t, std::vector<void*>> free_;
  size_t cached_ = 0;
};

HostBlockCache& host_cache() {
  static auto* cache = new HostBlockCache;  // never destroyed: tensors may be freed during exit
  return *cache;
}

std::shared_ptr<void> allocate_host(size_t nbytes) {
  // 64-byte alignment: one cache line, and enough for any SIMD load the compiler emits.
  const size_t rounded = std::max<size_t>((nbytes + 63) / 64 * 64, 64);
  if (SSM_HOST_CACHE && rounded >= HostBlockCache::kMinBytes) {
    const size_t bytes = HostBlockCache::size_class(rounded);
    void* ptr = host_cache().take(bytes);
    if (ptr == nullptr) ptr = std::aligned_alloc(64, bytes);
    SSM_CHECK(ptr != nullptr, "out of host memory allocating ", nbytes, " bytes");
    return std::shared_ptr<void>(ptr, [bytes](void* p) { host_cache().give(p, bytes); });
  }
  void* ptr = std::aligned_alloc(64, rounded);
  SSM_CHECK(ptr != nullptr, "out of host memory allocating ", nbytes, " bytes");
  return std::shared_ptr<void>(ptr, [](void* p) { std::free(p); });
}

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

void release_cached_host_memory() { host_cache().clear(); }

std::shared_ptr<Storage> allocate_storage(size_t nbytes, Device device) {
  auto storage = std::make_shared<Storage>();
  storage->nbytes = nbytes;
  storage->device = device;
  if (device.is_cpu()) {
    storage->data = allocate_host(nbytes);
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
