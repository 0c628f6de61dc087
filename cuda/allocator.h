// cuda/allocator.h — the caching device allocator: GPU memory for tensors without a cudaMalloc
// per op, and its statistics (current and peak bytes).
//
// Requests are rounded up to a size class (a multiple of 512 B up to 1 MiB, of 2 MiB above) and
// freed blocks go back to a free list per class instead of to the driver, so a training loop that
// allocates the same shapes every step reaches a steady state with no cudaMalloc at all. Reuse is
// safe without events because all work runs in order on one stream (cuda/stream.h). When
// cudaMalloc fails, the cached blocks are returned to the driver and the request retried once.
// Registered with core/storage.h by cuda::initialize(); tensors reach it through Tensor::empty.
// No CUDA headers here: host code (ssmlab bench, tests) reads the statistics.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ssm::cuda {

struct MemoryStats {
  size_t in_use_bytes = 0;       // held by live tensors (rounded sizes)
  size_t peak_in_use_bytes = 0;  // the maximum of in_use_bytes since start or reset_peak_memory()
  size_t cached_bytes = 0;       // free blocks kept for reuse
  size_t reserved_bytes = 0;     // in_use + cached: what the driver has given us
  int64_t device_mallocs = 0;    // cudaMalloc calls so far
  int64_t cache_hits = 0;        // requests served from a free list
};

void* device_allocate(size_t nbytes);  // never null; throws ssm::Error when the GPU is full
void device_release(void* ptr);        // never throws (called from tensor deleters)
size_t allocation_size_class(size_t nbytes);

MemoryStats memory_stats();
void reset_peak_memory();
// Returns every cached free block to the driver (waits for the stream first).
void empty_cache();

}  // namespace ssm::cuda
