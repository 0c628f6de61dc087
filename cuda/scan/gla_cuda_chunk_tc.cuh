// cuda/scan/gla_cuda_chunk_tc.cuh — one chunk of the gated-linear-attention chunked form on the tensor cores, the
// pieces the version-2 forward (cuda/scan/gla_cuda_chunked_tc.cu) and backward
// (cuda/scan/gla_cuda_chunked_backward_tc.cu) share: the chunk's place, its running log-decays, and the
// intra-chunk scores A built in row blocks against a reference decay (the derivation is in the
// forward's header). Included by those two .cu files only.
#pragma once

#include <cstdint>

#include "cuda/kernel_util.cuh"    // defines: dexp
#include "cuda/scan/gla_cuda.cuh"  // defines: GlaIndex
#include "cuda/wmma_tiles.cuh"     // defines: product_to_shared, fill_padded, kTile

namespace ssm::cuda::gla_tc {

using namespace tiles;

constexpr int kRows = 64;       // steps of a chunk
constexpr int kBlockRows = 16;  // the row (or column) blocks of A that share one reference decay
constexpr int kWarps = 8;
constexpr int kThreads = 32 * kWarps;
static_assert(kThreads == kBlockRows * kBlockRows, "the diagonal blocks of A take one thread per (i, j)");

__host__ __device__ constexpr int64_t at_least(int64_t a, int64_t b) { return a > b ? a : b; }
__host__ __device__ constexpr int64_t chunks_of(int64_t T) { return (T + kRows - 1) / kRows; }

// Chunk bhc = (b·H + h)·nc + c: its batch row, head, first step and length.
struct GlaChunk {
  int64_t b, h, c, t0, len;
};
__device__ inline GlaChunk gla_chunk(const GlaShape& s, int64_t nc, int64_t bhc) {
  const int64_t c = bhc % nc, bh = bhc / nc;
  return {bh / s.heads, bh % s.heads, c, c * kRows, min(int64_t{kRows}, s.seqlen - c * kRows)};
}

// Loads into shared memory, zero-padded to the tiles (ld = K or V rounded up to 16), for every
// kernel of both directions: the chunk's rows of a (B,T,H,K) tensor (q, k), of a (B,T,H,V) tensor
// (v, dO), and one K × V state of a per-chunk array (S_c, dS̄).
__device__ inline void load_key_rows(float* dst, const GlaIndex& at, const GlaChunk& ch, const float* src) {
  fill_padded(dst, kRows, round_up(at.K, kTile), ch.len, at.K,
              [&](int64_t i, int64_t d) { return src[at.key(ch.b, ch.t0 + i, ch.h) + d]; });
}
__device__ inline void load_value_rows(float* dst, const GlaIndex& at, const GlaChunk& ch, const float* src) {
  fill_padded(dst, kRows, round_up(at.V, kTile), ch.len, at.V,
              [&](int64_t i, int64_t e) { return src[at.value(ch.b, ch.t0 + i, ch.h) + e]; });
}
__device__ inline void load_state(float* dst, const GlaIndex& at, int64_t bhc, const float* states) {
  fill_padded(dst, round_up(at.K, kTile), round_up(at.V, kTile), at.K, at.V,
              [&](int64_t d, int64_t e) { return states[bhc * at.K * at.V + d * at.V + e]; });
}

// The chunk's running log-decays in shared memory, kRows × Kp: b_i[d] = Σ_{s≤i} g_s[d] for i < len,
// d < K (0 elsewhere), and the decay an output reads, p(i): b_i after its own write (post_update),
// b_{i-1} before it (pre_update_bonus; b_{-1} = 0).
struct GlaDecays {
  float* cum;
  int64_t Kp;
  bool bonus;
  __device__ float at(int64_t i, int64_t d) const { return cum[i * Kp + d]; }
  __device__ float read(int64_t i, int64_t d) const { return bonus ? (i > 0 ? at(i - 1, d) : 0.0f) : at(i, d); }
  // Whether output i reads write j within the chunk: j ≤ i (post_update), j < i (pre_update_bonus).
  __device__ bool reads(int64_t i, int64_t j) const { return bonus ? j < i : j <= i; }

  // Fills cum from g: a running sum per key channel, in order; barriers before and after.
  __device__ void load(const GlaShape& s, const GlaIndex& at_, const GlaChunk& ch, const float* g) const {
    fill_padded(cum, kRows, Kp, 0, 0, [](int64_t, int64_t) { return 0.0f; });
    __syncthreads();
    for (int64_t d = threadIdx.x; d < s.dk; d += blockDim.x) {
      float run = 0;
      for (int64_t i = 0; i < ch.len; ++i) cum[i * Kp + d] = (run += g[at_.key(ch.b, ch.t0 + i, ch.h) + d]);
    }
    __syncthreads();
  }
};

// A (kRows × kRows, row-major) ← the chunk's intra-chunk scores
//   A_ij = Σ_d q_i[d]·k_j[d]·e^{p(i)[d] − b_j[d]}   where output i reads write j, else 0,
// from q and k (kRows × Kp, zero rows past the chunk). Row block I of 16 takes the reference
// r = b_{I0−1}: the steps before it are one tensor-core product (q_i ⊙ e^{p(i) − r})·(k_j ⊙ e^{r − b_j})ᵀ
// with both exponents ≤ 0; its diagonal 16×16 block is formed pair by pair, one thread per (i, j).
// The row blocks past the chunk are zero: they have no reference (b past the chunk is not a running
// sum), and the backward's Aᵀ·dO reads them. Scratch: X (kBlockRows × Kp) and kref (kRows × Kp).
// Ends with a barrier.
__device__ inline void gla_chunk_scores(const GlaDecays& dec, int64_t K, int64_t len, const float* qs, const float* ks,
                                        float* X, float* kref, float* A) {
  const int64_t Kp = dec.Kp;
  const unsigned lk = static_cast<unsigned>(Kp);
  for (int64_t i0 = 0; i0 < kRows; i0 += kBlockRows) {
    if (i0 >= len) {
      fill_padded(A + i0 * kRows, kBlockRows, kRows, 0, 0, [](int64_t, int64_t) { return 0.0f; });
      continue;
    }
    const float* ref = i0 > 0 ? dec.cum + (i0 - 1) * Kp : nullptr;  // b_{I0-1}; none for the first block
    fill_padded(X, kBlockRows, Kp, len - i0, K, [&](int64_t r, int64_t d) {
      return qs[(i0 + r) * Kp + d] * dexp(dec.read(i0 + r, d) - (ref ? ref[d] : 0.0f));
    });
    fill_padded(kref, kRows, Kp, i0, K, [&](int64_t j, int64_t d) {
      return ks[j * Kp + d] * dexp(ref[d] - dec.at(j, d));  // j < i0: ref exists
    });
    __syncthreads();
    product_to_shared<kWarps, wmma::row_major, wmma::col_major>(A + i0 * kRows, kBlockRows, kRows, X, lk, kref, lk,
                                                               Kp);
    __syncthreads();
    {  // the diagonal block, pair by pair
      const int64_t r = threadIdx.x / kBlockRows, c = threadIdx.x % kBlockRows, i = i0 + r, j = i0 + c;
      float a = 0;
      if (i < len && dec.reads(i, j)) {
        for (int64_t d = 0; d < K; ++d) a += qs[i * Kp + d] * ks[j * Kp + d] * dexp(dec.read(i, d) - dec.at(j, d));
      }
      A[i * kRows + j] = a;
    }
    __syncthreads();  // before the next block rewrites X's rows and kref
  }
  __syncthreads();
}

}  // namespace ssm::cuda::gla_tc
