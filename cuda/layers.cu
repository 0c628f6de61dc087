// cuda/layers.cu — softmax, embedding and the causal depthwise conv on the GPU: the twin of
// ops/cpu/layers.cpp (cross-entropy, in two versions, is in cuda/cross_entropy.cu; the norms are in
// cuda/norms.cu, the twin of ops/cpu/norms.cpp).
// Row kernels run one block per row (grid-stride over rows) with block reductions; elementwise
// parts run one thread per element. f32 and f64; statistics in the accumulation type.
#include <cmath>

#include "cuda/cuda_backend.h"   // defines: CudaBackend
#include "cuda/kernel_util.cuh"  // defines: block_row_logsumexp, id_at, column_sums, dispatch_floating
#include "ops/unary_math.h"      // defines: unary_value, unary_derivative (SiLU fused into the conv)

namespace ssm::cuda {
namespace {

int64_t last_dim(const Tensor& t) { return t.dim() == 0 ? 1 : t.size(-1); }
int64_t rows_of(const Tensor& t) { return t.numel() / std::max<int64_t>(last_dim(t), 1); }

// ---- softmax ---------------------------------------------------------------------------------------
template <typename T>
__global__ void softmax_forward_kernel(const T* x, T* y, int64_t R, int64_t C, bool log) {
  for (int64_t r = blockIdx.x; r < R; r += gridDim.x) {
    const T* row = x + r * C;
    const Acc<T> lse = block_row_logsumexp(row, C);
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
      y[r * C + c] = static_cast<T>(log ? row[c] - lse : dexp(row[c] - lse));
    }
  }
}

// softmax: dx = y ⊙ (dy - <dy, y>);  log_softmax: dx = dy - softmax(x)·Σ dy
template <typename T>
__global__ void softmax_backward_kernel(const T* y, const T* dy, T* dx, int64_t R, int64_t C, bool log) {
  for (int64_t r = blockIdx.x; r < R; r += gridDim.x) {
    Acc<T> dot = 0;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) dot += log ? dy[r * C + c] : dy[r * C + c] * y[r * C + c];
    dot = block_sum(dot);
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
      const int64_t i = r * C + c;
      dx[i] = static_cast<T>(log ? dy[i] - dexp(static_cast<Acc<T>>(y[i])) * dot : y[i] * (dy[i] - dot));
    }
  }
}

// ---- embedding ---------------------------------------------------------------------------------------
template <typename T>
__global__ void embedding_forward_kernel(const T* weight, const void* ids, bool i64, T* out, int64_t N, int64_t D) {
  for (int64_t k = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; k < N * D;
       k += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t i = k / D, d = k % D;
    out[k] = weight[id_at(ids, i64, i) * D + d];
  }
}

// Repeated ids add into the same row: atomicAdd, so the order of the additions (and the last bits
// of dweight) may vary from run to run. Every other GPU gradient is deterministic.
template <typename T>
__global__ void embedding_backward_kernel(const void* ids, bool i64, const T* dout, T* dweight, int64_t N, int64_t D) {
  for (int64_t k = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; k < N * D;
       k += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t i = k / D, d = k % D;
    atomicAdd(dweight + id_at(ids, i64, i) * D + d, dout[k]);
  }
}

// ---- causal depthwise conv: y_t[c] = bias[c] + Σ_k w[c,k]·xpad[t+k][c], xpad = [state; x] -------
// xpad[b][u][c] for u in [0, S+T): the state for u < S (zeros when absent), x after.
template <typename T>
struct ConvInput {
  const T* x;
  const T* state;  // may be null
  int64_t T_, C, S;
  __device__ T xpad(int64_t b, int64_t u, int64_t c) const {
    if (u < S) return state ? state[(b * S + u) * C + c] : T(0);
    return x[(b * T_ + u - S) * C + c];
  }
};

// The conv before its activation, z[b][t][c] = bias[c] + Σ_k w[c,k]·xpad[b][t+k][c].
template <typename T>
__device__ inline Acc<T> conv_pre_activation(const ConvInput<T>& in, const T* w, const T* bias, int64_t W, int64_t b,
                                             int64_t t, int64_t c) {
  Acc<T> acc = bias ? static_cast<Acc<T>>(bias[c]) : Acc<T>(0);
  for (int64_t kk = 0; kk < W; ++kk) acc += static_cast<Acc<T>>(w[c * W + kk]) * in.xpad(b, t + kk, c);
  return acc;
}

// The gradient reaching the conv itself at (b, t, c): dy, or dy·silu'(z) with z recomputed (the
// fused activation keeps no copy of z; W multiply-adds and an exponential per call).
template <typename T>
struct ConvOutputGrad {
  ConvInput<T> in;
  const T* w;
  const T* bias;  // may be null
  const T* dy;
  int64_t W;
  ConvActivation act;
  __device__ Acc<T> operator()(int64_t b, int64_t t, int64_t c) const {
    const Acc<T> g = dy[(b * in.T_ + t) * in.C + c];
    if (act == ConvActivation::none) return g;
    const Acc<T> z = conv_pre_activation(in, w, bias, W, b, t, c);
    return g * unary_math::unary_derivative(UnaryOp::silu, z, Acc<T>(0), Acc<T>(0));
  }
};

template <typename T>
__global__ void conv1d_forward_kernel(ConvInput<T> in, const T* w, const T* bias, int64_t B, int64_t W,
                                      ConvActivation act, T* y) {
  const int64_t T_ = in.T_, C = in.C;
  for (int64_t k = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; k < B * T_ * C;
       k += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t c = k % C, t = (k / C) % T_, b = k / (T_ * C);
    const Acc<T> z = conv_pre_activation(in, w, bias, W, b, t, c);
    y[k] = static_cast<T>(act == ConvActivation::silu ? unary_math::unary_value(UnaryOp::silu, z, Acc<T>(0)) : z);
  }
}

// The new state: the last S entries of xpad.
template <typename T>
__global__ void conv1d_state_kernel(ConvInput<T> in, int64_t B, T* state_out) {
  const int64_t S = in.S, C = in.C;
  for (int64_t k = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; k < B * S * C;
       k += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t c = k % C, u = (k / C) % S, b = k / (S * C);
    state_out[k] = in.xpad(b, in.T_ + u, c);
  }
}

// dxpad[b][u][c] = Σ_{k: 0 ≤ u-k < T} dy[b][u-k][c]·w[c,k] + (u ≥ T ? dstate_out[b][u-T][c] : 0),
// gathered per xpad entry (no atomics), then split into dstate_in (u < S) and dx (u ≥ S).
template <typename T>
__global__ void conv1d_backward_input_kernel(ConvOutputGrad<T> dz, const T* w, const T* dstate_out, int64_t B,
                                             int64_t T_, int64_t C, int64_t W, T* dx, T* dstate_in) {
  const int64_t S = W - 1, U = S + T_;
  for (int64_t k = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; k < B * U * C;
       k += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t c = k % C, u = (k / C) % U, b = k / (U * C);
    Acc<T> acc = 0;
    for (int64_t kk = 0; kk < W; ++kk) {
      const int64_t t = u - kk;
      if (t >= 0 && t < T_) acc += dz(b, t, c) * w[c * W + kk];
    }
    if (dstate_out && u >= T_) acc += dstate_out[(b * S + (u - T_)) * C + c];
    if (u >= S) {
      dx[(b * T_ + u - S) * C + c] = static_cast<T>(acc);
    } else if (dstate_in) {
      dstate_in[(b * S + u) * C + c] = static_cast<T>(acc);
    }
  }
}

// dw[c, k] = Σ_{b,t} dy[b,t,c]·xpad[b][t+k][c]: row r = b·T + t, column j = c·W + k.
template <typename T>
struct ConvWeightGrad {
  ConvOutputGrad<T> dz;
  __device__ Acc<T> operator()(int64_t r, int64_t j) const {
    const int64_t c = j / dz.W, kk = j % dz.W, b = r / dz.in.T_, t = r % dz.in.T_;
    return dz(b, t, c) * dz.in.xpad(b, t + kk, c);
  }
};
// dbias[c] = Σ_{b,t} dz[b,t,c].
template <typename T>
struct ConvBiasGrad {
  ConvOutputGrad<T> dz;
  __device__ Acc<T> operator()(int64_t r, int64_t c) const { return dz(r / dz.in.T_, r % dz.in.T_, c); }
};

}  // namespace

void CudaBackend::softmax_forward(const Tensor& x, const Tensor& y, bool log) {
  const int64_t R = rows_of(x), C = last_dim(x);
  if (R == 0 || C == 0) return;
  dispatch_floating(x.dtype(), "softmax", [&](auto tag) {
    using T = typename decltype(tag)::type;
    SSM_CUDA_LAUNCH("softmax", softmax_forward_kernel<T>, grid_for_rows(R), kBlock, 0, ptr<const T>(x), ptr<T>(y), R,
                    C, log);
  });
}

void CudaBackend::softmax_backward(const Tensor& y, const Tensor& dy, const Tensor& dx, bool log) {
  const int64_t R = rows_of(y), C = last_dim(y);
  if (R == 0 || C == 0) return;
  dispatch_floating(y.dtype(), "softmax_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    SSM_CUDA_LAUNCH("softmax_backward", softmax_backward_kernel<T>, grid_for_rows(R), kBlock, 0, ptr<const T>(y),
                    ptr<const T>(dy), ptr<T>(dx), R, C, log);
  });
}

void CudaBackend::embedding_forward(const Tensor& weight, const Tensor& ids, const Tensor& out) {
  const int64_t N = ids.numel(), D = weight.size(1);
  if (N * D == 0) return;
  const bool i64 = ids.dtype() == Dtype::i64;
  dispatch_floating(weight.dtype(), "embedding", [&](auto tag) {
    using T = typename decltype(tag)::type;
    SSM_CUDA_LAUNCH("embedding", embedding_forward_kernel<T>, grid_for(N * D), kBlock, 0, ptr<const T>(weight),
                    ids.raw_data(), i64, ptr<T>(out), N, D);
  });
}

void CudaBackend::embedding_backward(const Tensor& ids, const Tensor& dout, const Tensor& dweight) {
  const int64_t N = ids.numel(), D = dweight.size(1);
  zero_fill(dweight, "embedding_backward");
  if (N * D == 0) return;
  const bool i64 = ids.dtype() == Dtype::i64;
  dispatch_floating(dweight.dtype(), "embedding_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    SSM_CUDA_LAUNCH("embedding_backward", embedding_backward_kernel<T>, grid_for(N * D), kBlock, 0, ids.raw_data(),
                    i64, ptr<const T>(dout), ptr<T>(dweight), N, D);
  });
}

void CudaBackend::conv1d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& state_in,
                                 ConvActivation act, const Tensor& y, const Tensor& state_out) {
  const int64_t B = x.size(0), T_ = x.size(1), C = x.size(2), W = w.size(1), S = W - 1;
  dispatch_floating(x.dtype(), "causal_conv1d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const ConvInput<T> in{ptr<const T>(x), ptr_or_null<const T>(state_in), T_, C, S};
    if (B * T_ * C > 0) {
      SSM_CUDA_LAUNCH("causal_conv1d", conv1d_forward_kernel<T>, grid_for(B * T_ * C), kBlock, 0, in, ptr<const T>(w),
                      ptr_or_null<const T>(bias), B, W, act, ptr<T>(y));
    }
    if (B * S * C > 0) {
      SSM_CUDA_LAUNCH("causal_conv1d", conv1d_state_kernel<T>, grid_for(B * S * C), kBlock, 0, in, B,
                      ptr<T>(state_out));
    }
  });
}

void CudaBackend::conv1d_backward(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& state_in,
                                  ConvActivation act, const Tensor& dy, const Tensor& dstate_out, const Tensor& dx,
                                  const Tensor& dw, const Tensor& dbias, const Tensor& dstate_in) {
  const int64_t B = x.size(0), T_ = x.size(1), C = x.size(2), W = w.size(1), S = W - 1;
  dispatch_floating(x.dtype(), "causal_conv1d_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const ConvInput<T> in{ptr<const T>(x), ptr_or_null<const T>(state_in), T_, C, S};
    const ConvOutputGrad<T> dz{in, ptr<const T>(w), ptr_or_null<const T>(bias), ptr<const T>(dy), W, act};
    if (B * (S + T_) * C > 0) {
      SSM_CUDA_LAUNCH("causal_conv1d_backward", conv1d_backward_input_kernel<T>, grid_for(B * (S + T_) * C), kBlock,
                      0, dz, ptr<const T>(w), ptr_or_null<const T>(dstate_out), B, T_, C, W, ptr<T>(dx),
                      ptr_or_null<T>(dstate_in));
    }
    column_sums("causal_conv1d_backward", ConvWeightGrad<T>{dz}, B * T_, C * W, ptr<T>(dw));
    if (dbias.defined()) column_sums("causal_conv1d_backward", ConvBiasGrad<T>{dz}, B * T_, C, ptr<T>(dbias));
  });
}

}  // namespace ssm::cuda
