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
// (o). The backward is version 1's for either version of the forward. Version 2 takes f32 with
// K, V <= 128 whose tiles fit in the shared memory of a block; version 1 runs otherwise.
#include <algorithm>

#include "cuda/cuda_backend.h"     // defines: GlaShape
#include "cuda/device.h"           // defines: max_shared_per_block
#include "cuda/kernel_util.cuh"    // defines: scratch, allow_dynamic_shared, grid_for_rows, dexp
#include "cuda/scan/gla_cuda.cuh"  // defines: GlaIndex, gla_forward_tc, gla_forward_tc_applies
#include "cuda/wmma_tiles.cuh"     // defines: WarpTiles, product_to_shared, aligned_shared, fill_padded

namespace ssm::cuda {
namespace {

using namespace tiles;

constexpr int kRows = 64;   // steps of a chunk
constexpr int kBlockRows = 16;  // the row blocks of A
constexpr int kWarps = 8;
constexpr int kThreads = 32 * kWarps;
constexpr int kTilesPerWarp = 8;  // 8 warps x 8 tiles: a 128 x 128 state, a 64 x 128 output
using Tiles = WarpTiles<kWarps, kTilesPerWarp>;
static_assert(kThreads == kBlockRows * kBlockRows, "the diagonal blocks of A take one thread per (i, j)");

__host__ __device__ constexpr int64_t at_least(int64_t a, int64_t b) { return a > b ? a : b; }

// Chunk bhc = (b·H + h)·nc + c: its first step and length.
struct GlaChunk {
  int64_t b, h, t0, len;
};
__device__ inline GlaChunk gla_chunk(const GlaShape& s, int64_t nc, int64_t bhc) {
  const int64_t c = bhc % nc, bh = bhc / nc;
  return {bh / s.heads, bh % s.heads, c * kRows, min(int64_t{kRows}, s.seqlen - c * kRows)};
}

// cum[i·Kp + d] = b_i[d] for i < len, d < K (0 elsewhere): a running sum per key channel, in order.
__device__ void load_log_decays(const GlaShape& s, const GlaIndex& at, const GlaChunk& ch, const float* g, float* cum,
                                int64_t Kp) {
  fill_padded(cum, kRows, Kp, 0, 0, [](int64_t, int64_t) { return 0.0f; });
  __syncthreads();
  for (int64_t d = threadIdx.x; d < s.dk; d += blockDim.x) {
    float run = 0;
    for (int64_t i = 0; i < ch.len; ++i) cum[i * Kp + d] = (run += g[at.key(ch.b, ch.t0 + i, ch.h) + d]);
  }
  __syncthreads();
}

// Shared-memory plans, in floats.
struct SumsPlan {
  int64_t Kp, Vp;
  __host__ __device__ int64_t khat() const { return kRows * Kp; }       // after cum
  __host__ __device__ int64_t v() const { return khat() + kRows * Kp; }
  __host__ __device__ int64_t stage() const { return v() + kRows * Vp; }  // a 16×16 tile per warp
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

// Per chunk: local[bhc] = K̂ᵀ·V (K × V) and decay[bhc·K + d] = e^{b_{L-1}[d]}.
__global__ void gla_chunk_sums_tc_kernel(GlaShape s, int64_t nc, const float* k, const float* v, const float* g,
                                         float* local, float* decay) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
  float* sh = aligned_shared();
  const int64_t K = s.dk, V = s.dv, Kp = round_up(K, kTile), Vp = round_up(V, kTile);
  const SumsPlan plan{Kp, Vp};
  float* cum = sh;
  float* khat = sh + plan.khat();
  float* vs = sh + plan.v();
  const int warp = threadIdx.x / 32;
  float* stage = sh + plan.stage() + warp * kTile * kTile;
  const GlaIndex at{s.seqlen, s.heads, K, V};
  const int64_t tiles_n = Vp / kTile, tiles = (Kp / kTile) * tiles_n;
  for (int64_t bhc = blockIdx.x; bhc < s.batch * s.heads * nc; bhc += gridDim.x) {
    const GlaChunk ch = gla_chunk(s, nc, bhc);
    load_log_decays(s, at, ch, g, cum, Kp);
    const float* last = cum + (ch.len - 1) * Kp;
    fill_padded(khat, kRows, Kp, ch.len, K, [&](int64_t j, int64_t d) {
      return k[at.key(ch.b, ch.t0 + j, ch.h) + d] * dexp(last[d] - cum[j * Kp + d]);
    });
    fill_padded(vs, kRows, Vp, ch.len, V, [&](int64_t j, int64_t e) { return v[at.value(ch.b, ch.t0 + j, ch.h) + e]; });
    for (int64_t d = threadIdx.x; d < K; d += blockDim.x) decay[bhc * K + d] = dexp(last[d]);
    __syncthreads();
    Tiles sum(tiles, tiles_n);
    sum.zero();
    sum.mma<wmma::col_major, wmma::row_major>(khat, static_cast<unsigned>(Kp), vs, static_cast<unsigned>(Vp), kRows);
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

// o of every chunk: (q ⊙ e^{p})·S_c + A·V (+ the bonus).
__global__ void gla_chunk_output_tc_kernel(GlaShape s, int64_t nc, bool bonus, const float* q, const float* k,
                                           const float* v, const float* g, const float* u, const float* states,
                                           float* o) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
  float* sh = aligned_shared();
  const int64_t K = s.dk, V = s.dv, Kp = round_up(K, kTile), Vp = round_up(V, kTile);
  const OutputPlan plan{Kp, Vp};
  float* cum = sh;
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
    load_log_decays(s, at, ch, g, cum, Kp);
    // p(i)[d]: the decay output i reads (0 before the first step with the bonus).
    const auto read_decay = [&](int64_t i, int64_t d) { return bonus ? (i > 0 ? cum[(i - 1) * Kp + d] : 0.0f) : cum[i * Kp + d]; };
    fill_padded(qs, kRows, Kp, ch.len, K, [&](int64_t i, int64_t d) { return q[at.key(ch.b, ch.t0 + i, ch.h) + d]; });
    fill_padded(ks, kRows, Kp, ch.len, K, [&](int64_t j, int64_t d) { return k[at.key(ch.b, ch.t0 + j, ch.h) + d]; });
    fill_padded(Y, Kp, Vp, K, V, [&](int64_t d, int64_t e) { return states[bhc * K * V + d * V + e]; });
    __syncthreads();
    fill_padded(X, kRows, Kp, ch.len, K, [&](int64_t i, int64_t d) { return qs[i * Kp + d] * dexp(read_decay(i, d)); });
    __syncthreads();

    Tiles out(4 * (Vp / kTile), Vp / kTile);  // o ← (q ⊙ e^{p})·S_c
    out.zero();
    out.mma<wmma::row_major, wmma::row_major>(X, lk, Y, lv, Kp);
    __syncthreads();  // S_c and X are no longer read
    fill_padded(Y, kRows, Vp, ch.len, V, [&](int64_t j, int64_t e) { return v[at.value(ch.b, ch.t0 + j, ch.h) + e]; });

    // A, a row block I of 16 at a time: the steps before the block through the reference r.
    for (int64_t i0 = 0; i0 < kRows; i0 += kBlockRows) {
      const float* ref = i0 > 0 ? cum + (i0 - 1) * Kp : nullptr;  // b_{I0-1}; none for the first block
      fill_padded(X, kBlockRows, Kp, ch.len - i0, K, [&](int64_t r, int64_t d) {
        return qs[(i0 + r) * Kp + d] * dexp(read_decay(i0 + r, d) - (ref ? ref[d] : 0.0f));
      });
      fill_padded(kref, kRows, Kp, min(i0, ch.len), K, [&](int64_t j, int64_t d) {
        return ks[j * Kp + d] * dexp(ref[d] - cum[j * Kp + d]);  // j < i0: ref exists
      });
      __syncthreads();
      product_to_shared<kWarps, wmma::row_major, wmma::col_major>(A + i0 * kRows, kBlockRows, kRows, X, lk, kref, lk,
                                                                 Kp);
      __syncthreads();
      {  // the diagonal block, pair by pair: one thread per (i, j)
        const int64_t r = threadIdx.x / kBlockRows, c = threadIdx.x % kBlockRows, i = i0 + r, j = i0 + c;
        float a = 0;
        if (i < ch.len && (bonus ? j < i : j <= i)) {
          for (int64_t d = 0; d < K; ++d) a += qs[i * Kp + d] * ks[j * Kp + d] * dexp(read_decay(i, d) - cum[j * Kp + d]);
        }
        A[i * kRows + j] = a;
      }
      __syncthreads();  // before the next block rewrites X's rows and kref
    }
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

}  // namespace

bool gla_forward_tc_applies(const GlaShape& s) {
  const size_t limit = static_cast<size_t>(max_shared_per_block());
  return s.dk <= 128 && s.dv <= 128 && sums_bytes(s) <= limit && output_bytes(s) <= limit;
}

bool gla_forward_tc(const GlaShape& s, bool bonus, const float* q, const float* k, const float* v, const float* g,
                    const float* u, const float* h0, float* o, float* hT) {
  if (!gla_forward_tc_applies(s)) return false;
  const int64_t BH = s.batch * s.heads, KV = s.dk * s.dv;
  if (BH == 0) return true;
  const int64_t nc = (s.seqlen + kRows - 1) / kRows;
  Tensor states = scratch(BH * nc * KV, Dtype::f32), decay = scratch(BH * nc * s.dk, Dtype::f32);
  if (nc > 0) {
    const size_t bytes = sums_bytes(s);
    allow_dynamic_shared(gla_chunk_sums_tc_kernel, bytes, "gla_forward");
    SSM_CUDA_LAUNCH("gla_forward", gla_chunk_sums_tc_kernel, grid_for_rows(BH * nc), kThreads, bytes, s, nc, k, v, g,
                    ptr<float>(states), ptr<float>(decay));
  }
  SSM_CUDA_LAUNCH("gla_forward", gla_pass_states_kernel, grid_for_rows(BH), kThreads, 0, s, nc, h0,
                  ptr<const float>(decay), ptr<float>(states), hT);
  if (nc > 0) {
    const size_t bytes = output_bytes(s);
    allow_dynamic_shared(gla_chunk_output_tc_kernel, bytes, "gla_forward");
    SSM_CUDA_LAUNCH("gla_forward", gla_chunk_output_tc_kernel, grid_for_rows(BH * nc), kThreads, bytes, s, nc, bonus, q,
                    k, v, g, u, ptr<const float>(states), o);
  }
  return true;
}

}  // namespace ssm::cuda
