// cuda/norms.cu — RMSNorm, Mamba-2's gated RMSNorm and LayerNorm on the GPU: the twin of
// ops/cpu/norms.cpp. Forward and the input gradient: one block per row (or per (row,
// group)) with block reductions, the same formulas as the CPU. Weight and bias gradients are
// column sums over the rows (column_sums: deterministic, no atomics). f32 and f64.
#include "cuda/cuda_backend.h"   // defines: CudaBackend
#include "cuda/kernel_util.cuh"  // defines: block_sum, column_sums, dispatch_floating

namespace ssm::cuda {
namespace {

int64_t last_dim(const Tensor& t) { return t.dim() == 0 ? 1 : t.size(-1); }
int64_t rows_of(const Tensor& t) { return t.numel() / std::max<int64_t>(last_dim(t), 1); }

template <typename A>
__device__ inline A sigmoid(A v) { return A(1) / (A(1) + dexp(-v)); }

// ---- RMSNorm: y = x·r·w, r = (mean x² + eps)^-1/2 ---------------------------------------------------
template <typename T>
__global__ void rms_norm_forward_kernel(const T* x, const T* w, double eps, T* y, T* rstd, int64_t R, int64_t C) {
  using A = Acc<T>;
  for (int64_t r = blockIdx.x; r < R; r += gridDim.x) {
    A ms = 0;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) ms += static_cast<A>(x[r * C + c]) * x[r * C + c];
    ms = block_sum(ms);
    const A inv = A(1) / dsqrt(ms / C + static_cast<A>(eps));
    if (threadIdx.x == 0) rstd[r] = static_cast<T>(inv);
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) y[r * C + c] = static_cast<T>(x[r * C + c] * inv * w[c]);
  }
}

// dx = r·(w⊙dy) - (r³/C)·x·Σ(w⊙dy⊙x)
template <typename T>
__global__ void rms_norm_backward_kernel(const T* x, const T* w, const T* rstd, const T* dy, T* dx, int64_t R,
                                         int64_t C) {
  using A = Acc<T>;
  for (int64_t r = blockIdx.x; r < R; r += gridDim.x) {
    const A inv = rstd[r];
    A dot = 0;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) dot += static_cast<A>(w[c]) * dy[r * C + c] * x[r * C + c];
    dot = block_sum(dot);
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
      const int64_t i = r * C + c;
      dx[i] = static_cast<T>(inv * w[c] * dy[i] - inv * inv * inv / C * x[i] * dot);
    }
  }
}

// dw = Σ_rows dy⊙x·r
template <typename T>
struct RmsWeightGrad {
  const T *x, *dy, *rstd;
  int64_t C;
  __device__ Acc<T> operator()(int64_t r, int64_t c) const {
    return static_cast<Acc<T>>(dy[r * C + c]) * x[r * C + c] * rstd[r];
  }
};

// ---- gated RMSNorm (Mamba-2): y = RMSNorm(x ⊙ silu(z)) per group of `group` channels -----------
// One block per (row r, group k).
template <typename T>
__global__ void gated_rms_norm_forward_kernel(const T* x, const T* z, const T* w, double eps, int64_t group, T* y,
                                              T* rstd, int64_t R, int64_t C) {
  using A = Acc<T>;
  const int64_t NG = C / group;
  for (int64_t rk = blockIdx.x; rk < R * NG; rk += gridDim.x) {
    const int64_t r = rk / NG, k = rk % NG;
    A ms = 0;
    for (int64_t c = k * group + threadIdx.x; c < (k + 1) * group; c += blockDim.x) {
      const A zc = z[r * C + c];
      const A g = x[r * C + c] * zc * sigmoid(zc);
      ms += g * g;
    }
    ms = block_sum(ms);
    const A inv = A(1) / dsqrt(ms / group + static_cast<A>(eps));
    if (threadIdx.x == 0) rstd[r * NG + k] = static_cast<T>(inv);
    for (int64_t c = k * group + threadIdx.x; c < (k + 1) * group; c += blockDim.x) {
      const A zc = z[r * C + c];
      const A g = x[r * C + c] * zc * sigmoid(zc);
      y[r * C + c] = static_cast<T>(g * inv * w[c]);
    }
  }
}

// With u = x⊙silu(z): du as in RMSNorm per group; dx = du⊙silu(z), dz = du⊙x⊙silu'(z).
template <typename T>
__global__ void gated_rms_norm_backward_kernel(const T* x, const T* z, const T* w, const T* rstd, int64_t group,
                                               const T* dy, T* dx, T* dz, int64_t R, int64_t C) {
  using A = Acc<T>;
  const int64_t NG = C / group;
  for (int64_t rk = blockIdx.x; rk < R * NG; rk += gridDim.x) {
    const int64_t r = rk / NG, k = rk % NG;
    const A inv = rstd[r * NG + k];
    A dot = 0;
    for (int64_t c = k * group + threadIdx.x; c < (k + 1) * group; c += blockDim.x) {
      const int64_t i = r * C + c;
      const A zi = z[i];
      dot += static_cast<A>(w[c]) * dy[i] * (x[i] * zi * sigmoid(zi));
    }
    dot = block_sum(dot);
    for (int64_t c = k * group + threadIdx.x; c < (k + 1) * group; c += blockDim.x) {
      const int64_t i = r * C + c;
      const A zi = z[i], sg = sigmoid(zi), silu = zi * sg;
      const A u = x[i] * silu;
      const A du = inv * w[c] * dy[i] - inv * inv * inv / group * u * dot;
      dx[i] = static_cast<T>(du * silu);
      dz[i] = static_cast<T>(du * x[i] * sg * (A(1) + zi * (A(1) - sg)));
    }
  }
}

// dw = Σ_rows dy⊙u·r, r of the channel's group.
template <typename T>
struct GatedWeightGrad {
  const T *x, *z, *dy, *rstd;
  int64_t C, group;
  __device__ Acc<T> operator()(int64_t r, int64_t c) const {
    using A = Acc<T>;
    const int64_t i = r * C + c;
    const A zi = z[i];
    const A u = x[i] * zi * sigmoid(zi);
    return static_cast<A>(dy[i]) * u * rstd[r * (C / group) + c / group];
  }
};

// ---- LayerNorm: y = (x-μ)·r·w + b ----------------------------------------------------------------------
template <typename T>
__global__ void layer_norm_forward_kernel(const T* x, const T* w, const T* b, double eps, T* y, T* mean, T* rstd,
                                          int64_t R, int64_t C) {
  using A = Acc<T>;
  for (int64_t r = blockIdx.x; r < R; r += gridDim.x) {
    A mu = 0;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) mu += x[r * C + c];
    mu = block_sum(mu) / C;
    A var = 0;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) var += (x[r * C + c] - mu) * (x[r * C + c] - mu);
    var = block_sum(var);
    const A inv = A(1) / dsqrt(var / C + static_cast<A>(eps));
    if (threadIdx.x == 0) {
      mean[r] = static_cast<T>(mu);
      rstd[r] = static_cast<T>(inv);
    }
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
      y[r * C + c] = static_cast<T>((x[r * C + c] - mu) * inv * w[c] + b[c]);
    }
  }
}

// x̂ = (x-μ)r, g = w⊙dy:  dx = r·(g - mean(g) - x̂·mean(g⊙x̂))
template <typename T>
__global__ void layer_norm_backward_kernel(const T* x, const T* w, const T* mean, const T* rstd, const T* dy, T* dx,
                                           int64_t R, int64_t C) {
  using A = Acc<T>;
  for (int64_t r = blockIdx.x; r < R; r += gridDim.x) {
    const A mu = mean[r], inv = rstd[r];
    A mg = 0, mgx = 0;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
      const int64_t i = r * C + c;
      const A xh = (x[i] - mu) * inv;
      const A g = static_cast<A>(w[c]) * dy[i];
      mg += g;
      mgx += g * xh;
    }
    mg = block_sum(mg) / C;
    mgx = block_sum(mgx) / C;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
      const int64_t i = r * C + c;
      const A xh = (x[i] - mu) * inv;
      dx[i] = static_cast<T>(inv * (w[c] * dy[i] - mg - xh * mgx));
    }
  }
}

// dw = Σ dy⊙x̂;  db = Σ dy
template <typename T>
struct LayerNormWeightGrad {
  const T *x, *mean, *rstd, *dy;
  int64_t C;
  __device__ Acc<T> operator()(int64_t r, int64_t c) const {
    using A = Acc<T>;
    const A xh = (x[r * C + c] - static_cast<A>(mean[r])) * rstd[r];
    return static_cast<A>(dy[r * C + c]) * xh;
  }
};
template <typename T>
struct LayerNormBiasGrad {
  const T* dy;
  int64_t C;
  __device__ Acc<T> operator()(int64_t r, int64_t c) const { return dy[r * C + c]; }
};

}  // namespace

void CudaBackend::rms_norm_forward(const Tensor& x, const Tensor& w, double eps, const Tensor& y, const Tensor& rstd) {
  const int64_t R = rows_of(x), C = last_dim(x);
  if (R == 0) return;
  dispatch_floating(x.dtype(), "rms_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    SSM_CUDA_LAUNCH("rms_norm", rms_norm_forward_kernel<T>, grid_for_rows(R), kBlock, 0, ptr<const T>(x),
                    ptr<const T>(w), eps, ptr<T>(y), ptr<T>(rstd), R, C);
  });
}

void CudaBackend::rms_norm_backward(const Tensor& x, const Tensor& w, const Tensor& rstd, const Tensor& dy,
                                    const Tensor& dx, const Tensor& dw) {
  const int64_t R = rows_of(x), C = last_dim(x);
  dispatch_floating(x.dtype(), "rms_norm_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (R > 0) {
      SSM_CUDA_LAUNCH("rms_norm_backward", rms_norm_backward_kernel<T>, grid_for_rows(R), kBlock, 0, ptr<const T>(x),
                      ptr<const T>(w), ptr<const T>(rstd), ptr<const T>(dy), ptr<T>(dx), R, C);
    }
    column_sums("rms_norm_backward", RmsWeightGrad<T>{ptr<const T>(x), ptr<const T>(dy), ptr<const T>(rstd), C}, R,
                C, ptr<T>(dw));
  });
}

void CudaBackend::gated_rms_norm_forward(const Tensor& x, const Tensor& z, const Tensor& w, double eps,
                                         int64_t group, const Tensor& y, const Tensor& rstd) {
  const int64_t R = rows_of(x), C = last_dim(x);
  if (R == 0) return;
  dispatch_floating(x.dtype(), "gated_rms_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    SSM_CUDA_LAUNCH("gated_rms_norm", gated_rms_norm_forward_kernel<T>, grid_for_rows(R * (C / group)), kBlock, 0,
                    ptr<const T>(x), ptr<const T>(z), ptr<const T>(w), eps, group, ptr<T>(y), ptr<T>(rstd), R, C);
  });
}

void CudaBackend::gated_rms_norm_backward(const Tensor& x, const Tensor& z, const Tensor& w, const Tensor& rstd,
                                          int64_t group, const Tensor& dy, const Tensor& dx, const Tensor& dz,
                                          const Tensor& dw) {
  const int64_t R = rows_of(x), C = last_dim(x);
  dispatch_floating(x.dtype(), "gated_rms_norm_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (R > 0) {
      SSM_CUDA_LAUNCH("gated_rms_norm_backward", gated_rms_norm_backward_kernel<T>, grid_for_rows(R * (C / group)),
                      kBlock, 0, ptr<const T>(x), ptr<const T>(z), ptr<const T>(w), ptr<const T>(rstd), group,
                      ptr<const T>(dy), ptr<T>(dx), ptr<T>(dz), R, C);
    }
    column_sums("gated_rms_norm_backward",
                GatedWeightGrad<T>{ptr<const T>(x), ptr<const T>(z), ptr<const T>(dy), ptr<const T>(rstd), C, group},
                R, C, ptr<T>(dw));
  });
}

void CudaBackend::layer_norm_forward(const Tensor& x, const Tensor& w, const Tensor& b, double eps, const Tensor& y,
                                     const Tensor& mean, const Tensor& rstd) {
  const int64_t R = rows_of(x), C = last_dim(x);
  if (R == 0) return;
  dispatch_floating(x.dtype(), "layer_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    SSM_CUDA_LAUNCH("layer_norm", layer_norm_forward_kernel<T>, grid_for_rows(R), kBlock, 0, ptr<const T>(x),
                    ptr<const T>(w), ptr<const T>(b), eps, ptr<T>(y), ptr<T>(mean), ptr<T>(rstd), R, C);
  });
}

void CudaBackend::layer_norm_backward(const Tensor& x, const Tensor& w, const Tensor& mean, const Tensor& rstd,
                                      const Tensor& dy, const Tensor& dx, const Tensor& dw, const Tensor& db) {
  const int64_t R = rows_of(x), C = last_dim(x);
  dispatch_floating(x.dtype(), "layer_norm_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (R > 0) {
      SSM_CUDA_LAUNCH("layer_norm_backward", layer_norm_backward_kernel<T>, grid_for_rows(R), kBlock, 0,
                      ptr<const T>(x), ptr<const T>(w), ptr<const T>(mean), ptr<const T>(rstd), ptr<const T>(dy),
                      ptr<T>(dx), R, C);
    }
    column_sums("layer_norm_backward",
                LayerNormWeightGrad<T>{ptr<const T>(x), ptr<const T>(mean), ptr<const T>(rstd), ptr<const T>(dy), C}, R,
                C, ptr<T>(dw));
    column_sums("layer_norm_backward", LayerNormBiasGrad<T>{ptr<const T>(dy), C}, R, C, ptr<T>(db));
  });
}

}  // namespace ssm::cuda
