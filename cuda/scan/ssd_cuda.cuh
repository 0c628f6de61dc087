// cuda/scan/ssd_cuda.cuh — what the SSD files share: the indexing of one chunk, the chunked
// algorithm's host entry points (cuda/scan/ssd_cuda_chunked.cu and its step 7,
// cuda/scan/ssd_cuda_chunked_backward.cu) and the reductions of the per-head gradient partials
// (cuda/scan/ssd_cuda_recurrent.cu). Raw contiguous device pointers in the layouts of ops/scan/ssd.h; h0, dhT
// and dh0 may be null. T is float or double (states and accumulations in T). Included by .cu
// files only.
#pragma once

#include <cstdint>

#include "ops/backend.h"  // defines: SsdShape

namespace ssm::cuda {

// Index helpers for the (B,T,H,P), (B,T,H) and (B,T,G,N) layouts (as the CPU's SsdLayout).
struct SsdLayout {
  int64_t L, H, P, G, N;
  __device__ int64_t x(int64_t b, int64_t t, int64_t h) const { return ((b * L + t) * H + h) * P; }
  __device__ int64_t dt(int64_t b, int64_t t, int64_t h) const { return (b * L + t) * H + h; }
  __device__ int64_t bc(int64_t b, int64_t t, int64_t g) const { return ((b * L + t) * G + g) * N; }
  __device__ int64_t head_row(int64_t b, int64_t t, int64_t h) const { return ((b * L + t) * H + h) * N; }
};

// Block (b, h, c) of the grid-stride loop over B·H·nc.
struct SsdChunk {
  int64_t b, h, c, g, t0, len, bh, bhc;
};
__device__ inline SsdChunk ssd_chunk_id(const SsdShape& s, int64_t Q, int64_t nc, int64_t bhc) {
  SsdChunk id;
  id.bhc = bhc;
  id.c = bhc % nc;
  id.bh = bhc / nc;
  id.b = id.bh / s.heads;
  id.h = id.bh % s.heads;
  id.g = id.h / (s.heads / s.groups);
  id.t0 = id.c * Q;
  id.len = min(Q, s.seqlen - id.t0);
  return id;
}

// Loads Δ_j and a_j = Δ_j·A_h of the chunk into shared memory (then a barrier).
template <typename T>
__device__ inline void load_decays(const SsdLayout& lay, const SsdChunk& id, const T* dt, const T* A, T* delta, T* a) {
  for (int64_t j = threadIdx.x; j < id.len; j += blockDim.x) {
    delta[j] = dt[lay.dt(id.b, id.t0 + j, id.h)];
    a[j] = delta[j] * A[id.h];
  }
  __syncthreads();
}

// The end of the backward's step 7, shared by its versions, for chunk `id` (every thread calls):
//   da_k = Σ_{i≥k} r_i + q + Σ_{j<k} v_j + M_k,  M_0 = 0,  M_{k+1} = M_k − rowpart_k + colpart_k
//   dA_parts[bhc] = Σ_k Δ_k·da_k,  then per step j (du_j is in dx on entry):
//   dx_j = Δ_j·du_j,  dΔ_j = <du_j, x_j> + A_h·da_j
// (ssd_cuda_chunked_backward.cu derives the terms.) The per-step vectors may be in shared or
// global memory; da is Q of shared scratch. Sequential over the chunk: O(L) for one thread.
template <typename T>
__device__ inline void ssd_finish_chunk(const SsdLayout& lay, const SsdChunk& id, T q, T A_h, const T* delta,
                                        const T* r, const T* v, const T* rowpart, const T* colpart, T* da,
                                        const T* x, T* dx, T* ddt, T* dA_parts) {
  if (threadIdx.x == 0) {
    T r_after = 0;
    for (int64_t k = 0; k < id.len; ++k) r_after += r[k];
    T v_before = 0, m = 0, dA_acc = 0;
    for (int64_t k = 0; k < id.len; ++k) {
      da[k] = r_after + q + v_before + m;
      r_after -= r[k];
      v_before += v[k];
      m -= rowpart[k];
      m += colpart[k];
      dA_acc += delta[k] * da[k];
    }
    dA_parts[id.bhc] = dA_acc;
  }
  __syncthreads();
  for (int64_t j = threadIdx.x; j < id.len; j += blockDim.x) {  // the owner of step j takes its whole row
    const int64_t xj = lay.x(id.b, id.t0 + j, id.h);
    T dd = 0;
    for (int64_t p = 0; p < lay.P; ++p) {
      const T du = dx[xj + p];
      dd += du * x[xj + p];
      dx[xj + p] = delta[j] * du;
    }
    ddt[lay.dt(id.b, id.t0 + j, id.h)] = dd + A_h * da[j];
  }
  __syncthreads();
}

template <typename T>
void ssd_chunked_forward(const SsdShape& s, int64_t chunk, const T* x, const T* dt, const T* A, const T* Bm,
                         const T* Cm, const T* h0, T* y, T* hT);
template <typename T>
void ssd_chunked_backward(const SsdShape& s, int64_t chunk, const T* x, const T* dt, const T* A, const T* Bm,
                          const T* Cm, const T* h0, const T* dy, const T* dhT, T* dx, T* ddt, T* dA, T* dB, T* dC,
                          T* dh0);

// Step 3 of the chunked forward, shared by its versions: in place, states[c] ← S̃_c (the state
// entering chunk c) from h0 (may be null) and the chunk decays; hT ← the state after the last chunk.
template <typename T>
void ssd_pass_states(const SsdShape& s, int64_t nc, const T* h0, const T* decay, T* states, T* hT);

// Version 2 of the chunked forward, on the tensor cores (cuda/scan/ssd_cuda_chunked_tc.cu).
// _applies: whether it takes this shape; the forward runs nothing and returns false when not.
bool ssd_chunked_forward_tc_applies(const SsdShape& s, int64_t chunk);
bool ssd_chunked_forward_tc(const SsdShape& s, int64_t chunk, const float* x, const float* dt, const float* A,
                            const float* Bm, const float* Cm, const float* h0, float* y, float* hT);

// The P×N sums of outer products over each chunk, on the tensor cores (cuda/scan/ssd_cuda_chunked_tc.cu):
//   inputs:       out[c] = S_c = Σ_j e^{tail_j}·Δ_j·x_j ⊗ B_j, and decay[c] = e^{cum_{L-1}}
//                 (rows = x, cols = B; the forward's step 2)
//   output_grads: out[c] = G_c = Σ_i e^{cum_i}·dy_i ⊗ C_i (rows = dy, cols = C, decay unused;
//                 the backward's step 5)
// For the shapes ssd_chunked_forward_tc_applies takes.
enum class SsdChunkSum { inputs, output_grads };
void ssd_chunk_sums_tc(const SsdShape& s, int64_t Q, int64_t nc, SsdChunkSum what, const float* rows, const float* dt,
                       const float* A, const float* cols, float* out, float* decay);

// Version 2 of the chunked backward (cuda/scan/ssd_cuda_chunked_backward_tc.cu), like the forward's.
bool ssd_chunked_backward_tc_applies(const SsdShape& s, int64_t chunk);
bool ssd_chunked_backward_tc(const SsdShape& s, int64_t chunk, const float* x, const float* dt, const float* A,
                             const float* Bm, const float* Cm, const float* h0, const float* dy, const float* dhT,
                             float* dx, float* ddt, float* dA, float* dB, float* dC, float* dh0);

// Step 6 of the chunked backward, shared by its versions: in place, dstates[c] ← the gradient of
// the state at chunk c's end, from the chunks' G_c, dhT (may be null) and the chunk decays; dh0
// (may be null) ← what is left on the initial state.
template <typename T>
void ssd_pass_dstates(const SsdShape& s, int64_t nc, const T* dhT, const T* decay, T* dstates, T* dh0);

// Step 7 of the chunked backward (cuda/scan/ssd_cuda_chunked_backward.cu): every chunk's own
// gradients, given cb, the chunk-start states and the gradients of the chunk-end states. Writes
// dx and ddt, the per-head partials dBh, dCh (B,T,H,N) and dA_parts (B,H,nc).
template <typename T>
void ssd_chunk_gradients(const SsdShape& s, int64_t Q, int64_t nc, const T* x, const T* dt, const T* A, const T* Bm,
                         const T* Cm, const T* dy, const T* cb, const T* states, const T* dstates, T* dx, T* ddt,
                         T* dBh, T* dCh, T* dA_parts);

// Heads of a group share B and C, so the backward kernels write per-head partials dBh, dCh
// (B,T,H,N) and these add them per group in head order: dB, dC (B,T,G,N).
template <typename T>
void ssd_sum_group_grads(const SsdShape& s, const T* dBh, const T* dCh, T* dB, T* dC);
// dA[h] = Σ_k parts[k·H·per + h·per + j] over k < outer, j < per: the per-(batch[, chunk]) dA
// partials (outer = B, per = chunks or 1) added in a fixed order.
template <typename T>
void ssd_sum_dA(const T* parts, int64_t outer, int64_t H, int64_t per, T* dA);

}  // namespace ssm::cuda
