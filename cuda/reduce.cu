// cuda/reduce.cu — sums over broadcast dims, max over one dim with its argmax, running sums: the
// GPU twin of ops/cpu/reduce.cpp. Sums accumulate in double, as on the CPU.
#include "cuda/cuda_backend.h"   // defines: CudaBackend
#include "cuda/kernel_util.cuh"  // defines: Num, StridedIndex, block_sum, dispatch_floating, scratch

namespace ssm::cuda {
namespace {

// ---- sum_to ----------------------------------------------------------------------------------------
// Output element o and reduced element r meet at x offset keep(o) + red(r). Work item p = (o, s)
// sums segment s of o's reduced elements with one block; when there is more than one segment the
// partial sums go to `partial` and sum_finish_kernel adds them in order.
template <typename T>
__global__ void sum_segments_kernel(const T* x, StridedIndex keep, StridedIndex red, int64_t n_out,
                                    int64_t n_red, int64_t segments, int64_t seg_len, T* out, double* partial) {
  for (int64_t p = blockIdx.x; p < n_out * segments; p += gridDim.x) {
    const int64_t o = p / segments, s = p % segments;
    const int64_t base = keep(o);
    const int64_t r0 = s * seg_len, r1 = min(n_red, r0 + seg_len);
    double acc = 0;
    for (int64_t r = r0 + threadIdx.x; r < r1; r += blockDim.x) acc += static_cast<double>(Num<T>::load(x[base + red(r)]));
    acc = block_sum(acc);
    if (threadIdx.x == 0) {
      if (segments == 1) {
        out[o] = Num<T>::store(static_cast<Acc<T>>(acc));
      } else {
        partial[p] = acc;
      }
    }
  }
}

template <typename T>
__global__ void sum_finish_kernel(const double* partial, int64_t n_out, int64_t segments, T* out) {
  for (int64_t o = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; o < n_out;
       o += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    double acc = 0;
    for (int64_t s = 0; s < segments; ++s) acc += partial[o * segments + s];
    out[o] = Num<T>::store(static_cast<Acc<T>>(acc));
  }
}

// ---- max over one dim, x viewed as (outer, n, inner) --------------------------------------------
template <typename T>
__global__ void max_dim_kernel(const T* x, int64_t outer, int64_t n, int64_t inner, T* values, int64_t* indices) {
  for (int64_t k = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; k < outer * inner;
       k += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t o = k / inner, i = k % inner;
    int64_t best = 0;
    for (int64_t j = 1; j < n; ++j) {
      if (x[(o * n + j) * inner + i] > x[(o * n + best) * inner + i]) best = j;
    }
    values[o * inner + i] = x[(o * n + best) * inner + i];
    indices[o * inner + i] = best;
  }
}

template <typename T>
__global__ void max_dim_backward_kernel(const T* dy, const int64_t* indices, int64_t outer, int64_t n,
                                        int64_t inner, T* dx) {
  for (int64_t k = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; k < outer * inner;
       k += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t o = k / inner, i = k % inner;
    dx[(o * n + indices[o * inner + i]) * inner + i] = dy[o * inner + i];
  }
}

// ---- running sums: one thread per (outer, inner) line, a double accumulator -------------------------
template <typename T>
__global__ void cumsum_kernel(const T* x, int64_t outer, int64_t n, int64_t inner, bool reverse, T* out) {
  for (int64_t k = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; k < outer * inner;
       k += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t o = k / inner, i = k % inner;
    double running = 0;
    for (int64_t step = 0; step < n; ++step) {
      const int64_t j = reverse ? n - 1 - step : step;
      running += x[(o * n + j) * inner + i];
      out[(o * n + j) * inner + i] = static_cast<T>(running);
    }
  }
}

void split_around(const Shape& shape, int64_t dim, int64_t& outer, int64_t& n, int64_t& inner) {
  outer = 1;
  inner = 1;
  for (int64_t i = 0; i < dim; ++i) outer *= shape[i];
  for (size_t i = dim + 1; i < shape.size(); ++i) inner *= shape[i];
  n = shape[dim];
}

}  // namespace

void CudaBackend::sum_to(const Tensor& x, const Tensor& out) {
  const int64_t n_out = out.numel();
  if (n_out == 0) return;
  // keep: out's shape over x's strides (reduced dims have size 1 there, so they add nothing);
  // red: the reduced dims alone.
  StridedIndex keep = strided_index(x, "sum_to"), red;
  keep.contiguous = false;
  red.contiguous = false;
  int64_t n_red = 1;
  for (int d = 0; d < keep.nd; ++d) {
    keep.sizes[d] = out.shape()[d];
    if (out.shape()[d] == 1 && x.shape()[d] != 1) {
      red.sizes[red.nd] = x.shape()[d];
      red.strides[red.nd] = x.strides()[d];
      ++red.nd;
      n_red *= x.shape()[d];
    }
  }
  // Split long reductions of few outputs into segments, so enough blocks run.
  int64_t segments = 1;
  if (n_out < 1024) {
    segments = std::max<int64_t>(1, std::min<int64_t>((n_red + 4095) / 4096, (2048 + n_out - 1) / n_out));
  }
  const int64_t seg_len = (n_red + segments - 1) / segments;
  const int threads = static_cast<int>(std::min<int64_t>(kBlock, std::max<int64_t>(32, (seg_len + 31) / 32 * 32)));
  dispatch_floating<true>(x.dtype(), "sum_to", [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor partial = segments > 1 ? scratch(n_out * segments, Dtype::f64) : Tensor();
    SSM_CUDA_LAUNCH("sum_to", sum_segments_kernel<T>, grid_for_rows(n_out * segments), threads, 0,
                    storage_base<const T>(x), keep, red, n_out, n_red, segments, seg_len, ptr<T>(out),
                    ptr_or_null<double>(partial));
    if (segments > 1) {
      SSM_CUDA_LAUNCH("sum_to", sum_finish_kernel<T>, grid_for(n_out), kBlock, 0, ptr<const double>(partial), n_out,
                      segments, ptr<T>(out));
    }
  });
}

void CudaBackend::max_dim(const Tensor& x, int64_t dim, const Tensor& values, const Tensor& indices) {
  int64_t outer, n, inner;
  split_around(x.shape(), dim, outer, n, inner);
  if (outer * inner == 0) return;
  dispatch_floating(x.dtype(), "max_dim", [&](auto tag) {
    using T = typename decltype(tag)::type;
    SSM_CUDA_LAUNCH("max_dim", max_dim_kernel<T>, grid_for(outer * inner), kBlock, 0, ptr<const T>(x), outer, n,
                    inner, ptr<T>(values), ptr<int64_t>(indices));
  });
}

void CudaBackend::max_dim_backward(const Tensor& dy, const Tensor& indices, int64_t dim, const Tensor& dx) {
  int64_t outer, n, inner;
  split_around(dx.shape(), dim, outer, n, inner);
  zero_fill(dx, "max_dim_backward");
  if (outer * inner == 0) return;
  dispatch_floating(dx.dtype(), "max_dim_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    SSM_CUDA_LAUNCH("max_dim_backward", max_dim_backward_kernel<T>, grid_for(outer * inner), kBlock, 0,
                    ptr<const T>(dy), ptr<const int64_t>(indices), outer, n, inner, ptr<T>(dx));
  });
}

void CudaBackend::cumsum(const Tensor& x, int64_t dim, bool reverse, const Tensor& out) {
  int64_t outer, n, inner;
  split_around(x.shape(), dim, outer, n, inner);
  if (outer * inner == 0) return;
  dispatch_floating(x.dtype(), "cumsum", [&](auto tag) {
    using T = typename decltype(tag)::type;
    SSM_CUDA_LAUNCH("cumsum", cumsum_kernel<T>, grid_for(outer * inner), kBlock, 0, ptr<const T>(x), outer, n, inner,
                    reverse, ptr<T>(out));
  });
}

}  // namespace ssm::cuda
