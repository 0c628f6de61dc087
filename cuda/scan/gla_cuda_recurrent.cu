// cuda/scan/gla_cuda_recurrent.cu — gated linear attention (RWKV-5/6, HGRN-2) on the GPU, forward and backward:
// the twin of ops/scan/gla_cpu_recurrent.cpp (its per-step formulas, term for term)
//   S_t = diag(exp(g_t))·S_{t-1} + k_t ⊗ v_t                          S ∈ R^{K×V}
//   post_update:  o_t = S_tᵀ·q_t;   pre_update_bonus:  o_t = S_{t-1}ᵀ·q_t + (q_t·u·k_t)·v_t
// One block per (batch, head), sequential over time, as RWKV-LM's wkv kernels: each thread owns
// columns e of the state (S[:, e], strided by the block), so the update and the read-out
// o_t[e] = Σ_d q_t[d]·S[d, e] need nothing from other threads. The step's q, k, exp(g) (and v,
// do) are staged in shared memory between two barriers. The state lives in global memory (the
// output hT in the forward; scratch in the backward), row-major (K, V), so a warp's columns are
// consecutive words.
// This is version 1 (ops/kernel_versions.h); version 2 of the forward and of the backward, the
// chunked form on the tensor cores, is cuda/scan/gla_cuda_chunked_tc.cu and
// cuda/scan/gla_cuda_chunked_backward_tc.cu, chosen here where it applies. The chunk argument only
// matters on the CPU: version 1's forward is the same sequential scan for every chunk value, and
// version 2 always takes chunks of 64 (tests hold the algorithms equal). Version 1's backward keeps
// the state at every chunk start (Q = chunk, or 32 when chunk == 0), recomputes one chunk's states at a time and runs the
// reverse scan of docs/scans.md through them. Its row quantities (dq, dk, dg, du: sums over e)
// are computed by row owners d after a barrier, its column quantities (dv: sums over d) by the
// column owners. du is a sum over the batch: per-(batch, head) rows added in batch order.
#include "cuda/cuda_backend.h"   // defines: CudaBackend
#include "cuda/kernel_util.cuh"  // defines: column_sums, dispatch_floating, scratch, allow_dynamic_shared
#include "cuda/scan/gla_cuda.cuh"  // defines: GlaIndex, gla_forward_tc, gla_backward_tc (the versions 2)
#include "ops/kernel_versions.h"  // defines: kernel_version, record_kernel_version_ran

namespace ssm::cuda {
namespace {

constexpr int kGlaBlock = 128;
constexpr int64_t kDefaultCheckpoint = 32;  // backward checkpoint spacing when chunk == 0

// Stages step t's q, k, a = exp(g) (K each) and v (V) in shared memory, between barriers.
template <typename T>
__device__ void stage_step(const GlaIndex& ix, int64_t b, int64_t t, int64_t h, const T* q, const T* k, const T* g,
                           const T* v, T* qs, T* ks, T* as, T* vs) {
  __syncthreads();  // the previous step is done with the staged values
  const int64_t ki = ix.key(b, t, h), vi = ix.value(b, t, h);
  for (int64_t d = threadIdx.x; d < ix.K; d += blockDim.x) {
    if (qs) qs[d] = q[ki + d];
    ks[d] = k[ki + d];
    as[d] = dexp(g[ki + d]);
  }
  for (int64_t e = threadIdx.x; e < ix.V; e += blockDim.x) vs[e] = v[vi + e];
  __syncthreads();
}

// Shared: qs, ks, as (K each), vs (V).
template <typename T>
__global__ void gla_forward_kernel(GlaShape s, bool bonus, const T* q, const T* k, const T* v, const T* g, const T* u,
                                   const T* h0, T* o, T* hT) {
  SSM_DYNAMIC_SHARED(smem);
  const int64_t K = s.dk, V = s.dv, KV = K * V;
  T* qs = reinterpret_cast<T*>(smem);
  T* ks = qs + K;
  T* as = ks + K;
  T* vs = as + K;
  const GlaIndex ix{s.seqlen, s.heads, K, V};
  for (int64_t bh = blockIdx.x; bh < s.batch * s.heads; bh += gridDim.x) {
    const int64_t b = bh / s.heads, h = bh % s.heads;
    T* S = hT + bh * KV;  // the state lives in the output
    for (int64_t e = threadIdx.x; e < V; e += blockDim.x) {
      for (int64_t d = 0; d < K; ++d) S[d * V + e] = h0 ? h0[bh * KV + d * V + e] : T(0);
    }
    for (int64_t t = 0; t < s.seqlen; ++t) {
      stage_step(ix, b, t, h, q, k, g, v, qs, ks, as, vs);
      T qku = 0;
      if (bonus) {
        for (int64_t d = 0; d < K; ++d) qku += qs[d] * u[h * K + d] * ks[d];
      }
      for (int64_t e = threadIdx.x; e < V; e += blockDim.x) {
        T out = 0;
        if (bonus) {  // read S_{t-1} before the update, plus the bonus on the current token
          out = qku * vs[e];
          for (int64_t d = 0; d < K; ++d) out += qs[d] * S[d * V + e];
        }
        for (int64_t d = 0; d < K; ++d) {
          const T sn = as[d] * S[d * V + e] + ks[d] * vs[e];
          S[d * V + e] = sn;
          if (!bonus) out += qs[d] * sn;  // read S_t, which includes the current token
        }
        o[ix.value(b, t, h) + e] = out;
      }
    }
  }
}

// Shared: qs, ks, as (K each), vs, dos (V each). Scratch per (batch, head), (K, V) row-major:
// bounds (nc of them), hist (Q of them), dS; du_rows (B, H, K).
template <typename T>
__global__ void gla_backward_kernel(GlaShape s, int64_t Q, bool bonus, const T* q, const T* k, const T* v, const T* g,
                                    const T* u, const T* h0, const T* dout, const T* dhT, T* dq, T* dk, T* dv, T* dg,
                                    T* du_rows, T* dh0, T* bounds, T* hist, T* dS_buf) {
  SSM_DYNAMIC_SHARED(smem);
  const int64_t L = s.seqlen, K = s.dk, V = s.dv, KV = K * V;
  const int64_t nc = L == 0 ? 0 : 1 + (L - 1) / Q;
  T* qs = reinterpret_cast<T*>(smem);
  T* ks = qs + K;
  T* as = ks + K;
  T* vs = as + K;
  T* dos = vs + V;
  const GlaIndex ix{L, s.heads, K, V};
  for (int64_t bh = blockIdx.x; bh < s.batch * s.heads; bh += gridDim.x) {
    const int64_t b = bh / s.heads, h = bh % s.heads;
    T* bnd = bounds + bh * nc * KV;  // bnd[c·KV + d·V + e]
    T* states = hist + bh * Q * KV;  // states[j·KV + ...]: the state after local step j
    T* dS = dS_buf + bh * KV;
    T* du_row = du_rows + bh * K;
    // Pass 1: forward from h0, keeping the state entering every chunk (dS holds the state).
    for (int64_t e = threadIdx.x; e < V; e += blockDim.x) {
      for (int64_t d = 0; d < K; ++d) dS[d * V + e] = h0 ? h0[bh * KV + d * V + e] : T(0);
    }
    for (int64_t c = 0; c < nc; ++c) {
      const int64_t t0 = c * Q, len = min(Q, L - t0);
      for (int64_t e = threadIdx.x; e < V; e += blockDim.x) {
        for (int64_t d = 0; d < K; ++d) bnd[c * KV + d * V + e] = dS[d * V + e];
      }
      for (int64_t t = t0; t < t0 + len; ++t) {
        stage_step(ix, b, t, h, q, k, g, v, static_cast<T*>(nullptr), ks, as, vs);
        for (int64_t e = threadIdx.x; e < V; e += blockDim.x) {
          for (int64_t d = 0; d < K; ++d) dS[d * V + e] = as[d] * dS[d * V + e] + ks[d] * vs[e];
        }
      }
    }
    for (int64_t e = threadIdx.x; e < V; e += blockDim.x) {
      for (int64_t d = 0; d < K; ++d) dS[d * V + e] = dhT ? dhT[bh * KV + d * V + e] : T(0);
    }
    for (int64_t d = threadIdx.x; d < K; d += blockDim.x) du_row[d] = 0;
    // Pass 2: chunks last to first.
    for (int64_t c = nc - 1; c >= 0; --c) {
      const int64_t t0 = c * Q, len = min(Q, L - t0);
      const T* start = bnd + c * KV;
      for (int64_t j = 0; j < len; ++j) {  // the chunk's states, by the column owners
        stage_step(ix, b, t0 + j, h, q, k, g, v, static_cast<T*>(nullptr), ks, as, vs);
        const T* before = j > 0 ? states + (j - 1) * KV : start;
        for (int64_t e = threadIdx.x; e < V; e += blockDim.x) {
          for (int64_t d = 0; d < K; ++d) states[j * KV + d * V + e] = as[d] * before[d * V + e] + ks[d] * vs[e];
        }
      }
      for (int64_t j = len - 1; j >= 0; --j) {
        const int64_t t = t0 + j, ki = ix.key(b, t, h), vi = ix.value(b, t, h);
        const T* prev = j > 0 ? states + (j - 1) * KV : start;
        const T* cur = states + j * KV;
        stage_step(ix, b, t, h, q, k, g, v, qs, ks, as, vs);
        for (int64_t e = threadIdx.x; e < V; e += blockDim.x) dos[e] = dout[vi + e];
        __syncthreads();
        T vo = 0, qku = 0;
        if (bonus) {
          for (int64_t e = 0; e < V; ++e) vo += vs[e] * dos[e];
          for (int64_t d = 0; d < K; ++d) qku += qs[d] * u[h * K + d] * ks[d];
        } else {  // o_t = S_tᵀ·q_t:  dS += q_t ⊗ do_t
          for (int64_t e = threadIdx.x; e < V; e += blockDim.x) {
            for (int64_t d = 0; d < K; ++d) dS[d * V + e] += qs[d] * dos[e];
          }
          __syncthreads();
        }
        // Row owners: dq, dk, dg (and du) — sums over e.
        for (int64_t d = threadIdx.x; d < K; d += blockDim.x) {
          T gq = 0, gk = 0, row = 0;
          for (int64_t e = 0; e < V; ++e) {
            const T ds = dS[d * V + e];
            gk += ds * vs[e];
            row += ds * prev[d * V + e];
            gq += (bonus ? prev[d * V + e] : cur[d * V + e]) * dos[e];
          }
          if (bonus) {  // o_t = S_{t-1}ᵀ·q_t + (q_t·u·k_t)·v_t
            const T ud = u[h * K + d];
            gq += ud * ks[d] * vo;
            gk += ud * qs[d] * vo;
            du_row[d] += qs[d] * ks[d] * vo;
          }
          dq[ki + d] = gq;
          dk[ki + d] = gk;
          dg[ki + d] = as[d] * row;
        }
        // Column owners: dv — sums over d.
        for (int64_t e = threadIdx.x; e < V; e += blockDim.x) {
          T gv = 0;
          for (int64_t d = 0; d < K; ++d) gv += dS[d * V + e] * ks[d];
          if (bonus) gv += qku * dos[e];
          dv[vi + e] = gv;
        }
        __syncthreads();  // every read of dS for this step is done
        // dS ← diag(a_t)·dS (the gradient of S_{t-1}); with the bonus readout, + q_t ⊗ do_t
        for (int64_t e = threadIdx.x; e < V; e += blockDim.x) {
          for (int64_t d = 0; d < K; ++d) {
            dS[d * V + e] = as[d] * dS[d * V + e] + (bonus ? qs[d] * dos[e] : T(0));
          }
        }
      }
    }
    __syncthreads();
    if (dh0) {
      for (int64_t e = threadIdx.x; e < V; e += blockDim.x) {
        for (int64_t d = 0; d < K; ++d) dh0[bh * KV + d * V + e] = dS[d * V + e];
      }
    }
  }
}

// du[h, d] = Σ_b du_rows[b, h, d]: rows b, columns h·K + d.
template <typename T>
struct GlaDu {
  const T* rows;
  int64_t HK;
  __device__ T operator()(int64_t b, int64_t j) const { return rows[b * HK + j]; }
};

}  // namespace

void CudaBackend::gla_forward(const GlaShape& s, int64_t chunk, bool bonus, const Tensor& q, const Tensor& k,
                              const Tensor& v, const Tensor& g, const Tensor& u, const Tensor& h0, const Tensor& o,
                              const Tensor& hT) {
  const int64_t BH = s.batch * s.heads;
  if (q.dtype() == Dtype::f32 && ops::kernel_version("gla_forward") == 2 &&
      gla_forward_tc(s, bonus, ptr<const float>(q), ptr<const float>(k), ptr<const float>(v), ptr<const float>(g),
                     ptr_or_null<const float>(u), ptr_or_null<const float>(h0), ptr<float>(o), ptr<float>(hT))) {
    ops::record_kernel_version_ran("gla_forward", 2);
    return;
  }
  ops::record_kernel_version_ran("gla_forward", 1);
  if (BH == 0) return;
  dispatch_floating(q.dtype(), "gla_forward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const size_t shared = (3 * s.dk + s.dv) * sizeof(T);
    allow_dynamic_shared(gla_forward_kernel<T>, shared, "gla_forward");
    SSM_CUDA_LAUNCH("gla_forward", gla_forward_kernel<T>, grid_for_rows(BH), kGlaBlock, shared, s, bonus,
                    ptr<const T>(q), ptr<const T>(k), ptr<const T>(v), ptr<const T>(g), ptr_or_null<const T>(u),
                    ptr_or_null<const T>(h0), ptr<T>(o), ptr<T>(hT));
  });
}

void CudaBackend::gla_backward(const GlaShape& s, int64_t chunk, bool bonus, const Tensor& q, const Tensor& k,
                               const Tensor& v, const Tensor& g, const Tensor& u, const Tensor& h0, const Tensor& dout,
                               const Tensor& dhT, const Tensor& dq, const Tensor& dk, const Tensor& dv,
                               const Tensor& dg, const Tensor& du, const Tensor& dh0) {
  if (q.dtype() == Dtype::f32 && ops::kernel_version("gla_backward") == 2 &&
      gla_backward_tc(s, bonus, ptr<const float>(q), ptr<const float>(k), ptr<const float>(v), ptr<const float>(g),
                      ptr_or_null<const float>(u), ptr_or_null<const float>(h0), ptr<const float>(dout),
                      ptr_or_null<const float>(dhT), ptr<float>(dq), ptr<float>(dk), ptr<float>(dv), ptr<float>(dg),
                      ptr_or_null<float>(du), ptr_or_null<float>(dh0))) {
    ops::record_kernel_version_ran("gla_backward", 2);
    return;
  }
  ops::record_kernel_version_ran("gla_backward", 1);
  const int64_t BH = s.batch * s.heads, KV = s.dk * s.dv, L = s.seqlen;
  const int64_t Q = std::max<int64_t>(1, std::min(chunk > 0 ? chunk : kDefaultCheckpoint, L));
  const int64_t nc = L == 0 ? 0 : 1 + (L - 1) / Q;
  dispatch_floating(q.dtype(), "gla_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const Dtype dtype = q.dtype();
    Tensor bounds = scratch(BH * nc * KV, dtype), hist = scratch(BH * Q * KV, dtype), dS = scratch(BH * KV, dtype);
    Tensor du_rows = scratch(BH * s.dk, dtype);
    if (BH > 0) {
      const size_t shared = (3 * s.dk + 2 * s.dv) * sizeof(T);
      allow_dynamic_shared(gla_backward_kernel<T>, shared, "gla_backward");
      SSM_CUDA_LAUNCH("gla_backward", gla_backward_kernel<T>, grid_for_rows(BH), kGlaBlock, shared, s, Q, bonus,
                      ptr<const T>(q), ptr<const T>(k), ptr<const T>(v), ptr<const T>(g), ptr_or_null<const T>(u),
                      ptr_or_null<const T>(h0), ptr<const T>(dout), ptr_or_null<const T>(dhT), ptr<T>(dq), ptr<T>(dk),
                      ptr<T>(dv), ptr<T>(dg), ptr<T>(du_rows), ptr_or_null<T>(dh0), ptr<T>(bounds), ptr<T>(hist),
                      ptr<T>(dS));
    }
    if (bonus) {
      column_sums("gla_backward", GlaDu<T>{ptr<const T>(du_rows), s.heads * s.dk}, s.batch, s.heads * s.dk,
                  ptr<T>(du));
    }
  });
}

}  // namespace ssm::cuda
