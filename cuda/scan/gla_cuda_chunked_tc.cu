// cuda/scan/gla_cuda_chunked_tc.cu — version 2 of the gated-linear-attention forward (ops/kernel_versions.h,
// docs/kernels.md): the chunked form of docs/scans.md with its matrix products on the tensor cores (tf32
// operands, fp32 accumulation; cuda/wmma_tiles.cuh). Version 1 (cuda/scan/gla_cuda_recurrent.cu) walks
// the T steps one at a time. Chunks of L ≤ 64 steps; per key channel d, b_i = Σ_{s≤i} g_s (the running
// log-decay from the chunk start through step i, ≤ 0), and p(i) the decay an output reads: b_i after
// its own write (post_update), b_{i-1} before it (pre_update_bonus; b_{-1} = 0):
//   S_{c+1} = diag(e^{b_{L-1}})·S_c + K̂ᵀ·V,            K̂_j = k_j ⊙ e^{b_{L-1} − b_j}
//   o_i     = (q_i ⊙ e^{p(i)})·S_c + Σ_j A_ij·v_j  (+ (q_i·u·k_i)·v_i with the bonus)
//   A_ij    = Σ_d q_i[d]·k_j[d]·e^{p(i)[d] − b_j[d]}    for j ≤ i (post) or j < i (pre)
// Every exponent above is ≤ 0, so nothing overflows however strongly a step decays (an RWKV-6 step
// can decay by e^-50). A is not a plain product: its decay depends on both i and j per key channel.
// Splitting it as (q_i ⊙ e^{p(i)})·(k_j ⊙ e^{−b_j}) would overflow; instead the rows are taken in
// blocks I of 16 with the reference r = b_{I0−1} (the decay through the step before the block), so
// for every j before the block both factors have exponents ≤ 0:
//   A_Ij = (q_i ⊙ e^{p(i) − r})·(k_j ⊙ e^{r − b_j})ᵀ     a 16×64 product on the tensor cores
// and the 16×16 blocks on the diagonal are formed pair by pair on the CUDA cores. (The split of
// flash-linear-attention's chunk kernels, written for this layout.)
// Kernels: gla_chunk_sums_tc (K̂ᵀ·V and e^{b_{L-1}} per chunk), gla_pass_states (the state entering
// every chunk, in order: a sequential pass over chunks, element by element), gla_chunk_output_tc
// (o). The backward's version 2 (cuda/scan/gla_cuda_chunked_backward_tc.cu) reruns the first two, and
// runs them mirrored for the state gradients: the chunk sums (q ⊙ e^{p})ᵀ·dO and
// gla_pass_state_grads, chunks last to first. The pieces of one chunk both directions use are in
// cuda/scan/gla_cuda_chunk_tc.cuh. Version 2 takes f32 with K, V <= 128 whose tiles fit in the
// shared memory of a block; version 1 runs otherwise.
#include "cuda/cuda_backend.h"     // defines: GlaShape
#include "cuda/device.h"           // defines: max_shared_per_block
#include "cuda/kernel_util.cuh"    // defines: scratch, allow_dynamic_shared, grid_for_rows, dexp
#include "cuda/scan/gla_cuda.cuh"  // defines: GlaIndex, GlaChunkSum, gla_forward_tc, gla_chunk_states_tc
#include "cuda/scan/gla_cuda_chunk_tc.cuh"  // defines: GlaChunk, GlaDecays, gla_chunk_scores, kRows, kWarps
#include "cuda/wmma_tiles.cuh"     // defines: WarpTiles, aligned_shared, fill_padded

namespace ssm::cuda {
namespace {

using namespace tiles;
using namespace gla_tc;

constexpr int kTilesPerWarp = 8;  // 8 warps x 8 tiles: a 128 x 128 state, a 64 x 128 output
using Tiles = WarpTiles<kWarps, kTilesPerWarp>;

// Shared-memory plans, in floats.
struct SumsPlan {
  int64_t Kp, Vp;
  __host__ __device__ int64_t left() const { return kRows * Kp; }  // after cum
  __host__ __device__ int64_t right() const { return left() + kRows * Kp; }
  __host__ __device__ int64_t stage() const { return right() + kRows * Vp; }  // a 16×16 tile per warp
  __host__ __device__ int64_t floats() const { return stage() + kWarps * kTile * kTile; }
};
struct OutputPlan {
  int64_t Kp, Vp;
  __host__ __device__ int64_t q() const { return kRows * Kp; }  // after cum
  __host__ __device__ int64_t k() const { return q() + kRows * Kp; }
  // X: q ⊙ e^{p} (64 × Kp), then a row block's q ⊙ e^{p − r} (16 × Kp) and A (64 × 64)
  __host__ __device__ int64_t x() const { return k() + kRows * Kp; }
  __host__ __device__ int64_t y() const {  // Y: S_c (Kp × Vp), then v (64 × Vp) and k ⊙ e^{r − b} (64 × Kp)
    return x() + at_least(kRows * Kp, kBlockRows * Kp + kRows * kRows);
  }
  __host__ __device__ int64_t floats() const { return y() + at_least(Kp * Vp, kRows * Vp + kRows * Kp); }
};

// Per chunk, a sum of outer products over its steps, local[bhc] (K × V), and decay[bhc·K + d] = e^{b_{L-1}[d]}:
//   inputs:        K̂ᵀ·V with K̂_j = k_j ⊙ e^{b_{L-1} − b_j}   (what the chunk adds to the state it hands on)
//   output_grads:  Q̃ᵀ·dO with Q̃_i = q_i ⊙ e^{p(i)}          (what its outputs send back to the state entering it)
// `keys` is k or q, `values` v or dO.
__global__ void gla_chunk_sums_tc_kernel(GlaShape s, int64_t nc, GlaChunkSum what, bool bonus, const float* keys,
                                         const float* values, const float* g, float* local, float* decay) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
  float* sh = aligned_shared();
  const int64_t K = s.dk, V = s.dv, Kp = round_up(K, kTile), Vp = round_up(V, kTile);
  const SumsPlan plan{Kp, Vp};
  const GlaDecays dec{sh, Kp, bonus};
  float* left = sh + plan.left();
  float* right = sh + plan.right();
  const int warp = threadIdx.x / 32;
  float* stage = sh + plan.stage() + warp * kTile * kTile;
  const GlaIndex at{s.seqlen, s.heads, K, V};
  const int64_t tiles_n = Vp / kTile, tiles = (Kp / kTile) * tiles_n;
  for (int64_t bhc = blockIdx.x; bhc < s.batch * s.heads * nc; bhc += gridDim.x) {
    const GlaChunk ch = gla_chunk(s, nc, bhc);
    dec.load(s, at, ch, g);
    const float* last = dec.cum + (ch.len - 1) * Kp;
    fill_padded(left, kRows, Kp, ch.len, K, [&](int64_t j, int64_t d) {
      const float x = keys[at.key(ch.b, ch.t0 + j, ch.h) + d];
      return what == GlaChunkSum::inputs ? x * dexp(last[d] - dec.at(j, d)) : x * dexp(dec.read(j, d));
    });
    load_value_rows(right, at, ch, values);
    for (int64_t d = threadIdx.x; d < K; d += blockDim.x) decay[bhc * K + d] = dexp(last[d]);
    __syncthreads();
    Tiles sum(tiles, tiles_n);
    sum.zero();
    sum.mma<wmma::col_major, wmma::row_major>(left, static_cast<unsigned>(Kp), right, static_cast<unsigned>(Vp),
                                              kRows);
    sum.for_each_element(stage, [&](int64_t d, int64_t e, float value) {
      if (d < K && e < V) local[bhc * K * V + d * V + e] = value;
    });
    __syncthreads();  // before the next chunk reloads the shared arrays
  }
#endif
}

// In place, chunks in order: states[c] ← the state entering chunk c (from h0, may be null); hT ← the
// state after the last chunk. One thread per state element.
__global__ void gla_pass_states_kernel(GlaShape s, int64_t nc, const float* h0, const float* decay, float* states,
                                       float* hT) {
  const int64_t K = s.dk, KV = s.dk * s.dv;
  for (int64_t bh = blockIdx.x; bh < s.batch * s.heads; bh += gridDim.x) {
    for (int64_t e = threadIdx.x; e < KV; e += blockDim.x) {
      float running = h0 ? h0[bh * KV + e] : 0.0f;
      for (int64_t c = 0; c < nc; ++c) {
        const int64_t at = (bh * nc + c) * KV + e;
        const float here = states[at];
        states[at] = running;
        running = decay[(bh * nc + c) * K + e / s.dv] * running + here;
      }
      hT[bh * KV + e] = running;
    }
  }
}

// The mirror image, chunks last to first: dstates[c] ← the gradient of the state chunk c hands on (from
// dhT, may be null), then ← e^{b_{L-1}}·that + the chunk's own Q̃ᵀ·dO on the way to the state entering it;
// dh0 (may be null) ← the gradient of the state entering the first chunk.
__global__ void gla_pass_state_grads_kernel(GlaShape s, int64_t nc, const float* dhT, const float* decay,
                                            float* dstates, float* dh0) {
  const int64_t K = s.dk, KV = s.dk * s.dv;
  for (int64_t bh = blockIdx.x; bh < s.batch * s.heads; bh += gridDim.x) {
    for (int64_t e = threadIdx.x; e < KV; e += blockDim.x) {
      float running = dhT ? dhT[bh * KV + e] : 0.0f;
      for (int64_t c = nc - 1; c >= 0; --c) {
        const int64_t at = (bh * nc + c) * KV + e;
        const float here = dstates[at];
        dstates[at] = running;
        running = decay[(bh * nc + c) * K + e / s.dv] * running + here;
      }
      if (dh0) dh0[bh * KV + e] = running;
    }
  }
}

// o of every chunk: (q ⊙ e^{p})·S_c + A·V (+ the bonus).
__global__ void gla_chunk_output_tc_kernel(GlaShape s, int64_t nc, bool bonus, const float* q, const float* k,
                                           const float* v, const float* g, const float* u, const float* states,
                                           float* o) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
  float* sh = aligned_shared();
  const int64_t K = s.dk, V = s.dv, Kp = round_up(K, kTile), Vp = round_up(V, kTile);
  const OutputPlan plan{Kp, Vp};
  const GlaDecays dec{sh, Kp, bonus};
  float* qs = sh + plan.q();
  float* ks = sh + plan.k();
  float* X = sh + plan.x();
  float* Y = sh + plan.y();
  float* A = X + kBlockRows * Kp;  // after a row block's q ⊙ e^{p − r}
  float* kref = Y + kRows * Vp;    // after v
  const unsigned lk = static_cast<unsigned>(Kp), lv = static_cast<unsigned>(Vp);
  const GlaIndex at{s.seqlen, s.heads, K, V};
  for (int64_t bhc = blockIdx.x; bhc < s.batch * s.heads * nc; bhc += gridDim.x) {
    const GlaChunk ch = gla_chunk(s, nc, bhc);
    dec.load(s, at, ch, g);
    load_key_rows(qs, at, ch, q);
    load_key_rows(ks, at, ch, k);
    load_state(Y, at, bhc, states);
    __syncthreads();
    fill_padded(X, kRows, Kp, ch.len, K, [&](int64_t i, int64_t d) { return qs[i * Kp + d] * dexp(dec.read(i, d)); });
    __syncthreads();

    Tiles out(4 * (Vp / kTile), Vp / kTile);  // o ← (q ⊙ e^{p})·S_c
    out.zero();
    out.mma<wmma::row_major, wmma::row_major>(X, lk, Y, lv, Kp);
    __syncthreads();  // S_c and X are no longer read
    load_value_rows(Y, at, ch, v);
    gla_chunk_scores(dec, K, ch.len, qs, ks, X, kref, A);
    out.mma<wmma::row_major, wmma::row_major>(A, kRows, Y, lv, kRows);  // o += A·V
    __syncthreads();
    out.store(Y, lv);
    __syncthreads();
    for (int64_t i = threadIdx.x / 32; i < ch.len; i += kWarps) {  // the bonus; a warp per row
      float qku = 0;  // every lane forms the whole sum: K terms, no shuffle needed
      if (bonus) {
        for (int64_t d = 0; d < K; ++d) qku += qs[i * Kp + d] * u[ch.h * K + d] * ks[i * Kp + d];
      }
      for (int64_t e = threadIdx.x % 32; e < V; e += 32) {
        const int64_t vi = at.value(ch.b, ch.t0 + i, ch.h) + e;
        o[vi] = Y[i * Vp + e] + (bonus ? qku * v[vi] : 0.0f);
      }
    }
    __syncthreads();  // before the next chunk reloads the shared arrays
  }
#endif
}

size_t sums_bytes(const GlaShape& s) {
  return SumsPlan{round_up(s.dk, kTile), round_up(s.dv, kTile)}.floats() * sizeof(float) + 32;
}
size_t output_bytes(const GlaShape& s) {
  return OutputPlan{round_up(s.dk, kTile), round_up(s.dv, kTile)}.floats() * sizeof(float) + 32;
}

void launch_chunk_sums(const GlaShape& s, int64_t nc, GlaChunkSum what, bool bonus, const float* keys,
                       const float* values, const float* g, float* local, float* decay, const char* op) {
  if (nc == 0) return;
  const size_t bytes = sums_bytes(s);
  allow_dynamic_shared(gla_chunk_sums_tc_kernel, bytes, op);
  SSM_CUDA_LAUNCH(op, gla_chunk_sums_tc_kernel, grid_for_rows(s.batch * s.heads * nc), kThreads, bytes, s, nc, what,
                  bonus, keys, values, g, local, decay);
}

}  // namespace

bool gla_chunk_sums_fit(const GlaShape& s) {
  return s.dk <= 128 && s.dv <= 128 && sums_bytes(s) <= static_cast<size_t>(max_shared_per_block());
}

bool gla_forward_tc_applies(const GlaShape& s) {
  return gla_chunk_sums_fit(s) && output_bytes(s) <= static_cast<size_t>(max_shared_per_block());
}

void gla_chunk_states_tc(const GlaShape& s, const float* k, const float* v, const float* g, const float* h0,
                         float* states, float* decay, float* hT, const char* op) {
  const int64_t nc = chunks_of(s.seqlen);
  launch_chunk_sums(s, nc, GlaChunkSum::inputs, false, k, v, g, states, decay, op);
  SSM_CUDA_LAUNCH(op, gla_pass_states_kernel, grid_for_rows(s.batch * s.heads), kThreads, 0, s, nc, h0, decay, states,
                  hT);
}

void gla_chunk_state_grads_tc(const GlaShape& s, bool bonus, const float* q, const float* dout, const float* g,
                              const float* dhT, float* dstates, float* decay, float* dh0, const char* op) {
  const int64_t nc = chunks_of(s.seqlen);
  launch_chunk_sums(s, nc, GlaChunkSum::output_grads, bonus, q, dout, g, dstates, decay, op);
  SSM_CUDA_LAUNCH(op, gla_pass_state_grads_kernel, grid_for_rows(s.batch * s.heads), kThreads, 0, s, nc, dhT, decay,
                  dstates, dh0);
}

bool gla_forward_tc(const GlaShape& s, bool bonus, const float* q, const float* k, const float* v, const float* g,
                    const float* u, const float* h0, float* o, float* hT) {
  if (!gla_forward_tc_applies(s)) return false;
  const int64_t BH = s.batch * s.heads, KV = s.dk * s.dv;
  if (BH == 0) return true;
  const int64_t nc = chunks_of(s.seqlen);
  Tensor states = scratch(BH * nc * KV, Dtype::f32), decay = scratch(BH * nc * s.dk, Dtype::f32);
  gla_chunk_states_tc(s, k, v, g, h0, ptr<float>(states), ptr<float>(decay), hT, "gla_forward");
  if (nc > 0) {
    const size_t bytes = output_bytes(s);
    allow_dynamic_shared(gla_chunk_output_tc_kernel, bytes, "gla_forward");
    SSM_CUDA_LAUNCH("gla_forward", gla_chunk_output_tc_kernel, grid_for_rows(BH * nc), kThreads, bytes, s, nc, bonus, q,
                    k, v, g, u, ptr<const float>(states), o);
  }
  return true;
}

}  // namespace ssm::cuda
