// cuda/scan/ssd_cuda_recurrent.cu — the Mamba-2 SSD on the GPU: the backend entry points (chunk == 0 runs the
// recurrence, chunk > 0 the chunked algorithm of cuda/scan/ssd_cuda_chunked.cu), the recurrent kernels,
// and the reductions the backwards share. The twin of ops/scan/ssd_cpu.cpp and
// ssd_cpu_recurrent.cpp:
//   S_t = exp(Δ_t·A_h)·S_{t-1} + Δ_t·x_t ⊗ B_t,   y_t = S_t·C_t      (S: P×N per head)
// The recurrent forward is also the fused step of token-by-token decoding (T = 1): one block per
// (batch, head), the state read from h0, updated in place in hT (its own P×N slice) and read out,
// all in one launch. Each thread owns fixed state elements i = p·N + n (strided by the block), so
// the update needs no synchronisation; the read-out y_t[p] = Σ_n S[p,n]·C_t[n] runs after a
// barrier, one thread per p.
// The recurrent backward keeps all T+1 states of a head in a scratch buffer, like the CPU
// reference (memory O(T·P·N) per head: it is the reference path, training uses the chunked form).
#include "cuda/cuda_backend.h"   // defines: CudaBackend
#include "cuda/kernel_util.cuh"  // defines: block_sum, column_sums, dispatch_floating, scratch
#include "cuda/scan/ssd_cuda.cuh"     // defines: ssd_chunked_forward/backward, ssd_sum_group_grads, ssd_sum_dA

namespace ssm::cuda {
namespace {

constexpr int kScanBlock = 128;

template <typename T>
__global__ void ssd_recurrent_forward_kernel(SsdShape s, const T* x, const T* dt, const T* A, const T* Bm,
                                             const T* Cm, const T* h0, T* y, T* hT) {
  const int64_t L = s.seqlen, H = s.heads, P = s.headdim, G = s.groups, N = s.dstate, PN = P * N;
  const int64_t heads_per_group = H / G;
  for (int64_t bh = blockIdx.x; bh < s.batch * H; bh += gridDim.x) {
    const int64_t b = bh / H, h = bh % H, g = h / heads_per_group;
    T* S = hT + bh * PN;  // the state lives in the output (B,H,P,N)
    for (int64_t i = threadIdx.x; i < PN; i += blockDim.x) S[i] = h0 ? h0[bh * PN + i] : T(0);
    for (int64_t t = 0; t < L; ++t) {
      const T delta = dt[(b * L + t) * H + h];
      const T alpha = dexp(delta * A[h]);
      const T* xt = x + ((b * L + t) * H + h) * P;
      const T* Bt = Bm + ((b * L + t) * G + g) * N;
      const T* Ct = Cm + ((b * L + t) * G + g) * N;
      for (int64_t i = threadIdx.x; i < PN; i += blockDim.x) S[i] = alpha * S[i] + delta * xt[i / N] * Bt[i % N];
      __syncthreads();  // the read-out reads every element of S
      for (int64_t p = threadIdx.x; p < P; p += blockDim.x) {
        T acc = 0;
        for (int64_t n = 0; n < N; ++n) acc += S[p * N + n] * Ct[n];
        y[((b * L + t) * H + h) * P + p] = acc;
      }
      __syncthreads();  // before the next update overwrites S
    }
  }
}

// Backward, the reverse scan of ops/scan/ssd_cpu_recurrent.cpp. hist (B·H, T+1, P·N) gets every
// state of the head, dS_all (B·H, P·N) the state gradient. dB and dC go to per-head partials
// dBh, dCh (B,T,H,N); dA to dA_parts (B·H).
template <typename T>
__global__ void ssd_recurrent_backward_kernel(SsdShape s, const T* x, const T* dt, const T* A, const T* Bm,
                                              const T* Cm, const T* h0, const T* dy, const T* dhT, T* dx, T* ddt,
                                              T* dBh, T* dCh, T* dA_parts, T* dh0, T* hist, T* dS_all) {
  const int64_t L = s.seqlen, H = s.heads, P = s.headdim, G = s.groups, N = s.dstate, PN = P * N;
  const int64_t heads_per_group = H / G;
  for (int64_t bh = blockIdx.x; bh < s.batch * H; bh += gridDim.x) {
    const int64_t b = bh / H, h = bh % H, g = h / heads_per_group;
    T* states = hist + bh * (L + 1) * PN;  // S_{-1} .. S_{L-1}
    T* dS = dS_all + bh * PN;
    // Recompute every state (each thread only touches its own elements: no barrier needed).
    for (int64_t i = threadIdx.x; i < PN; i += blockDim.x) states[i] = h0 ? h0[bh * PN + i] : T(0);
    for (int64_t t = 0; t < L; ++t) {
      const T delta = dt[(b * L + t) * H + h];
      const T alpha = dexp(delta * A[h]);
      const T* xt = x + ((b * L + t) * H + h) * P;
      const T* Bt = Bm + ((b * L + t) * G + g) * N;
      const T* prev = states + t * PN;
      T* cur = states + (t + 1) * PN;
      for (int64_t i = threadIdx.x; i < PN; i += blockDim.x) cur[i] = alpha * prev[i] + delta * xt[i / N] * Bt[i % N];
    }
    for (int64_t i = threadIdx.x; i < PN; i += blockDim.x) dS[i] = dhT ? dhT[bh * PN + i] : T(0);
    T dA_acc = 0;  // meaningful in thread 0
    for (int64_t t = L - 1; t >= 0; --t) {
      const T delta = dt[(b * L + t) * H + h];
      const T a_h = A[h];
      const T alpha = dexp(delta * a_h);
      const int64_t xi = ((b * L + t) * H + h) * P;  // x, dy, dx rows
      const int64_t bi = ((b * L + t) * G + g) * N;  // B, C rows
      const int64_t hi = ((b * L + t) * H + h) * N;  // per-head partial rows
      const T* prev = states + t * PN;
      const T* cur = prev + PN;
      // y_t = S_t·C_t:  dS += dy_t ⊗ C_t
      for (int64_t i = threadIdx.x; i < PN; i += blockDim.x) dS[i] += dy[xi + i / N] * Cm[bi + i % N];
      __syncthreads();
      // dC_t = S_tᵀ·dy_t;  dB_t = dSᵀ·(Δ·x_t)
      for (int64_t n = threadIdx.x; n < N; n += blockDim.x) {
        T c_acc = 0, b_acc = 0;
        for (int64_t p = 0; p < P; ++p) {
          c_acc += cur[p * N + n] * dy[xi + p];
          b_acc += dS[p * N + n] * delta * x[xi + p];
        }
        dCh[hi + n] = c_acc;
        dBh[hi + n] = b_acc;
      }
      // dx̄ = dS·B_t, dx = Δ·dx̄; dΔ collects x·dx̄ and A·dlogα, dlogα = α·<dS, S_{t-1}>
      T d_delta = 0, d_log_alpha = 0;
      for (int64_t p = threadIdx.x; p < P; p += blockDim.x) {
        T d_xbar = 0;
        for (int64_t n = 0; n < N; ++n) d_xbar += dS[p * N + n] * Bm[bi + n];
        dx[xi + p] = delta * d_xbar;
        d_delta += d_xbar * x[xi + p];
      }
      for (int64_t i = threadIdx.x; i < PN; i += blockDim.x) d_log_alpha += dS[i] * prev[i];
      d_delta = block_sum(d_delta);
      d_log_alpha = block_sum(d_log_alpha) * alpha;
      if (threadIdx.x == 0) {
        ddt[(b * L + t) * H + h] = d_delta + a_h * d_log_alpha;
        dA_acc += delta * d_log_alpha;
      }
      __syncthreads();  // every read of dS above is done
      for (int64_t i = threadIdx.x; i < PN; i += blockDim.x) dS[i] *= alpha;  // now the gradient of S_{t-1}
    }
    if (dh0) {
      for (int64_t i = threadIdx.x; i < PN; i += blockDim.x) dh0[bh * PN + i] = dS[i];
    }
    if (threadIdx.x == 0) dA_parts[bh] = dA_acc;
    __syncthreads();
  }
}

template <typename T>
__global__ void ssd_sum_group_grads_kernel(SsdShape s, const T* dBh, const T* dCh, T* dB, T* dC) {
  const int64_t H = s.heads, G = s.groups, N = s.dstate, heads_per_group = H / G;
  const int64_t total = s.batch * s.seqlen * G * N;
  for (int64_t k = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; k < total;
       k += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t n = k % N, g = (k / N) % G, bt = k / (G * N);
    T acc_b = 0, acc_c = 0;
    for (int64_t h = g * heads_per_group; h < (g + 1) * heads_per_group; ++h) {
      acc_b += dBh[(bt * H + h) * N + n];
      acc_c += dCh[(bt * H + h) * N + n];
    }
    dB[k] = acc_b;
    dC[k] = acc_c;
  }
}

template <typename T>
struct DaParts {
  const T* parts;
  int64_t H, per;
  __device__ T operator()(int64_t r, int64_t h) const { return parts[((r / per) * H + h) * per + r % per]; }
};

}  // namespace

template <typename T>
void ssd_sum_group_grads(const SsdShape& s, const T* dBh, const T* dCh, T* dB, T* dC) {
  const int64_t total = s.batch * s.seqlen * s.groups * s.dstate;
  if (total == 0) return;
  SSM_CUDA_LAUNCH("ssd_backward", ssd_sum_group_grads_kernel<T>, grid_for(total), kBlock, 0, s, dBh, dCh, dB, dC);
}

template <typename T>
void ssd_sum_dA(const T* parts, int64_t outer, int64_t H, int64_t per, T* dA) {
  column_sums("ssd_backward", DaParts<T>{parts, H, per}, outer * per, H, dA);
}

template void ssd_sum_group_grads<float>(const SsdShape&, const float*, const float*, float*, float*);
template void ssd_sum_group_grads<double>(const SsdShape&, const double*, const double*, double*, double*);
template void ssd_sum_dA<float>(const float*, int64_t, int64_t, int64_t, float*);
template void ssd_sum_dA<double>(const double*, int64_t, int64_t, int64_t, double*);

void CudaBackend::ssd_forward(const SsdShape& s, int64_t chunk, const Tensor& x, const Tensor& dt, const Tensor& A,
                              const Tensor& Bm, const Tensor& Cm, const Tensor& h0, const Tensor& y,
                              const Tensor& hT) {
  dispatch_floating(x.dtype(), "ssd_forward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (chunk > 0) {
      ssd_chunked_forward<T>(s, chunk, ptr<const T>(x), ptr<const T>(dt), ptr<const T>(A), ptr<const T>(Bm),
                             ptr<const T>(Cm), ptr_or_null<const T>(h0), ptr<T>(y), ptr<T>(hT));
      return;
    }
    if (s.batch * s.heads == 0) return;
    SSM_CUDA_LAUNCH("ssd_forward", ssd_recurrent_forward_kernel<T>, grid_for_rows(s.batch * s.heads), kScanBlock, 0,
                    s, ptr<const T>(x), ptr<const T>(dt), ptr<const T>(A), ptr<const T>(Bm), ptr<const T>(Cm),
                    ptr_or_null<const T>(h0), ptr<T>(y), ptr<T>(hT));
  });
}

void CudaBackend::ssd_backward(const SsdShape& s, int64_t chunk, const Tensor& x, const Tensor& dt, const Tensor& A,
                               const Tensor& Bm, const Tensor& Cm, const Tensor& h0, const Tensor& dy,
                               const Tensor& dhT, const Tensor& dx, const Tensor& ddt, const Tensor& dA,
                               const Tensor& dB, const Tensor& dC, const Tensor& dh0) {
  dispatch_floating(x.dtype(), "ssd_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (chunk > 0) {
      ssd_chunked_backward<T>(s, chunk, ptr<const T>(x), ptr<const T>(dt), ptr<const T>(A), ptr<const T>(Bm),
                              ptr<const T>(Cm), ptr_or_null<const T>(h0), ptr<const T>(dy), ptr_or_null<const T>(dhT),
                              ptr<T>(dx), ptr<T>(ddt), ptr<T>(dA), ptr<T>(dB), ptr<T>(dC), ptr_or_null<T>(dh0));
      return;
    }
    const int64_t BH = s.batch * s.heads, PN = s.headdim * s.dstate;
    const Dtype dtype = x.dtype();
    Tensor hist = scratch(BH * (s.seqlen + 1) * PN, dtype), dS = scratch(BH * PN, dtype);
    Tensor dBh = scratch(s.batch * s.seqlen * s.heads * s.dstate, dtype), dCh = scratch(dBh.numel(), dtype);
    Tensor dA_parts = scratch(BH, dtype);
    if (BH > 0) {
      SSM_CUDA_LAUNCH("ssd_backward", ssd_recurrent_backward_kernel<T>, grid_for_rows(BH), kScanBlock, 0, s,
                      ptr<const T>(x), ptr<const T>(dt), ptr<const T>(A), ptr<const T>(Bm), ptr<const T>(Cm),
                      ptr_or_null<const T>(h0), ptr<const T>(dy), ptr_or_null<const T>(dhT), ptr<T>(dx), ptr<T>(ddt),
                      ptr<T>(dBh), ptr<T>(dCh), ptr<T>(dA_parts), ptr_or_null<T>(dh0), ptr<T>(hist), ptr<T>(dS));
    }
    ssd_sum_group_grads<T>(s, ptr<const T>(dBh), ptr<const T>(dCh), ptr<T>(dB), ptr<T>(dC));
    ssd_sum_dA<T>(ptr<const T>(dA_parts), s.batch, s.heads, 1, ptr<T>(dA));
  });
}

}  // namespace ssm::cuda
