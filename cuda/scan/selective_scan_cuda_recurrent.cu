// cuda/scan/selective_scan_cuda_recurrent.cu — the Mamba-1 selective scan on the GPU, forward and backward: the twin
// of ops/scan/selective_scan_cpu_recurrent.cpp (the per-step formulas, term for term)
//   s_t[n] = exp(Δ_t·A[d,n])·s_{t-1}[n] + Δ_t·x_t·B_t[n],   y_t = Σ_n C_t[n]·s_t[n]
// with one thread per (batch row b, channel d), sequential over time, as mamba's reference kernel
// and RWKV-LM's kernels are. The state of a channel lives in a scratch buffer laid out (B, N, E),
// so the 32 channels of a warp touch 32 consecutive words (coalesced) at every step.
// The chunk argument only matters on the CPU: here the forward is the same sequential scan for
// every chunk value (the same function; tests hold the two algorithms equal). The backward keeps
// the state at every chunk start (chunk length Q, 64 when chunk == 0) from a forward pass, then
// walks the chunks last to first, recomputing a chunk's Q states from its start and running the
// reverse scan of docs/arch/mamba1.md, backward, through them: memory O(T/Q + Q) states per channel.
// This is version 1 (ops/kernel_versions.h), the readable reference; version 2, parallel over time
// as well, is cuda/scan/selective_scan_cuda_parallel.cu, chosen here where it applies.
// dB and dC are sums over the channels: each warp adds its 32 lanes with shuffles in a fixed
// order and writes one partial row per (warp, step); the partials are then added in warp order.
// dA is a sum over batch rows, added in row order at the end. No atomics: deterministic.
#include "cuda/cuda_backend.h"   // defines: CudaBackend
#include "cuda/kernel_util.cuh"  // defines: warp_sum, column_sums, dispatch_floating, scratch
#include "cuda/scan/selective_scan_cuda.cuh"  // defines: selective_*_parallel (version 2)
#include "ops/kernel_versions.h"              // defines: kernel_version, record_kernel_version_ran

namespace ssm::cuda {
namespace {

constexpr int kWarpsPerBlock = 4;
constexpr int64_t kDefaultCheckpoint = 64;  // backward checkpoint spacing when chunk == 0

template <typename T>
__global__ void selective_forward_kernel(SelectiveScanShape s, const T* x, const T* dt, const T* A, const T* Bm,
                                         const T* Cm, const T* h0, T* y, T* hT, T* state) {
  const int64_t L = s.seqlen, E = s.channels, N = s.dstate;
  for (int64_t k = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; k < s.batch * E;
       k += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t b = k / E, d = k % E;
    T* S = state + b * N * E + d;  // S[n·E] is s[n] of this channel
    const T* Ad = A + d * N;
    for (int64_t n = 0; n < N; ++n) S[n * E] = h0 ? h0[(b * E + d) * N + n] : T(0);
    for (int64_t t = 0; t < L; ++t) {
      const int64_t i = (b * L + t) * E + d;  // this (b, t, d) in x, dt and y
      const T delta = dt[i], u = delta * x[i];
      const T* Bt = Bm + (b * L + t) * N;
      const T* Ct = Cm + (b * L + t) * N;
      T acc = 0;
      for (int64_t n = 0; n < N; ++n) {
        const T sn = dexp(delta * Ad[n]) * S[n * E] + u * Bt[n];
        S[n * E] = sn;
        acc += Ct[n] * sn;
      }
      y[i] = acc;
    }
    for (int64_t n = 0; n < N; ++n) hT[(b * E + d) * N + n] = S[n * E];
  }
}

// One warp per (batch row b, block w of 32 channels); lanes past E take part in the shuffles with
// zeros and touch no memory. Scratch, all laid out with the channel innermost (stride 1 in d):
//   bounds (B, nc, N, E): the state entering each chunk;  hist (B, Q, N, E): one chunk's states;
//   dS (B, N, E): the state gradient (and the running state of the first pass);
//   dA_rows (B, N, E): Σ_t Δ·dlogλ per row;  dB_part, dC_part (B, nw, T, N): per-warp sums.
template <typename T>
__global__ void selective_backward_kernel(SelectiveScanShape s, int64_t Q, const T* x, const T* dt, const T* A,
                                          const T* Bm, const T* Cm, const T* h0, const T* dy, const T* dhT, T* dx,
                                          T* ddt, T* dh0, T* bounds, T* hist, T* dS_buf, T* dA_rows, T* dB_part,
                                          T* dC_part) {
  const int64_t L = s.seqlen, E = s.channels, N = s.dstate;
  const int64_t nw = (E + 31) / 32, nc = L == 0 ? 0 : 1 + (L - 1) / Q;
  const int lane = threadIdx.x & 31;
  const int64_t warps_total = s.batch * nw;
  for (int64_t wg = blockIdx.x * static_cast<int64_t>(kWarpsPerBlock) + (threadIdx.x >> 5); wg < warps_total;
       wg += static_cast<int64_t>(gridDim.x) * kWarpsPerBlock) {
    const int64_t b = wg / nw, w = wg % nw, d = w * 32 + lane;
    const bool valid = d < E;
    const T* Ad = A + (valid ? d : 0) * N;
    T* dS = dS_buf + b * N * E + d;  // dS[n·E]
    T* dA_acc = dA_rows + b * N * E + d;
    auto bound = [&](int64_t c, int64_t n) -> T& { return bounds[((b * nc + c) * N + n) * E + d]; };
    auto state = [&](int64_t j, int64_t n) -> T& { return hist[((b * Q + j) * N + n) * E + d]; };

    // Pass 1: forward from h0, keeping the state that enters every chunk (dS holds the state).
    if (valid) {
      for (int64_t n = 0; n < N; ++n) dS[n * E] = h0 ? h0[(b * E + d) * N + n] : T(0);
      for (int64_t c = 0; c < nc; ++c) {
        const int64_t t0 = c * Q, len = min(Q, L - t0);
        for (int64_t n = 0; n < N; ++n) bound(c, n) = dS[n * E];
        for (int64_t t = t0; t < t0 + len; ++t) {
          const int64_t i = (b * L + t) * E + d;
          const T delta = dt[i], u = delta * x[i];
          const T* Bt = Bm + (b * L + t) * N;
          for (int64_t n = 0; n < N; ++n) dS[n * E] = dexp(delta * Ad[n]) * dS[n * E] + u * Bt[n];
        }
      }
      for (int64_t n = 0; n < N; ++n) {
        dS[n * E] = dhT ? dhT[(b * E + d) * N + n] : T(0);
        dA_acc[n * E] = 0;
      }
    }
    // Pass 2: chunks last to first.
    for (int64_t c = nc - 1; c >= 0; --c) {
      const int64_t t0 = c * Q, len = min(Q, L - t0);
      if (valid) {  // the chunk's states s_{t0} .. s_{t0+len-1}
        for (int64_t j = 0; j < len; ++j) {
          const int64_t i = (b * L + t0 + j) * E + d;
          const T delta = dt[i], u = delta * x[i];
          const T* Bt = Bm + (b * L + t0 + j) * N;
          for (int64_t n = 0; n < N; ++n) {
            const T before = j > 0 ? state(j - 1, n) : bound(c, n);
            state(j, n) = dexp(delta * Ad[n]) * before + u * Bt[n];
          }
        }
      }
      for (int64_t j = len - 1; j >= 0; --j) {
        const int64_t t = t0 + j, i = (b * L + t) * E + d;
        const T delta = valid ? dt[i] : T(0), xt = valid ? x[i] : T(0), u = delta * xt, g = valid ? dy[i] : T(0);
        const T* Bt = Bm + (b * L + t) * N;
        const T* Ct = Cm + (b * L + t) * N;
        T du = 0, d_delta_decay = 0;
        for (int64_t n = 0; n < N; ++n) {
          T db = 0, dc = 0;
          if (valid) {
            const T a_n = Ad[n];
            const T s_cur = state(j, n);
            const T s_prev = j > 0 ? state(j - 1, n) : bound(c, n);
            // y_t = Σ_n C_t[n]·s_t[n]
            T ds = dS[n * E] + Ct[n] * g;
            dc = g * s_cur;
            // s_t = λ_t·s_{t-1} + u_t·B_t
            db = u * ds;
            du += ds * Bt[n];
            const T lambda = dexp(delta * a_n);
            const T dlog = ds * lambda * s_prev;
            d_delta_decay += a_n * dlog;
            dA_acc[n * E] += delta * dlog;
            dS[n * E] = ds * lambda;
          }
          db = warp_sum(db);
          dc = warp_sum(dc);
          if (lane == 0) {
            dB_part[((b * nw + w) * L + t) * N + n] = db;
            dC_part[((b * nw + w) * L + t) * N + n] = dc;
          }
        }
        if (valid) {
          dx[i] = delta * du;
          ddt[i] = xt * du + d_delta_decay;
        }
      }
    }
    if (valid && dh0) {
      for (int64_t n = 0; n < N; ++n) dh0[(b * E + d) * N + n] = dS[n * E];
    }
  }
}

// dB[b,t,n] = Σ_w dB_part[b,w,t,n] (warp order); the same for dC.
template <typename T>
__global__ void selective_sum_warps_kernel(SelectiveScanShape s, int64_t nw, const T* dB_part, const T* dC_part,
                                           T* dB, T* dC) {
  const int64_t L = s.seqlen, N = s.dstate;
  for (int64_t k = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; k < s.batch * L * N;
       k += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t tn = k % (L * N), b = k / (L * N);
    T acc_b = 0, acc_c = 0;
    for (int64_t w = 0; w < nw; ++w) {
      acc_b += dB_part[(b * nw + w) * L * N + tn];
      acc_c += dC_part[(b * nw + w) * L * N + tn];
    }
    dB[k] = acc_b;
    dC[k] = acc_c;
  }
}

// dA[d, n] = Σ_b dA_rows[b, n, d]: column j = d·N + n of a (B) x (E·N) sum.
template <typename T>
struct SelectiveDa {
  const T* rows;
  int64_t E, N;
  __device__ T operator()(int64_t b, int64_t j) const { return rows[(b * N + j % N) * E + j / N]; }
};

// The version that runs for this shape (recorded): version 2 where it is chosen and applies.
int selective_version(const SelectiveScanShape& s) {
  const int version = ops::kernel_version("selective_scan") == 2 && s.dstate <= kSelectiveParallelMaxState ? 2 : 1;
  ops::record_kernel_version_ran("selective_scan", version);
  return version;
}

}  // namespace

void CudaBackend::selective_scan_forward(const SelectiveScanShape& s, int64_t chunk, const Tensor& x,
                                         const Tensor& dt, const Tensor& A, const Tensor& Bm, const Tensor& Cm,
                                         const Tensor& h0, const Tensor& y, const Tensor& hT) {
  const int64_t BE = s.batch * s.channels;
  const int version = selective_version(s);
  if (BE == 0) return;
  dispatch_floating(x.dtype(), "selective_scan_forward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (version == 2) {
      selective_forward_parallel<T>(s, ptr<const T>(x), ptr<const T>(dt), ptr<const T>(A), ptr<const T>(Bm),
                                    ptr<const T>(Cm), ptr_or_null<const T>(h0), ptr<T>(y), ptr<T>(hT));
      return;
    }
    Tensor state = scratch(BE * s.dstate, x.dtype());
    SSM_CUDA_LAUNCH("selective_scan_forward", selective_forward_kernel<T>, grid_for(BE, 128), 128, 0, s,
                    ptr<const T>(x), ptr<const T>(dt), ptr<const T>(A), ptr<const T>(Bm), ptr<const T>(Cm),
                    ptr_or_null<const T>(h0), ptr<T>(y), ptr<T>(hT), ptr<T>(state));
  });
}

void CudaBackend::selective_scan_backward(const SelectiveScanShape& s, int64_t chunk, const Tensor& x,
                                          const Tensor& dt, const Tensor& A, const Tensor& Bm, const Tensor& Cm,
                                          const Tensor& h0, const Tensor& dy, const Tensor& dhT, const Tensor& dx,
                                          const Tensor& ddt, const Tensor& dA, const Tensor& dB, const Tensor& dC,
                                          const Tensor& dh0) {
  const int64_t L = s.seqlen, E = s.channels, N = s.dstate;
  const int64_t Q = std::max<int64_t>(1, std::min(chunk > 0 ? chunk : kDefaultCheckpoint, L));
  const int64_t nc = L == 0 ? 0 : 1 + (L - 1) / Q, nw = (E + 31) / 32;
  const int version = selective_version(s);
  dispatch_floating(x.dtype(), "selective_scan_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const Dtype dtype = x.dtype();
    const bool v1 = version == 1;  // version 2 keeps its own chunk-start states
    Tensor bounds = scratch(v1 ? s.batch * nc * N * E : 0, dtype), hist = scratch(v1 ? s.batch * Q * N * E : 0, dtype);
    Tensor dS = scratch(v1 ? s.batch * N * E : 0, dtype), dA_rows = scratch(s.batch * N * E, dtype);
    Tensor dB_part = scratch(s.batch * nw * L * N, dtype), dC_part = scratch(dB_part.numel(), dtype);
    const int64_t warps = s.batch * nw;
    if (version == 2) {
      selective_backward_parallel<T>(s, ptr<const T>(x), ptr<const T>(dt), ptr<const T>(A), ptr<const T>(Bm),
                                     ptr<const T>(Cm), ptr_or_null<const T>(h0), ptr<const T>(dy),
                                     ptr_or_null<const T>(dhT), ptr<T>(dx), ptr<T>(ddt), ptr_or_null<T>(dh0),
                                     ptr<T>(dA_rows), ptr<T>(dB_part), ptr<T>(dC_part));
    } else if (warps > 0) {
      const unsigned blocks =
          static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>((warps + kWarpsPerBlock - 1) / kWarpsPerBlock, kMaxGrid)));
      SSM_CUDA_LAUNCH("selective_scan_backward", selective_backward_kernel<T>, blocks, 32 * kWarpsPerBlock, 0, s, Q,
                      ptr<const T>(x), ptr<const T>(dt), ptr<const T>(A), ptr<const T>(Bm), ptr<const T>(Cm),
                      ptr_or_null<const T>(h0), ptr<const T>(dy), ptr_or_null<const T>(dhT), ptr<T>(dx), ptr<T>(ddt),
                      ptr_or_null<T>(dh0), ptr<T>(bounds), ptr<T>(hist), ptr<T>(dS), ptr<T>(dA_rows),
                      ptr<T>(dB_part), ptr<T>(dC_part));
    }
    if (s.batch * L * N > 0) {
      SSM_CUDA_LAUNCH("selective_scan_backward", selective_sum_warps_kernel<T>, grid_for(s.batch * L * N), kBlock, 0,
                      s, nw, ptr<const T>(dB_part), ptr<const T>(dC_part), ptr<T>(dB), ptr<T>(dC));
    }
    column_sums("selective_scan_backward", SelectiveDa<T>{ptr<const T>(dA_rows), E, N}, s.batch, E * N, ptr<T>(dA));
  });
}

}  // namespace ssm::cuda
