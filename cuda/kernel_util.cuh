// cuda/kernel_util.cuh — what every CUDA kernel file shares: launch sizes, the element types and
// their accumulators, block reductions, strided indexing, dtype dispatch, scratch buffers and a
// deterministic column-sum. Included by cuda/*.cu only.
//
// Conventions of the kernels (keep them; they are what a reader checks a kernel against):
//   * every kernel mirrors its CPU reference in ops/cpu/ or ops/scan/: same layouts, same index
//     formulas, same loop order inside one output element;
//   * grid-stride loops, so any problem size works with any grid (sizes are never assumed to be
//     multiples of the block size);
//   * accumulation in Acc<T>: float for f32 and bf16, double for f64 (recurrent states too);
//   * sums over many rows (weight gradients) go through column_sums: per-segment partials in
//     double, then a fixed-order sum, so results do not depend on scheduling (no atomics), except
//     embedding_backward, which uses atomicAdd (documented there).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "core/error.h"   // defines: Error, SSM_CHECK
#include "core/tensor.h"  // defines: Tensor
#include "cuda/check.h"   // defines: SSM_CUDA_CHECK, SSM_CUDA_LAUNCH, stream

namespace ssm::cuda {

using bf16 = __nv_bfloat16;

constexpr int kBlock = 256;         // threads per block of elementwise and row kernels
constexpr int64_t kMaxGrid = 65536;  // blocks; grid-stride loops cover the rest

// Blocks for n work items of `block` threads each (at least 1, at most kMaxGrid).
inline unsigned grid_for(int64_t n, int block = kBlock) {
  const int64_t blocks = (n + block - 1) / block;
  return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>(blocks, kMaxGrid)));
}
// Blocks for n independent rows handled by one block each.
inline unsigned grid_for_rows(int64_t rows) {
  return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>(rows, kMaxGrid)));
}

// The block's dynamic shared memory (the launch's `shared` bytes) as unsigned char name[].
#if defined(SSMLAB_CUDA_EMULATED)
#define SSM_DYNAMIC_SHARED(name) unsigned char* name = ::cuda_emulation::dynamic_shared()
#else
#define SSM_DYNAMIC_SHARED(name) extern __shared__ __align__(16) unsigned char name[]
#endif

// Unrolls the next loop on the device (the host emulator's compiler has no such pragma). Loops
// over arrays of wmma fragments need it: with a constant index the fragments stay in registers.
#if defined(SSMLAB_CUDA_EMULATED)
#define SSM_UNROLL
#else
#define SSM_UNROLL _Pragma("unroll")
#endif

// ---- element types ---------------------------------------------------------------------------
template <typename T> struct Num;  // Acc: the accumulation type; load/store convert through it
template <> struct Num<float> {
  using Acc = float;
  __device__ static float load(float v) { return v; }
  __device__ static float store(float v) { return v; }
};
template <> struct Num<double> {
  using Acc = double;
  __device__ static double load(double v) { return v; }
  __device__ static double store(double v) { return v; }
};
template <> struct Num<bf16> {
  using Acc = float;
  __device__ static float load(bf16 v) { return __bfloat162float(v); }
  __device__ static bf16 store(float v) { return __float2bfloat16(v); }  // round to nearest even
};
template <typename T> using Acc = typename Num<T>::Acc;

// Math in the accumulation type: the float overloads call the single-precision functions.
__device__ inline float dexp(float v) { return expf(v); }
__device__ inline double dexp(double v) { return exp(v); }
__device__ inline float dlog(float v) { return logf(v); }
__device__ inline double dlog(double v) { return log(v); }
__device__ inline float dsqrt(float v) { return sqrtf(v); }
__device__ inline double dsqrt(double v) { return sqrt(v); }

// ---- reductions (blockDim.x must be a multiple of 32 and at most 1024; every thread calls) -----
template <typename A>
__device__ inline A warp_sum(A v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
  return v;  // complete in lane 0
}
template <typename A>
__device__ inline A warp_max(A v) {
  for (int offset = 16; offset > 0; offset >>= 1) v = max(v, __shfl_down_sync(0xffffffffu, v, offset));
  return v;
}
// The sum over the block, returned to every thread. Warps are added in warp order (deterministic).
template <typename A>
__device__ inline A block_sum(A v) {
  __shared__ A partial[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  v = warp_sum(v);
  __syncthreads();  // an earlier call may still be reading `partial`
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  A total = partial[0];
  for (int w = 1; w < warps; ++w) total += partial[w];
  return total;
}
template <typename A>
__device__ inline A block_max(A v) {
  __shared__ A partial[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  A total = partial[0];
  for (int w = 1; w < warps; ++w) total = max(total, partial[w]);
  return total;
}

// log Σ_c exp(row[c]) shifted by the row maximum, in two passes over the row (the maximum, then
// the sum); every thread of the block gets it. Softmax and version 1 of cross-entropy use it.
template <typename T>
__device__ Acc<T> block_row_logsumexp(const T* row, int64_t C) {
  using A = Acc<T>;
  A mx = -INFINITY;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) mx = max(mx, static_cast<A>(row[c]));
  mx = block_max(mx);
  A sum = 0;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) sum += dexp(static_cast<A>(row[c]) - mx);
  sum = block_sum(sum);
  return mx + dlog(sum);
}

// Targets and ids are i32 or i64.
__device__ inline int64_t id_at(const void* ids, bool i64, int64_t i) {
  return i64 ? static_cast<const int64_t*>(ids)[i] : static_cast<const int32_t*>(ids)[i];
}

// ---- strided views -------------------------------------------------------------------------------
constexpr int kMaxDims = 8;

// Element offset of the i-th element (row-major order of `sizes`) of a strided view.
struct StridedIndex {
  int nd = 0;
  bool contiguous = true;  // then offset + i, with no division
  int64_t offset = 0;
  int64_t sizes[kMaxDims] = {};
  int64_t strides[kMaxDims] = {};

  __device__ int64_t operator()(int64_t i) const {
    if (contiguous) return offset + i;
    int64_t off = offset;
    for (int d = nd - 1; d >= 0; --d) {
      const int64_t idx = i % sizes[d];
      i /= sizes[d];
      off += idx * strides[d];
    }
    return off;
  }
};
// The view of `t` walked in the row-major order of its own shape (offsets from storage start).
StridedIndex strided_index(const Tensor& t, const char* op);

// ---- tensors and dispatch ------------------------------------------------------------------------
template <typename T>
T* ptr(const Tensor& t) { return static_cast<T*>(t.raw_data()); }
template <typename T>
T* ptr_or_null(const Tensor& t) { return t.defined() ? static_cast<T*>(t.raw_data()) : nullptr; }
// The first byte of t's storage (strided kernels add their own element offsets).
template <typename T>
T* storage_base(const Tensor& t) { return static_cast<T*>(t.impl()->storage->data.get()); }

template <typename T> struct Tag { using type = T; };

// Calls fn(Tag<float>{}) or fn(Tag<double>{}) according to dtype, and fn(Tag<bf16>{}) when
// AllowBf16 (only the kernels that support bf16 are instantiated for it).
template <bool AllowBf16 = false, typename Fn>
void dispatch_floating(Dtype dtype, const char* op, Fn&& fn) {
  if (dtype == Dtype::f32) {
    fn(Tag<float>{});
    return;
  }
  if (dtype == Dtype::f64) {
    fn(Tag<double>{});
    return;
  }
  if constexpr (AllowBf16) {
    if (dtype == Dtype::bf16) {
      fn(Tag<bf16>{});
      return;
    }
  }
  throw Error(absl::StrCat(op, ": the CUDA kernels support f32", AllowBf16 ? ", bf16" : "", " and f64, got ",
                           dtype_name(dtype)));
}

// Kernels whose dynamic shared memory grows with a problem size (scan chunk length) ask for
// more than the default 48 KiB when they need it (H100: up to 227 KiB per block).
template <typename Kernel>
void allow_dynamic_shared(Kernel* kernel, size_t bytes, const char* op) {
  if (bytes <= 48 * 1024) return;
  SSM_CUDA_CHECK(op, cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
}

// A scratch device buffer of n elements (from the caching allocator; freed with the Tensor).
inline Tensor scratch(int64_t n, Dtype dtype) { return Tensor::empty({std::max<int64_t>(n, 1)}, dtype, Device::cuda()); }
void zero_fill(const Tensor& t, const char* op);                        // whole tensor
void zero_bytes(void* ptr, size_t nbytes, const char* op);               // raw range

// ---- deterministic column sums -------------------------------------------------------------------
// out[j] = Σ_{r < rows} f(r, j) for j < cols, where f is a device functor `Acc operator()(int64_t r,
// int64_t j) const`. Rows are cut into segments; each (segment, column) sum is taken in double in
// row order, then the segments are added in order: the same bits on every run.
template <typename F>
__global__ void column_partials_kernel(F f, int64_t rows, int64_t cols, int64_t seg_rows, double* partial) {
  const int64_t s = blockIdx.y;
  const int64_t r0 = s * seg_rows, r1 = min(rows, r0 + seg_rows);
  for (int64_t j = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; j < cols;
       j += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    double acc = 0;
    for (int64_t r = r0; r < r1; ++r) acc += static_cast<double>(f(r, j));
    partial[s * cols + j] = acc;
  }
}
template <typename T>
__global__ void column_finish_kernel(const double* partial, int64_t segments, int64_t cols, T* out) {
  for (int64_t j = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; j < cols;
       j += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    double acc = 0;
    for (int64_t s = 0; s < segments; ++s) acc += partial[s * cols + j];
    out[j] = Num<T>::store(static_cast<Acc<T>>(acc));
  }
}
template <typename T, typename F>
void column_sums(const char* op, F f, int64_t rows, int64_t cols, T* out) {
  if (cols == 0) return;
  const int64_t seg_rows = std::max<int64_t>(32, (rows + 511) / 512);  // at most 512 segments
  const int64_t segments = std::max<int64_t>(1, (rows + seg_rows - 1) / seg_rows);
  Tensor partial = scratch(segments * cols, Dtype::f64);
  const dim3 grid(static_cast<unsigned>(std::min<int64_t>((cols + kBlock - 1) / kBlock, kMaxGrid)),
                  static_cast<unsigned>(segments));
  SSM_CUDA_LAUNCH(op, column_partials_kernel<F>, grid, kBlock, 0, f, rows, cols, seg_rows, ptr<double>(partial));
  SSM_CUDA_LAUNCH(op, column_finish_kernel<T>, grid_for(cols), kBlock, 0, ptr<double>(partial), segments, cols,
                  out);
}

}  // namespace ssm::cuda
