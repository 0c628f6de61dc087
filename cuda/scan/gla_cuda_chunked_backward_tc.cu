// cuda/scan/gla_cuda_chunked_backward_tc.cu — version 2 of the gated-linear-attention backward (ops/kernel_versions.h,
// docs/kernels.md): the gradients of the chunked form in cuda/scan/gla_cuda_chunked_tc.cu, with its matrix
// products on the tensor cores (tf32 operands, fp32 accumulation; cuda/wmma_tiles.cuh). Version 1
// (cuda/scan/gla_cuda_recurrent.cu) walks the steps backwards. In a chunk of L ≤ 64 steps, with the
// forward's b_i, p(i), A and S_c (the state entering the chunk), S̄ the state it hands on and dS̄ that
// state's gradient, dO the output gradients and dA_ij = do_i·v_j where output i reads write j (else 0):
//   dS_c = diag(e^{b_{L-1}})·dS̄ + Q̃ᵀ·dO,          Q̃_i = q_i ⊙ e^{p(i)}         (chunks last to first)
//   dq_i = e^{p(i)} ⊙ (S_c·do_i) + Σ_j dA_ij·(k_j ⊙ e^{p(i) − b_j})
//   dk_j = e^{b_{L-1} − b_j} ⊙ (dS̄·v_j) + Σ_i dA_ij·(q_i ⊙ e^{p(i) − b_j})
//   dv_j = Σ_i A_ij·do_i + K̂_j·dS̄,                K̂_j = k_j ⊙ e^{b_{L-1} − b_j}
// and the bonus's terms with pre_update_bonus. The decays: dg_s is the sum of the weights W = ⟨gradient,
// term⟩ of every term whose decay spans step s (docs/scans.md, chunked GLA). A term pairs a reader
// (output i, or S̄) with a source (write j, or S_c); those that span s:
//   output i ← write j or S_c:   q ⊙ dq's parts, for s up to the last step before i reads (i, or i−1)
//   S̄ ← write j:                 k_j ⊙ e^{b_{L-1} − b_j} ⊙ (dS̄·v_j), for s > j
//   S̄ ← S_c:                     e^{b_{L-1}} ⊙ rowsum(S_c ⊙ dS̄), for every s
// The first kind is summed as fla does, a reverse sum over the chunk of z_i = zq_{i'} − zk_i, with
// zq = q ⊙ dq and zk = k ⊙ (dk's intra-chunk part): each pair enters once with each sign, and
// cancels where it does not span s. Two things keep the sum faithful: it runs over one chunk only,
// and the pairs with no step between reader and source (j = i after the write, j = i−1 before it) are
// left out of zq and zk, though they are in dq and dk: their decay is e^0, they span no step, and they
// are the largest terms, which would otherwise cancel to rounding noise where the true dg is tiny
// (strong decays). The other two kinds are summed directly. Nothing depends on the initial state
// being zero.
//
// Where a decay depends on both i and j, the forward's split by a reference decay keeps every
// exponent ≤ 0 (cuda/scan/gla_cuda_chunk_tc.cuh). dq in row blocks I of 16 with r = b_{I0−1}:
//   dq_I = e^{p(i) − r} ⊙ [dO_I·(e^{r} ⊙ S_c)ᵀ + dA_{I,<I0}·(k_j ⊙ e^{r − b_j})]       one accumulation
// dk in column blocks J with r' = b_{J1}, J1 the block's last step:
//   dk_J = e^{r' − b_j} ⊙ [V_J·(e^{b_{L-1} − r'} ⊙ dS̄)ᵀ + dA_{>J,J}ᵀ·(q_i ⊙ e^{p(i) − r'})]
// The state is rescaled in place from one block to the next (each factor ≤ 1); the diagonal blocks
// are summed pair by pair, and with pre_update_bonus also the pair at distance zero that lies just
// outside them (j = I0−1 for dq's row block, i = J1+1 for dk's column block), so that every such pair
// is a term of its own. dv has no decay outside A, so A is rebuilt as in the forward and
// dv = Aᵀ·dO + K̂·dS̄ is one accumulation.
//
// Kernels: the forward's chunk sums and state pass (S_c, recomputed) and their mirror image (dS̄,
// cuda/scan/gla_cuda_chunked_tc.cu); then one block per chunk in each of gla_dq_tc, gla_dk_tc and
// gla_dv_tc (dq and dk also write their parts of dg: zq, zk and the S̄ ← write j weights); and
// gla_finish (dg, the bonus's terms, and du's rows per (batch, chunk), summed in a fixed order).
// Version 2 takes f32 with K, V <= 128 whose tiles fit in the device's shared memory per block, in
// chunks of 64 whatever the op's chunk setting; version 1 runs otherwise.
#include "cuda/cuda_backend.h"     // defines: GlaShape
#include "cuda/device.h"           // defines: max_shared_per_block
#include "cuda/kernel_util.cuh"    // defines: scratch, allow_dynamic_shared, grid_for_rows, column_sums, warp_sum, dexp
#include "cuda/scan/gla_cuda.cuh"  // defines: GlaIndex, gla_backward_tc, gla_chunk_states_tc, gla_chunk_state_grads_tc
#include "cuda/scan/gla_cuda_chunk_tc.cuh"  // defines: GlaChunk, GlaDecays, gla_chunk_scores, kRows, kWarps
#include "cuda/wmma_tiles.cuh"     // defines: WarpTiles, product_to_shared, aligned_shared, fill_padded

namespace ssm::cuda {
namespace {

using namespace tiles;
using namespace gla_tc;

using BlockTiles = WarpTiles<kWarps, 1>;  // a 16 × Kp block of dq or dk: Kp/16 ≤ 8 tiles, one per warp
using ChunkTiles = WarpTiles<kWarps, 4>;  // dv, 64 × Vp: up to 32 tiles

// Shared-memory plan of gla_dq_tc and gla_dk_tc, in floats, after the log-decays (kRows × Kp).
// dq keeps k, dO and S_c (rescaled to e^{r} ⊙ S_c); dk keeps q, v and dS̄ (rescaled to e^{b_{L-1} − r'} ⊙ dS̄).
// `other` holds the value-side rows dA needs besides (v for dq, dO for dk), then the reference-scaled
// key-side rows of the off-diagonal product.
struct GradPlan {
  int64_t Kp, Vp;
  __host__ __device__ int64_t keys() const { return kRows * Kp; }
  __host__ __device__ int64_t values() const { return keys() + kRows * Kp; }
  __host__ __device__ int64_t state() const { return values() + kRows * Vp; }  // Kp × Vp
  __host__ __device__ int64_t da() const { return state() + Kp * Vp; }         // kRows × kRows
  __host__ __device__ int64_t other() const { return da() + kRows * kRows; }
  __host__ __device__ int64_t stage() const { return other() + kRows * at_least(Kp, Vp); }  // a 16×16 tile per warp
  __host__ __device__ int64_t floats() const { return stage() + kWarps * kTile * kTile; }
};
// gla_dv_tc's: q and the scores' scratch, which dS̄ (Kp × Vp) takes over once A is built; k (then K̂
// in place); A; the row block's X; dO; the bonus's q·u·k per row; the stage.
struct DvPlan {
  int64_t Kp, Vp;
  __host__ __device__ int64_t q() const { return kRows * Kp; }
  __host__ __device__ int64_t kref() const { return q() + kRows * Kp; }
  __host__ __device__ int64_t state() const { return q(); }
  __host__ __device__ int64_t k() const { return q() + at_least(2 * kRows * Kp, Kp * Vp); }
  __host__ __device__ int64_t a() const { return k() + kRows * Kp; }
  __host__ __device__ int64_t x() const { return a() + kRows * kRows; }
  __host__ __device__ int64_t dout() const { return x() + kBlockRows * Kp; }
  __host__ __device__ int64_t qku() const { return dout() + kRows * Vp; }
  __host__ __device__ int64_t stage() const { return qku() + kRows; }
  __host__ __device__ int64_t floats() const { return stage() + kWarps * kTile * kTile; }
};

// rows × cols of `m` (ld cols): row d ← row d · e^{to[d] − from[d]} (from null: 0).
__device__ inline void rescale_rows(float* m, int64_t rows, int64_t cols, const float* to, const float* from) {
  for (int64_t e = threadIdx.x; e < rows * cols; e += blockDim.x) {
    const int64_t d = e / cols;
    m[e] *= dexp(to[d] - (from ? from[d] : 0.0f));
  }
}

// dq of every chunk (without the bonus's term), and zq = q ⊙ (dq without its pair at distance zero).
__global__ void gla_dq_tc_kernel(GlaShape s, int64_t nc, bool bonus, const float* q, const float* k, const float* v,
                                 const float* g, const float* dout, const float* states, float* dq, float* zq) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
  float* sh = aligned_shared();
  const int64_t K = s.dk, V = s.dv, Kp = round_up(K, kTile), Vp = round_up(V, kTile);
  const GradPlan plan{Kp, Vp};
  const GlaDecays dec{sh, Kp, bonus};
  float* ks = sh + plan.keys();
  float* dos = sh + plan.values();
  float* S = sh + plan.state();
  float* dA = sh + plan.da();
  float* vs = sh + plan.other();
  float* kref = vs;  // once dA is formed
  float* stage = sh + plan.stage() + (threadIdx.x / 32) * kTile * kTile;
  const unsigned lk = static_cast<unsigned>(Kp), lv = static_cast<unsigned>(Vp);
  const int64_t shift = bonus ? 1 : 0;  // how far before output i its write at distance zero lies
  const GlaIndex at{s.seqlen, s.heads, K, V};
  for (int64_t bhc = blockIdx.x; bhc < s.batch * s.heads * nc; bhc += gridDim.x) {
    const GlaChunk ch = gla_chunk(s, nc, bhc);
    dec.load(s, at, ch, g);
    load_key_rows(ks, at, ch, k);
    load_value_rows(dos, at, ch, dout);
    load_value_rows(vs, at, ch, v);
    load_state(S, at, bhc, states);
    __syncthreads();
    product_to_shared<kWarps, wmma::row_major, wmma::col_major>(dA, kRows, kRows, dos, lv, vs, lv, Vp);  // dO·Vᵀ
    __syncthreads();
    const float* prev_ref = nullptr;
    for (int64_t i0 = 0; i0 < ch.len; i0 += kBlockRows) {
      const float* ref = i0 > 0 ? dec.cum + (i0 - 1) * Kp : nullptr;  // r = b_{I0-1}; none (0) for the first block
      const int64_t pairwise_from = at_least(0, i0 - shift);  // the writes taken pair by pair
      if (ref) {
        rescale_rows(S, Kp, Vp, ref, prev_ref);  // S = e^{r} ⊙ S_c
        fill_padded(kref, i0, Kp, pairwise_from, K,
                    [&](int64_t j, int64_t d) { return ks[j * Kp + d] * dexp(ref[d] - dec.at(j, d)); });
      }
      __syncthreads();
      BlockTiles acc(Kp / kTile, Kp / kTile);
      acc.zero();
      acc.mma<wmma::row_major, wmma::col_major>(dos + i0 * Vp, lv, S, lv, Vp);  // dO_I·(e^r ⊙ S_c)ᵀ
      if (ref) acc.mma<wmma::row_major, wmma::row_major>(dA + i0 * kRows, kRows, kref, lk, i0);  // the steps before I
      acc.for_each_element(stage, [&](int64_t r, int64_t d, float value) {
        const int64_t i = i0 + r;
        if (i >= ch.len || d >= K) return;
        const float p = dec.read(i, d);
        float spanning = dexp(p - (ref ? ref[d] : 0.0f)) * value, zero = 0;
        for (int64_t j = pairwise_from; j <= i; ++j) {
          if (!dec.reads(i, j)) continue;
          const float term = dA[i * kRows + j] * ks[j * Kp + d] * dexp(p - dec.at(j, d));
          (j == i - shift ? zero : spanning) += term;
        }
        const int64_t ki = at.key(ch.b, ch.t0 + i, ch.h) + d;
        dq[ki] = spanning + zero;
        zq[ki] = q[ki] * spanning;
      });
      __syncthreads();  // before S is rescaled and kref refilled
      prev_ref = ref;
    }
  }
#endif
}

// dk of every chunk (without the bonus's term); zk = k ⊙ (dk's intra-chunk part without its pair at
// distance zero); and wstate = k ⊙ dk's state part, the weight of S̄ ← write j. Column blocks last
// to first, so that the rescaled dS̄ only ever shrinks.
__global__ void gla_dk_tc_kernel(GlaShape s, int64_t nc, bool bonus, const float* q, const float* k, const float* v,
                                 const float* g, const float* dout, const float* dstates, float* dk, float* zk,
                                 float* wstate) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
  float* sh = aligned_shared();
  const int64_t K = s.dk, V = s.dv, Kp = round_up(K, kTile), Vp = round_up(V, kTile);
  const GradPlan plan{Kp, Vp};
  const GlaDecays dec{sh, Kp, bonus};
  float* qs = sh + plan.keys();
  float* vs = sh + plan.values();
  float* dS = sh + plan.state();
  float* dA = sh + plan.da();
  float* dos = sh + plan.other();
  float* qref = dos;          // once dA is formed
  float* state_part = qref;   // once the block's products are done: V_J·(rescaled dS̄)ᵀ, 16 × Kp
  float* stage = sh + plan.stage() + (threadIdx.x / 32) * kTile * kTile;
  const unsigned lk = static_cast<unsigned>(Kp), lv = static_cast<unsigned>(Vp);
  const int64_t shift = bonus ? 1 : 0;  // how far after write j the output at distance zero lies
  const GlaIndex at{s.seqlen, s.heads, K, V};
  for (int64_t bhc = blockIdx.x; bhc < s.batch * s.heads * nc; bhc += gridDim.x) {
    const GlaChunk ch = gla_chunk(s, nc, bhc);
    dec.load(s, at, ch, g);
    load_key_rows(qs, at, ch, q);
    load_value_rows(vs, at, ch, v);
    load_value_rows(dos, at, ch, dout);
    load_state(dS, at, bhc, dstates);
    __syncthreads();
    product_to_shared<kWarps, wmma::row_major, wmma::col_major>(dA, kRows, kRows, dos, lv, vs, lv, Vp);  // dO·Vᵀ
    __syncthreads();
    const float* prev_ref = dec.cum + (ch.len - 1) * Kp;  // b_{L-1}: dS̄ as it is
    for (int64_t j0 = (ch.len - 1) / kBlockRows * kBlockRows; j0 >= 0; j0 -= kBlockRows) {
      const int64_t j1 = min(j0 + kBlockRows, ch.len) - 1, after = j0 + kBlockRows;  // last step, first row after
      const int64_t pairwise_to = min(j1 + shift, ch.len - 1);  // the outputs taken pair by pair
      const float* ref = dec.cum + j1 * Kp;                       // r' = b_{J1}
      if (ref != prev_ref) rescale_rows(dS, Kp, Vp, prev_ref, ref);  // dS = e^{b_{L-1} − r'} ⊙ dS̄
      if (after < ch.len) {
        fill_padded(qref, kRows - after, Kp, ch.len - after, K, [&](int64_t r, int64_t d) {
          return after + r <= pairwise_to ? 0.0f : qs[(after + r) * Kp + d] * dexp(dec.read(after + r, d) - ref[d]);
        });
      }
      __syncthreads();
      BlockTiles state(Kp / kTile, Kp / kTile), intra(Kp / kTile, Kp / kTile);
      state.zero();
      state.mma<wmma::row_major, wmma::col_major>(vs + j0 * Vp, lv, dS, lv, Vp);  // V_J·(rescaled dS̄)ᵀ
      intra.zero();
      if (after < ch.len) {  // dA_{>J,J}ᵀ·(q ⊙ e^{p − r'}): operand (j, i) at dA[i·kRows + j]
        intra.mma<wmma::col_major, wmma::row_major>(dA + after * kRows + j0, kRows, qref, lk, kRows - after);
      }
      __syncthreads();  // qref is read: the state part goes there
      state.store(state_part, lk);
      __syncthreads();
      intra.for_each_element(stage, [&](int64_t r, int64_t d, float value) {
        const int64_t j = j0 + r;
        if (j >= ch.len || d >= K) return;
        const float bj = dec.at(j, d), to_j = dexp(ref[d] - bj);
        float spanning = to_j * value, zero = 0;
        for (int64_t i = j; i <= pairwise_to; ++i) {
          if (!dec.reads(i, j)) continue;
          const float term = dA[i * kRows + j] * qs[i * Kp + d] * dexp(dec.read(i, d) - bj);
          (i == j + shift ? zero : spanning) += term;
        }
        const float from_state = to_j * state_part[r * Kp + d];
        const int64_t kj = at.key(ch.b, ch.t0 + j, ch.h) + d;
        dk[kj] = from_state + spanning + zero;
        zk[kj] = k[kj] * spanning;
        wstate[kj] = k[kj] * from_state;
      });
      __syncthreads();  // before dS is rescaled and qref refilled
      prev_ref = ref;
    }
  }
#endif
}

// dv of every chunk, the bonus's term included.
__global__ void gla_dv_tc_kernel(GlaShape s, int64_t nc, bool bonus, const float* q, const float* k, const float* g,
                                 const float* u, const float* dout, const float* dstates, float* dv) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
  float* sh = aligned_shared();
  const int64_t K = s.dk, V = s.dv, Kp = round_up(K, kTile), Vp = round_up(V, kTile);
  const DvPlan plan{Kp, Vp};
  const GlaDecays dec{sh, Kp, bonus};
  float* qs = sh + plan.q();
  float* kref = sh + plan.kref();
  float* dS = sh + plan.state();  // once A is built
  float* ks = sh + plan.k();
  float* A = sh + plan.a();
  float* X = sh + plan.x();
  float* dos = sh + plan.dout();
  float* qku = sh + plan.qku();
  float* stage = sh + plan.stage() + (threadIdx.x / 32) * kTile * kTile;
  const unsigned lk = static_cast<unsigned>(Kp), lv = static_cast<unsigned>(Vp);
  const int lane = threadIdx.x % 32;
  const GlaIndex at{s.seqlen, s.heads, K, V};
  for (int64_t bhc = blockIdx.x; bhc < s.batch * s.heads * nc; bhc += gridDim.x) {
    const GlaChunk ch = gla_chunk(s, nc, bhc);
    dec.load(s, at, ch, g);
    load_key_rows(qs, at, ch, q);
    load_key_rows(ks, at, ch, k);
    __syncthreads();
    gla_chunk_scores(dec, K, ch.len, qs, ks, X, kref, A);
    for (int64_t i = threadIdx.x / 32; bonus && i < ch.len; i += kWarps) {  // q_i·u·k_i, a warp per row
      float part = 0;
      for (int64_t d = lane; d < K; d += 32) part += qs[i * Kp + d] * u[ch.h * K + d] * ks[i * Kp + d];
      part = warp_sum(part);
      if (lane == 0) qku[i] = part;
    }
    __syncthreads();  // q and kref are done with: dS̄ takes their place
    const float* last = dec.cum + (ch.len - 1) * Kp;
    load_state(dS, at, bhc, dstates);
    fill_padded(ks, kRows, Kp, ch.len, K, [&](int64_t j, int64_t d) { return ks[j * Kp + d] * dexp(last[d] - dec.at(j, d)); });
    load_value_rows(dos, at, ch, dout);
    __syncthreads();
    ChunkTiles acc(4 * (Vp / kTile), Vp / kTile);
    acc.zero();
    acc.mma<wmma::col_major, wmma::row_major>(A, kRows, dos, lv, kRows);  // Aᵀ·dO
    acc.mma<wmma::row_major, wmma::row_major>(ks, lk, dS, lv, Kp);      // K̂·dS̄
    acc.for_each_element(stage, [&](int64_t j, int64_t e, float value) {
      if (j < ch.len && e < V) dv[at.value(ch.b, ch.t0 + j, ch.h) + e] = value + (bonus ? qku[j] * dos[j * Vp + e] : 0.0f);
    });
    __syncthreads();  // before the next chunk reloads the shared arrays
  }
#endif
}

// Per chunk, a thread per key channel walking the chunk's steps (header):
//   dg_s = e^{b_{L-1}} ⊙ rowsum(S_c ⊙ dS̄) + Σ_{j<s} wstate_j + Σ_{i≥s} (zq_{i'} − zk_i)
// then the bonus's terms of dq and dk (u ⊙ k_i and u ⊙ q_i times v_i·do_i) and the chunk's row of du,
// du_rows[((b·nc + c)·H + h)·K + d].
__global__ void gla_finish_kernel(GlaShape s, int64_t nc, bool bonus, const float* q, const float* k, const float* v,
                                  const float* u, const float* dout, const float* states, const float* dstates,
                                  const float* decay, const float* zq, const float* zk, const float* wstate, float* dq,
                                  float* dk, float* dg, float* du_rows) {
  __shared__ float from_start[128];  // rowsum(S_c ⊙ dS̄), K ≤ 128
  __shared__ float vdo[kRows];       // v_i·do_i
  const int64_t K = s.dk, V = s.dv, KV = K * V;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const GlaIndex at{s.seqlen, s.heads, K, V};
  for (int64_t bhc = blockIdx.x; bhc < s.batch * s.heads * nc; bhc += gridDim.x) {
    const GlaChunk ch = gla_chunk(s, nc, bhc);
    const float* start = states + bhc * KV;    // S_c
    const float* dhanded = dstates + bhc * KV;  // dS̄
    for (int64_t d = warp; d < K; d += kWarps) {
      float part = 0;
      for (int64_t e = lane; e < V; e += 32) part += start[d * V + e] * dhanded[d * V + e];
      part = warp_sum(part);
      if (lane == 0) from_start[d] = part;
    }
    for (int64_t i = warp; bonus && i < ch.len; i += kWarps) {
      float part = 0;
      const int64_t vi = at.value(ch.b, ch.t0 + i, ch.h);
      for (int64_t e = lane; e < V; e += 32) part += v[vi + e] * dout[vi + e];
      part = warp_sum(part);
      if (lane == 0) vdo[i] = part;
    }
    __syncthreads();
    for (int64_t d = threadIdx.x; d < K; d += blockDim.x) {
      const auto key = [&](int64_t i) { return at.key(ch.b, ch.t0 + i, ch.h) + d; };
      float run = decay[bhc * K + d] * from_start[d];  // S̄ ← S_c spans every step
      for (int64_t i = 0; i < ch.len; ++i) {           // S̄ ← write j spans the steps after j
        dg[key(i)] = run;
        run += wstate[key(i)];
      }
      run = 0;
      for (int64_t i = ch.len - 1; i >= 0; --i) {  // the outputs' pairs, as a reverse sum
        const float zq_reader = bonus ? (i + 1 < ch.len ? zq[key(i + 1)] : 0.0f) : zq[key(i)];
        run += zq_reader - zk[key(i)];
        dg[key(i)] += run;
      }
      if (!bonus) continue;
      float du_sum = 0;
      const float ud = u[ch.h * K + d];
      for (int64_t i = 0; i < ch.len; ++i) {
        const int64_t ki = key(i);
        dq[ki] += ud * k[ki] * vdo[i];
        dk[ki] += ud * q[ki] * vdo[i];
        du_sum += q[ki] * k[ki] * vdo[i];
      }
      du_rows[((ch.b * nc + ch.c) * s.heads + ch.h) * K + d] = du_sum;
    }
    __syncthreads();  // before the next chunk rewrites from_start and vdo
  }
}

// du[h, d] = Σ over (batch, chunk) rows of du_rows.
struct GlaDuRows {
  const float* rows;
  int64_t HK;
  __device__ float operator()(int64_t r, int64_t j) const { return rows[r * HK + j]; }
};

size_t grad_bytes(const GlaShape& s) {
  return GradPlan{round_up(s.dk, kTile), round_up(s.dv, kTile)}.floats() * sizeof(float) + 32;
}
size_t dv_bytes(const GlaShape& s) {
  return DvPlan{round_up(s.dk, kTile), round_up(s.dv, kTile)}.floats() * sizeof(float) + 32;
}

}  // namespace

bool gla_backward_tc_applies(const GlaShape& s) {
  const size_t limit = static_cast<size_t>(max_shared_per_block());
  return gla_chunk_sums_fit(s) && grad_bytes(s) <= limit && dv_bytes(s) <= limit;
}

bool gla_backward_tc(const GlaShape& s, bool bonus, const float* q, const float* k, const float* v, const float* g,
                     const float* u, const float* h0, const float* dout, const float* dhT, float* dq, float* dk,
                     float* dv, float* dg, float* du, float* dh0) {
  if (!gla_backward_tc_applies(s)) return false;
  const char* op = "gla_backward";
  const int64_t BH = s.batch * s.heads, KV = s.dk * s.dv, nc = chunks_of(s.seqlen), keys = BH * s.seqlen * s.dk;
  Tensor states = scratch(BH * nc * KV, Dtype::f32), dstates = scratch(BH * nc * KV, Dtype::f32);
  Tensor decay = scratch(BH * nc * s.dk, Dtype::f32), hT = scratch(BH * KV, Dtype::f32);
  Tensor zq = scratch(keys, Dtype::f32), zk = scratch(keys, Dtype::f32), wstate = scratch(keys, Dtype::f32);
  Tensor du_rows = scratch(BH * nc * s.dk, Dtype::f32);
  gla_chunk_states_tc(s, k, v, g, h0, ptr<float>(states), ptr<float>(decay), ptr<float>(hT), op);
  gla_chunk_state_grads_tc(s, bonus, q, dout, g, dhT, ptr<float>(dstates), ptr<float>(decay), dh0, op);
  if (BH * nc > 0) {
    const unsigned grid = grid_for_rows(BH * nc);
    const size_t gb = grad_bytes(s), vb = dv_bytes(s);
    allow_dynamic_shared(gla_dq_tc_kernel, gb, op);
    SSM_CUDA_LAUNCH(op, gla_dq_tc_kernel, grid, kThreads, gb, s, nc, bonus, q, k, v, g, dout, ptr<const float>(states),
                    dq, ptr<float>(zq));
    allow_dynamic_shared(gla_dk_tc_kernel, gb, op);
    SSM_CUDA_LAUNCH(op, gla_dk_tc_kernel, grid, kThreads, gb, s, nc, bonus, q, k, v, g, dout, ptr<const float>(dstates),
                    dk, ptr<float>(zk), ptr<float>(wstate));
    allow_dynamic_shared(gla_dv_tc_kernel, vb, op);
    SSM_CUDA_LAUNCH(op, gla_dv_tc_kernel, grid, kThreads, vb, s, nc, bonus, q, k, g, u, dout, ptr<const float>(dstates),
                    dv);
    SSM_CUDA_LAUNCH(op, gla_finish_kernel, grid, kThreads, 0, s, nc, bonus, q, k, v, u, dout, ptr<const float>(states),
                    ptr<const float>(dstates), ptr<const float>(decay), ptr<const float>(zq), ptr<const float>(zk),
                    ptr<const float>(wstate), dq, dk, dg, ptr<float>(du_rows));
  }
  if (bonus) column_sums(op, GlaDuRows{ptr<const float>(du_rows), s.heads * s.dk}, s.batch * nc, s.heads * s.dk, du);
  return true;
}

}  // namespace ssm::cuda
