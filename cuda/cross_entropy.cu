// cuda/cross_entropy.cu — cross-entropy over the vocabulary on the GPU, the twin of ops/cpu/layers.cpp's,
// in two versions side by side (ops/kernel_versions.h, docs/kernels.md):
//
//   loss_r = lse_r − logits[r, t_r],  lse_r = log Σ_v exp(logits[r, v])       (forward)
//   dlogits[r, v] = dloss_r · (exp(logits[r, v] − lse_r) − [v = t_r])        (backward)
//
// Neither version stores the softmax: the forward keeps one number per row (lse), the backward
// recomputes each probability from it. What differs is how often the logits are read — the
// (rows × vocabulary) matrix is by far the largest tensor of a small model's step (8192 × 50288
// f32 = 1.6 GB at mamba2-130m's batch), so every pass over it is a full sweep of memory:
//   version 1  forward: two passes per row (the maximum, then the sum of exponentials);
//              backward: one thread per logit, each dividing its index into (row, column) and
//              re-reading the row's target, lse and dloss.
//   version 2  forward: one pass, an online logsumexp: each thread keeps a running pair (m, s)
//              with s = Σ exp(x − m) over the logits it has read, rescaling s when a larger x
//              arrives; the pairs are merged across the warp and the block.
//              backward: one block per row, the row's target, lse and dloss read once.
// Both ignore rows whose target is ignore_index (loss 0, gradient 0). f32 and f64; sums in Acc<T>.
#include <cmath>

#include "cuda/cuda_backend.h"    // defines: CudaBackend
#include "cuda/kernel_util.cuh"   // defines: block_row_logsumexp, id_at, dispatch_floating
#include "ops/kernel_versions.h"  // defines: kernel_version, record_kernel_version_ran

namespace ssm::cuda {
namespace {

// Row r's results from its logsumexp l, in both versions: lse_r, and loss_r = l − logits[r, t_r]
// (0 where the target is ignore_index).
template <typename T>
__device__ inline void store_row_loss(Acc<T> l, const T* row, int64_t r, const void* targets, bool i64,
                                      int64_t ignore_index, T* losses, T* lse) {
  lse[r] = static_cast<T>(l);
  const int64_t t = id_at(targets, i64, r);
  losses[r] = t == ignore_index ? T(0) : static_cast<T>(l - row[t]);
}

// ---- version 1: two passes, one thread per logit in the backward -----------------------------------
template <typename T>
__global__ void cross_entropy_forward_kernel(const T* logits, const void* targets, bool i64, int64_t ignore_index,
                                             T* losses, T* lse, int64_t R, int64_t V) {
  for (int64_t r = blockIdx.x; r < R; r += gridDim.x) {
    const T* row = logits + r * V;
    const Acc<T> l = block_row_logsumexp(row, V);
    if (threadIdx.x == 0) store_row_loss(l, row, r, targets, i64, ignore_index, losses, lse);
  }
}

template <typename T>
__global__ void cross_entropy_backward_kernel(const T* logits, const void* targets, bool i64, const T* lse,
                                              const T* dlosses, int64_t ignore_index, T* dlogits, int64_t R,
                                              int64_t V) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < R * V;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = i / V, v = i % V;
    const int64_t t = id_at(targets, i64, r);
    const Acc<T> p = dexp(static_cast<Acc<T>>(logits[i]) - lse[r]);
    dlogits[i] = t == ignore_index ? T(0) : static_cast<T>(dlosses[r] * (p - (v == t ? Acc<T>(1) : Acc<T>(0))));
  }
}

// ---- version 2: an online logsumexp, one block per row in the backward ------------------------------

// A logsumexp in progress: the largest value seen and the sum of exp(value − max) over the values
// seen. Empty: max = −inf, sum = 0.
template <typename A>
struct RunningLse {
  A max;
  A sum;
};

// The pair for the union of two sets of values. Both empty (max −inf) stays empty: without the
// test, exp(−inf − (−inf)) would turn the empty sum into NaN.
template <typename A>
__device__ inline RunningLse<A> merge(RunningLse<A> a, RunningLse<A> b) {
  const A m = max(a.max, b.max);
  if (m == -INFINITY) return {m, A(0)};
  return {m, a.sum * dexp(a.max - m) + b.sum * dexp(b.max - m)};
}

// Adds one value: one exponential, as version 1's second pass spends per value, but no first pass.
template <typename A>
__device__ inline void add(RunningLse<A>& run, A x) {
  if (x > run.max) {
    run.sum = run.sum * dexp(run.max - x) + A(1);  // rescale what was summed to the new maximum
    run.max = x;
  } else {
    run.sum += dexp(x - run.max);
  }
}

// The merged pair of the whole block, in thread 0 (the others hold partial pairs). Warps merge by
// shuffles, then warp 0 merges the warps' pairs in warp order (deterministic).
template <typename A>
__device__ RunningLse<A> block_merge(RunningLse<A> run) {
  __shared__ A maxes[32], sums[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  for (int offset = 16; offset > 0; offset >>= 1) {
    const RunningLse<A> other{__shfl_down_sync(0xffffffffu, run.max, offset),
                              __shfl_down_sync(0xffffffffu, run.sum, offset)};
    run = merge(run, other);
  }
  __syncthreads();  // the previous row's merge may still be reading the arrays
  if (lane == 0) {
    maxes[warp] = run.max;
    sums[warp] = run.sum;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < warps; ++w) run = merge(run, RunningLse<A>{maxes[w], sums[w]});
  }
  return run;
}

template <typename T>
__global__ void cross_entropy_forward_online_kernel(const T* logits, const void* targets, bool i64,
                                                    int64_t ignore_index, T* losses, T* lse, int64_t R, int64_t V) {
  using A = Acc<T>;
  for (int64_t r = blockIdx.x; r < R; r += gridDim.x) {
    const T* row = logits + r * V;
    RunningLse<A> run{-INFINITY, A(0)};
    for (int64_t v = threadIdx.x; v < V; v += blockDim.x) add(run, static_cast<A>(row[v]));
    run = block_merge(run);
    if (threadIdx.x == 0) store_row_loss(run.max + dlog(run.sum), row, r, targets, i64, ignore_index, losses, lse);
  }
}

template <typename T>
__global__ void cross_entropy_backward_rows_kernel(const T* logits, const void* targets, bool i64, const T* lse,
                                                   const T* dlosses, int64_t ignore_index, T* dlogits, int64_t R,
                                                   int64_t V) {
  using A = Acc<T>;
  for (int64_t r = blockIdx.x; r < R; r += gridDim.x) {
    const T* row = logits + r * V;
    T* drow = dlogits + r * V;
    const int64_t t = id_at(targets, i64, r);
    if (t == ignore_index) {
      for (int64_t v = threadIdx.x; v < V; v += blockDim.x) drow[v] = T(0);
      continue;
    }
    const A l = lse[r], d = dlosses[r];
    for (int64_t v = threadIdx.x; v < V; v += blockDim.x) {
      drow[v] = static_cast<T>(d * (dexp(static_cast<A>(row[v]) - l) - (v == t ? A(1) : A(0))));
    }
  }
}

}  // namespace

void CudaBackend::cross_entropy_forward(const Tensor& logits, const Tensor& targets, int64_t ignore_index,
                                        const Tensor& losses, const Tensor& lse) {
  const int64_t R = logits.size(0), V = logits.size(1);
  if (R == 0) return;
  const bool i64 = targets.dtype() == Dtype::i64;
  const int version = ops::kernel_version("cross_entropy");
  dispatch_floating(logits.dtype(), "cross_entropy", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (version == 2) {
      SSM_CUDA_LAUNCH("cross_entropy", cross_entropy_forward_online_kernel<T>, grid_for_rows(R), kBlock, 0,
                      ptr<const T>(logits), targets.raw_data(), i64, ignore_index, ptr<T>(losses), ptr<T>(lse), R, V);
    } else {
      SSM_CUDA_LAUNCH("cross_entropy", cross_entropy_forward_kernel<T>, grid_for_rows(R), kBlock, 0,
                      ptr<const T>(logits), targets.raw_data(), i64, ignore_index, ptr<T>(losses), ptr<T>(lse), R, V);
    }
  });
  ops::record_kernel_version_ran("cross_entropy", version);
}

void CudaBackend::cross_entropy_backward(const Tensor& logits, const Tensor& targets, const Tensor& lse,
                                         const Tensor& dlosses, int64_t ignore_index, const Tensor& dlogits) {
  const int64_t R = logits.size(0), V = logits.size(1);
  if (R * V == 0) return;
  const bool i64 = targets.dtype() == Dtype::i64;
  const int version = ops::kernel_version("cross_entropy");
  dispatch_floating(logits.dtype(), "cross_entropy_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (version == 2) {
      SSM_CUDA_LAUNCH("cross_entropy_backward", cross_entropy_backward_rows_kernel<T>, grid_for_rows(R), kBlock, 0,
                      ptr<const T>(logits), targets.raw_data(), i64, ptr<const T>(lse), ptr<const T>(dlosses),
                      ignore_index, ptr<T>(dlogits), R, V);
    } else {
      SSM_CUDA_LAUNCH("cross_entropy_backward", cross_entropy_backward_kernel<T>, grid_for(R * V), kBlock, 0,
                      ptr<const T>(logits), targets.raw_data(), i64, ptr<const T>(lse), ptr<const T>(dlosses),
                      ignore_index, ptr<T>(dlogits), R, V);
    }
  });
  ops::record_kernel_version_ran("cross_entropy", version);
}

}  // namespace ssm::cuda
