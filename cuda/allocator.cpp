// cuda/allocator.cpp — the caching device allocator (cuda/allocator.h).
#include "cuda/allocator.h"

#include <cuda_runtime.h>

#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/error.h"  // defines: Error
#include "cuda/check.h"  // defines: SSM_CUDA_CHECK, stream

namespace ssm::cuda {
namespace {

constexpr size_t kSmallGranule = 512;
constexpr size_t kSmallLimit = size_t{1} << 20;  // 1 MiB
constexpr size_t kLargeGranule = size_t{2} << 20;  // 2 MiB

size_t round_up(size_t n, size_t granule) { return (n + granule - 1) / granule * granule; }

class CachingAllocator {
 public:
  void* allocate(size_t nbytes) {
    const size_t size = allocation_size_class(nbytes);
    std::lock_guard<std::mutex> lock(mutex_);
    void* ptr = nullptr;
    auto it = free_.find(size);
    if (it != free_.end() && !it->second.empty()) {
      ptr = it->second.back();
      it->second.pop_back();
      stats_.cached_bytes -= size;
      ++stats_.cache_hits;
    } else {
      ptr = malloc_or_retry(size, nbytes);
      stats_.reserved_bytes += size;
      ++stats_.device_mallocs;
    }
    live_[ptr] = size;
    stats_.in_use_bytes += size;
    if (stats_.in_use_bytes > stats_.peak_in_use_bytes) stats_.peak_in_use_bytes = stats_.in_use_bytes;
    return ptr;
  }

  void release(void* ptr) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = live_.find(ptr);
    if (it == live_.end()) return;  // not ours: nothing sensible to do in a deleter
    const size_t size = it->second;
    live_.erase(it);
    free_[size].push_back(ptr);
    stats_.in_use_bytes -= size;
    stats_.cached_bytes += size;
  }

  MemoryStats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

  void reset_peak() {
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.peak_in_use_bytes = stats_.in_use_bytes;
  }

  void empty_cache() {
    std::lock_guard<std::mutex> lock(mutex_);
    release_cached_locked();
  }

 private:
  // cudaMalloc; on failure return the cache to the driver and try once more.
  void* malloc_or_retry(size_t size, size_t requested) {
    void* ptr = nullptr;
    cudaError_t status = cudaMalloc(&ptr, size);
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();  // clear the error before retrying
      release_cached_locked();
      status = cudaMalloc(&ptr, size);
    }
    if (status != cudaSuccess) {
      cudaGetLastError();
      throw Error(absl::StrCat("CUDA error in the caching allocator: cudaMalloc of ", size, " bytes (for ",
                               requested, " requested) failed: ", cudaGetErrorString(status), "; ",
                               stats_.in_use_bytes, " bytes in use by tensors"));
    }
    return ptr;
  }

  void release_cached_locked() {
    // Freed blocks may still be read by queued kernels: wait for the stream before giving them back.
    SSM_CUDA_CHECK("caching allocator", cudaStreamSynchronize(stream()));
    for (auto& [size, blocks] : free_) {
      for (void* p : blocks) {
        cudaFree(p);
        stats_.reserved_bytes -= size;
        stats_.cached_bytes -= size;
      }
      blocks.clear();
    }
  }

  std::mutex mutex_;
  std::unordered_map<size_t, std::vector<void*>> free_;  // size class -> free blocks
  std::unordered_map<void*, size_t> live_;                // block -> size class
  MemoryStats stats_;
};

// Never destroyed: tensors released during static destruction still find it, and the driver
// reclaims the memory at exit.
CachingAllocator& allocator() {
  static CachingAllocator* instance = new CachingAllocator();
  return *instance;
}

}  // namespace

size_t allocation_size_class(size_t nbytes) {
  if (nbytes == 0) return kSmallGranule;
  return nbytes <= kSmallLimit ? round_up(nbytes, kSmallGranule) : round_up(nbytes, kLargeGranule);
}

void* device_allocate(size_t nbytes) { return allocator().allocate(nbytes); }
void device_release(void* ptr) { allocator().release(ptr); }
MemoryStats memory_stats() { return allocator().stats(); }
void reset_peak_memory() { allocator().reset_peak(); }
void empty_cache() { allocator().empty_cache(); }

}  // namespace ssm::cuda
