// cuda/scan/ssd_cuda_chunked_backward_tc.cu — version 2 of the chunked SSD backward (ops/kernel_versions.h):
// version 1's algorithm (cuda/scan/ssd_cuda_chunked.cu, steps 1–7; the terms are derived in
// cuda/scan/ssd_cuda_chunked_backward.cu) with every matrix product on the tensor cores, as tf32
// 16x16x8 wmma tiles with fp32 accumulation (cuda/wmma_tiles.cuh). Per chunk, with u_j = Δ_j·x_j,
// L[i,j] = e^{cum_i − cum_j} for j ≤ i (else 0), M = C·Bᵀ, S_p the chunk-start state and dS the
// gradient of its end state:
//   dM  = L ∘ (dY·Uᵀ)                                       what y's intra-chunk term sends back
//   dC  = dM·B + diag(e^{cum})·dY·S_p                        (row block i of C owns it)
//   dU  = (L ∘ M)ᵀ·dY + diag(e^{tail})·B·dSᵀ                  (row block j of U owns it)
//   dB  = dMᵀ·C + diag(e^{tail})·U·dS                         (row block j of B owns it)
//   r_i = <C_i, (diag(e^{cum})·dY·S_p)_i>,  v_j = <u_j, (diag(e^{tail})·B·dSᵀ)_j>,
//   rowpart_i = Σ_{j<i} M_ij·dM_ij,  colpart_j = Σ_{i>j} M_ij·dM_ij
// and then version 1's sequential end (ssd_finish_chunk): the log-decay gradients from r, v and
// the parts, dA's share, dx = Δ·du and dΔ.
// Steps 2 and 5 (S_c and G_c, sums of outer products over a chunk) run on the forward's
// tensor-core kernel (ssd_chunk_sums_tc); steps 3 and 6, the sequential passes over chunks, are
// version 1's.
//
// Kernels. The intra-chunk products pair a row block i of 64 steps with every row block j ≤ i —
// flash-attention's backward pattern, with the decay as the causal mask. Each output is owned by
// one block, which loops over the blocks it pairs with, so nothing is accumulated with atomics and
// the results do not depend on the order blocks run in:
//   ssd_dC_tc  one block per (chunk, row block i): dC_i, r_i, rowpart_i; loops over j ≤ i
//   ssd_dU_tc  one block per (chunk, row block j): du_j (into dx), v_j; loops over i ≥ j
//   ssd_dB_tc  one block per (chunk, row block j): dB_j, colpart_j; loops over i ≥ j
//   ssd_finish_tc  one block per chunk: ssd_finish_chunk
// M and dY·Uᵀ are recomputed where a kernel needs them (M in all three, dY·Uᵀ in two), which
// costs products but no memory: nothing Q×Q is stored. Blocks of 8 warps, each keeping up to 8
// accumulator tiles, so a 64×N output (N ≤ 256) fits one block.
// Version 2 takes f32 with P <= 128 and N <= 256 when its tiles fit in the device's shared memory
// per block (on sm_90's 227 KiB, P 64 with N up to 256 does, P 128 with N 256 does not); the caller
// runs version 1 otherwise.
#include <algorithm>

#include "cuda/device.h"        // defines: max_shared_per_block
#include "cuda/kernel_util.cuh"    // defines: warp_sum, block_sum, scratch, allow_dynamic_shared, dexp
#include "cuda/scan/ssd_cuda.cuh"  // defines: SsdLayout, SsdChunk, ssd_chunk_id, load_decays, ssd_finish_chunk
#include "cuda/wmma_tiles.cuh"     // defines: WarpTiles, product_to_shared, fill_padded, aligned_shared

namespace ssm::cuda {
namespace {

using namespace tiles;

constexpr int kRows = 64;  // steps of a chunk in one row block
constexpr int kWarps = 8;
constexpr int kThreads = 32 * kWarps;
constexpr int kTilesPerWarp = 8;  // 8 warps x 8 tiles: a 64 x 256 output
constexpr int kFinishThreads = 128;
using Tiles = WarpTiles<kWarps, kTilesPerWarp>;

__host__ __device__ constexpr int64_t at_least_rows(int64_t v) { return v > kRows ? v : kRows; }

// Shared-memory plan of the three pair kernels, in floats. "own": the row block the block owns;
// "other": the row block it is paired with, or first the chunk's state (S_p or dS, P×N).
struct PairPlan {
  int64_t Pp, Np, Q;
  __host__ __device__ int64_t vector() const { return round_up(Q, 8); }
  __host__ __device__ int64_t part() const { return 5 * vector(); }             // delta, a, cum, e^cum, e^tail
  __host__ __device__ int64_t own_n() const { return part() + kRows * 4; }      // part: kRows (x4 partial sums)
  __host__ __device__ int64_t own_p() const { return own_n() + kRows * Np; }    // kRows × Np (C_i or B_j)
  __host__ __device__ int64_t other_n() const { return own_p() + kRows * Pp; }  // kRows × Pp (dY_i or U_j)
  __host__ __device__ int64_t other_p() const { return other_n() + at_least_rows(Pp) * Np; }  // state, then C/B
  __host__ __device__ int64_t m() const { return other_p() + kRows * Pp; }      // kRows × Pp (U_j or dY_i)
  __host__ __device__ int64_t dm() const { return m() + kRows * kRows; }        // M, then dM: kRows × kRows
  __host__ __device__ int64_t floats() const { return dm() + kRows * kRows; }   // (m and dm together: staging)
};

struct PairShared {
  float *delta, *a, *cum, *ecum, *etail, *part, *own_n, *own_p, *other_n, *other_p, *m, *dm;
  __device__ explicit PairShared(const PairPlan& plan) {
    float* sh = aligned_shared();
    delta = sh;
    a = delta + plan.vector();
    cum = a + plan.vector();
    ecum = cum + plan.vector();
    etail = ecum + plan.vector();
    part = sh + plan.part();
    own_n = sh + plan.own_n();
    own_p = sh + plan.own_p();
    other_n = sh + plan.other_n();
    other_p = sh + plan.other_p();
    m = sh + plan.m();
    dm = sh + plan.dm();
  }
};

// Δ, a, cum (running sums in order, as version 1), e^{cum} and e^{tail} of chunk `id` in shared
// memory; the partial sums zeroed.
__device__ void load_chunk_vectors(const SsdLayout& lay, const SsdChunk& id, const float* dt, const float* A,
                                   const PairShared& sh) {
  load_decays(lay, id, dt, A, sh.delta, sh.a);
  if (threadIdx.x == 0) {
    float run = 0;
    for (int64_t i = 0; i < id.len; ++i) sh.cum[i] = (run += sh.a[i]);
    sh.etail[id.len - 1] = 0;
    for (int64_t j = id.len - 2; j >= 0; --j) sh.etail[j] = sh.etail[j + 1] + sh.a[j + 1];
  }
  __syncthreads();
  for (int64_t j = threadIdx.x; j < id.len; j += blockDim.x) {
    sh.ecum[j] = dexp(sh.cum[j]);
    sh.etail[j] = dexp(sh.etail[j]);
  }
  for (int64_t r = threadIdx.x; r < 4 * kRows; r += blockDim.x) sh.part[r] = 0;
  __syncthreads();
}

// L[i,j]: the decay from step j to step i of the chunk (0 above the diagonal and past its end).
__device__ inline float causal_decay(const float* cum, int64_t len, int64_t i, int64_t j) {
  return i < len && j <= i ? dexp(cum[i] - cum[j]) : 0.0f;
}

// The row block i0 of C and dY (the paired block of dU and dB) into c (64 × Np) and g (64 × Pp),
// padded with zeros; then a barrier.
__device__ void load_row_block(const SsdLayout& lay, const SsdChunk& id, int64_t i0, const float* Cm, const float* dy,
                               float* c, float* g, int64_t Pp, int64_t Np) {
  const int64_t rows = min(int64_t{kRows}, id.len - i0);
  fill_padded(c, kRows, Np, rows, lay.N, [&](int64_t r, int64_t n) { return Cm[lay.bc(id.b, id.t0 + i0 + r, id.g) + n]; });
  fill_padded(g, kRows, Pp, rows, lay.P, [&](int64_t r, int64_t p) { return dy[lay.x(id.b, id.t0 + i0 + r, id.h) + p]; });
  __syncthreads();
}

// What dU and dB own, row block j0: B_j (own_n), U_j = Δ_j·x_j (own_p), and the chunk's dS
// (other_n, P × N); then a barrier. The chunk vectors (Δ) must be loaded.
__device__ void load_column_block(const SsdLayout& lay, const SsdChunk& id, int64_t j0, const float* x,
                                  const float* Bm, const float* dS, const PairShared& sh, int64_t Pp, int64_t Np) {
  const int64_t rows = min(int64_t{kRows}, id.len - j0), P = lay.P, N = lay.N;
  fill_padded(sh.own_n, kRows, Np, rows, N, [&](int64_t r, int64_t n) { return Bm[lay.bc(id.b, id.t0 + j0 + r, id.g) + n]; });
  fill_padded(sh.own_p, kRows, Pp, rows, P, [&](int64_t r, int64_t p) {
    return sh.delta[j0 + r] * x[lay.x(id.b, id.t0 + j0 + r, id.h) + p];
  });
  fill_padded(sh.other_n, Pp, Np, P, N, [&](int64_t p, int64_t n) { return dS[p * N + n]; });
  __syncthreads();
}

// Rows r < 64 of `stage` (ld columns, `cols` valid) scaled by scale[row0 + r] (0 from `rows` on);
// returns to lane 0 of the row's warp, through `dot_out[row0 + r]`, <other_r, scaled_r>.
__device__ void scale_rows_and_dot(float* stage, int64_t ld, int64_t cols, int64_t rows, const float* scale,
                                   int64_t row0, const float* other, int64_t other_ld, float* dot_out) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  for (int64_t r = warp; r < kRows; r += kWarps) {
    float dot = 0;
    for (int64_t c = lane; c < ld; c += 32) {
      const float v = r < rows && c < cols ? stage[r * ld + c] * scale[row0 + r] : 0.0f;
      stage[r * ld + c] = v;
      dot += v * other[r * other_ld + c];
    }
    dot = warp_sum(dot);
    if (lane == 0 && r < rows && dot_out != nullptr) dot_out[row0 + r] = dot;
  }
}

// dC_i = Σ_{j≤i} dM_ij·B_j + e^{cum_i}·dY_i·S_p, r_i and rowpart_i for row block i.
__global__ void ssd_dC_tc_kernel(SsdShape s, int64_t Q, int64_t nc, const float* x, const float* dt, const float* A,
                                 const float* Bm, const float* Cm, const float* dy, const float* states, float* dCh,
                                 float* r_out, float* rowpart_out) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
  const int64_t P = s.headdim, N = s.dstate, Pp = round_up(P, kTile), Np = round_up(N, kTile);
  const PairShared sh(PairPlan{Pp, Np, Q});
  const SsdLayout lay{s.seqlen, s.heads, s.headdim, s.groups, s.dstate};
  const int64_t row_blocks = (Q + kRows - 1) / kRows;
  const unsigned lp = static_cast<unsigned>(Pp), ln = static_cast<unsigned>(Np);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;

  for (int64_t item = blockIdx.x; item < s.batch * s.heads * nc * row_blocks; item += gridDim.x) {
    const int64_t bhc = item / row_blocks, i0 = (item % row_blocks) * kRows;
    const SsdChunk id = ssd_chunk_id(s, Q, nc, bhc);
    if (i0 >= id.len) continue;  // the last chunk is shorter: this row block is empty (block-uniform)
    const int64_t rows_i = min(int64_t{kRows}, id.len - i0);
    load_chunk_vectors(lay, id, dt, A, sh);
    fill_padded(sh.own_n, kRows, Np, rows_i, N, [&](int64_t r, int64_t n) { return Cm[lay.bc(id.b, id.t0 + i0 + r, id.g) + n]; });
    fill_padded(sh.own_p, kRows, Pp, rows_i, P, [&](int64_t r, int64_t p) { return dy[lay.x(id.b, id.t0 + i0 + r, id.h) + p]; });
    fill_padded(sh.other_n, Pp, Np, P, N, [&](int64_t p, int64_t n) { return states[bhc * P * N + p * N + n]; });
    __syncthreads();

    // dC_i ← e^{cum_i}·dY_i·S_p, and r_i from it (the rows are scaled in shared memory: fragments are opaque).
    Tiles dC(4 * (Np / kTile), Np / kTile);
    dC.zero();
    dC.mma<wmma::row_major, wmma::row_major>(sh.own_p, lp, sh.other_n, ln, Pp);
    __syncthreads();
    dC.store(sh.other_n, ln);
    __syncthreads();
    scale_rows_and_dot(sh.other_n, Np, N, rows_i, sh.ecum, i0, sh.own_n, Np, r_out + bhc * Q);
    __syncthreads();
    dC.load(sh.other_n, ln);

    for (int64_t j0 = 0; j0 <= i0; j0 += kRows) {
      __syncthreads();  // the previous pair's operands are no longer read
      const int64_t rows_j = min(int64_t{kRows}, id.len - j0);
      fill_padded(sh.other_n, kRows, Np, rows_j, N, [&](int64_t r, int64_t n) { return Bm[lay.bc(id.b, id.t0 + j0 + r, id.g) + n]; });
      fill_padded(sh.other_p, kRows, Pp, rows_j, P, [&](int64_t r, int64_t p) {
        return sh.delta[j0 + r] * x[lay.x(id.b, id.t0 + j0 + r, id.h) + p];
      });
      __syncthreads();
      product_to_shared<kWarps, wmma::row_major, wmma::col_major>(sh.m, kRows, kRows, sh.own_n, ln, sh.other_n, ln, Np);
      product_to_shared<kWarps, wmma::row_major, wmma::col_major>(sh.dm, kRows, kRows, sh.own_p, lp, sh.other_p, lp, Pp);
      __syncthreads();
      for (int64_t r = warp; r < kRows; r += kWarps) {  // dM = L ∘ dY·Uᵀ; rowpart_i += Σ_{j<i} M·dM
        const int64_t i = i0 + r;
        float w = 0;
        for (int64_t c = lane; c < kRows; c += 32) {
          const int64_t j = j0 + c;
          const float d = causal_decay(sh.cum, id.len, i, j) * sh.dm[r * kRows + c];
          sh.dm[r * kRows + c] = d;
          if (j < i) w += sh.m[r * kRows + c] * d;
        }
        w = warp_sum(w);
        if (lane == 0) sh.part[r] += w;  // row r always belongs to the same warp
      }
      __syncthreads();
      dC.mma<wmma::row_major, wmma::row_major>(sh.dm, kRows, sh.other_n, ln, kRows);
    }
    __syncthreads();
    dC.store(sh.other_n, ln);
    __syncthreads();
    for (int64_t e = threadIdx.x; e < rows_i * N; e += blockDim.x) {
      const int64_t r = e / N, n = e % N;
      dCh[lay.head_row(id.b, id.t0 + i0 + r, id.h) + n] = sh.other_n[r * Np + n];
    }
    for (int64_t r = threadIdx.x; r < rows_i; r += blockDim.x) rowpart_out[bhc * Q + i0 + r] = sh.part[r];
    __syncthreads();  // before the next item reloads the shared arrays
  }
#endif
}

// du_j = Σ_{i≥j} (L ∘ M)_ijᵀ·dY_i + e^{tail_j}·B_j·dSᵀ (into dx, scaled by Δ later) and v_j.
__global__ void ssd_dU_tc_kernel(SsdShape s, int64_t Q, int64_t nc, const float* x, const float* dt, const float* A,
                                 const float* Bm, const float* Cm, const float* dy, const float* dstates, float* dx,
                                 float* v_out) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
  const int64_t P = s.headdim, N = s.dstate, Pp = round_up(P, kTile), Np = round_up(N, kTile);
  const PairShared sh(PairPlan{Pp, Np, Q});
  const SsdLayout lay{s.seqlen, s.heads, s.headdim, s.groups, s.dstate};
  const int64_t row_blocks = (Q + kRows - 1) / kRows;
  const unsigned lp = static_cast<unsigned>(Pp), ln = static_cast<unsigned>(Np);

  for (int64_t item = blockIdx.x; item < s.batch * s.heads * nc * row_blocks; item += gridDim.x) {
    const int64_t bhc = item / row_blocks, j0 = (item % row_blocks) * kRows;
    const SsdChunk id = ssd_chunk_id(s, Q, nc, bhc);
    if (j0 >= id.len) continue;
    const int64_t rows_j = min(int64_t{kRows}, id.len - j0);
    load_chunk_vectors(lay, id, dt, A, sh);
    load_column_block(lay, id, j0, x, Bm, dstates + bhc * P * N, sh, Pp, Np);

    // du_j ← e^{tail_j}·B_j·dSᵀ (dSᵀ: element (n, p) is dS[p·Np + n]), and v_j = <u_j, that>.
    Tiles du(4 * (Pp / kTile), Pp / kTile);
    du.zero();
    du.mma<wmma::row_major, wmma::col_major>(sh.own_n, ln, sh.other_n, ln, Np);
    du.store(sh.m, lp);  // m and dm together hold 64 × Pp
    __syncthreads();
    scale_rows_and_dot(sh.m, Pp, P, rows_j, sh.etail, j0, sh.own_p, Pp, v_out + bhc * Q);
    __syncthreads();
    du.load(sh.m, lp);

    for (int64_t i0 = j0; i0 < id.len; i0 += kRows) {
      __syncthreads();
      load_row_block(lay, id, i0, Cm, dy, sh.other_n, sh.other_p, Pp, Np);
      product_to_shared<kWarps, wmma::row_major, wmma::col_major>(sh.m, kRows, kRows, sh.other_n, ln, sh.own_n, ln, Np);
      __syncthreads();
      for (int64_t e = threadIdx.x; e < kRows * kRows; e += blockDim.x) {  // L ∘ M
        sh.m[e] *= causal_decay(sh.cum, id.len, i0 + e / kRows, j0 + e % kRows);
      }
      __syncthreads();
      du.mma<wmma::col_major, wmma::row_major>(sh.m, kRows, sh.other_p, lp, kRows);  // (L ∘ M)ᵀ·dY_i
    }
    __syncthreads();
    du.store(sh.m, lp);
    __syncthreads();
    for (int64_t e = threadIdx.x; e < rows_j * P; e += blockDim.x) {
      const int64_t r = e / P, p = e % P;
      dx[lay.x(id.b, id.t0 + j0 + r, id.h) + p] = sh.m[r * Pp + p];
    }
    __syncthreads();
  }
#endif
}

// dB_j = Σ_{i≥j} dM_ijᵀ·C_i + e^{tail_j}·U_j·dS and colpart_j for row block j.
__global__ void ssd_dB_tc_kernel(SsdShape s, int64_t Q, int64_t nc, const float* x, const float* dt, const float* A,
                                 const float* Bm, const float* Cm, const float* dy, const float* dstates, float* dBh,
                                 float* colpart_out) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
  const int64_t P = s.headdim, N = s.dstate, Pp = round_up(P, kTile), Np = round_up(N, kTile);
  const PairShared sh(PairPlan{Pp, Np, Q});
  const SsdLayout lay{s.seqlen, s.heads, s.headdim, s.groups, s.dstate};
  const int64_t row_blocks = (Q + kRows - 1) / kRows;
  const unsigned lp = static_cast<unsigned>(Pp), ln = static_cast<unsigned>(Np);
  constexpr int kRowGroups = kThreads / kRows;  // the column pass: 4 threads per column

  for (int64_t item = blockIdx.x; item < s.batch * s.heads * nc * row_blocks; item += gridDim.x) {
    const int64_t bhc = item / row_blocks, j0 = (item % row_blocks) * kRows;
    const SsdChunk id = ssd_chunk_id(s, Q, nc, bhc);
    if (j0 >= id.len) continue;
    const int64_t rows_j = min(int64_t{kRows}, id.len - j0);
    load_chunk_vectors(lay, id, dt, A, sh);
    load_column_block(lay, id, j0, x, Bm, dstates + bhc * P * N, sh, Pp, Np);

    Tiles dB(4 * (Np / kTile), Np / kTile);  // dB_j ← e^{tail_j}·U_j·dS
    dB.zero();
    dB.mma<wmma::row_major, wmma::row_major>(sh.own_p, lp, sh.other_n, ln, Pp);
    __syncthreads();
    dB.store(sh.other_n, ln);
    __syncthreads();
    scale_rows_and_dot(sh.other_n, Np, N, rows_j, sh.etail, j0, sh.own_n, Np, nullptr);
    __syncthreads();
    dB.load(sh.other_n, ln);

    for (int64_t i0 = j0; i0 < id.len; i0 += kRows) {
      __syncthreads();
      load_row_block(lay, id, i0, Cm, dy, sh.other_n, sh.other_p, Pp, Np);
      product_to_shared<kWarps, wmma::row_major, wmma::col_major>(sh.m, kRows, kRows, sh.other_n, ln, sh.own_n, ln, Np);
      product_to_shared<kWarps, wmma::row_major, wmma::col_major>(sh.dm, kRows, kRows, sh.other_p, lp, sh.own_p, lp, Pp);
      __syncthreads();
      {  // dM = L ∘ dY·Uᵀ; colpart_j += Σ_{i>j} M·dM (column c: threads c, c + 64, ..., in rows r ≡ group)
        const int64_t c = threadIdx.x % kRows, group = threadIdx.x / kRows, j = j0 + c;
        float w = 0;
        for (int64_t r = group; r < kRows; r += kRowGroups) {
          const int64_t i = i0 + r;
          const float d = causal_decay(sh.cum, id.len, i, j) * sh.dm[r * kRows + c];
          sh.dm[r * kRows + c] = d;
          if (j < i) w += sh.m[r * kRows + c] * d;
        }
        sh.part[group * kRows + c] += w;
      }
      __syncthreads();
      dB.mma<wmma::col_major, wmma::row_major>(sh.dm, kRows, sh.other_n, ln, kRows);  // dMᵀ·C_i
    }
    __syncthreads();
    dB.store(sh.other_n, ln);
    __syncthreads();
    for (int64_t e = threadIdx.x; e < rows_j * N; e += blockDim.x) {
      const int64_t r = e / N, n = e % N;
      dBh[lay.head_row(id.b, id.t0 + j0 + r, id.h) + n] = sh.other_n[r * Np + n];
    }
    for (int64_t c = threadIdx.x; c < rows_j; c += blockDim.x) {  // the groups' partial sums, in group order
      float w = 0;
      for (int g = 0; g < kRowGroups; ++g) w += sh.part[g * kRows + c];
      colpart_out[bhc * Q + j0 + c] = w;
    }
    __syncthreads();
  }
#endif
}

// q = e^{cum_{L-1}}·<dS, S_p>, then version 1's end of the chunk (ssd_finish_chunk).
__global__ void ssd_finish_tc_kernel(SsdShape s, int64_t Q, int64_t nc, const float* x, const float* dt, const float* A,
                                     const float* states, const float* dstates, const float* r, const float* v,
                                     const float* rowpart, const float* colpart, float* dx, float* ddt, float* dA_parts) {
  SSM_DYNAMIC_SHARED(smem);
  float* delta = reinterpret_cast<float*>(smem);
  float* a = delta + Q;
  float* da = a + Q;
  const SsdLayout lay{s.seqlen, s.heads, s.headdim, s.groups, s.dstate};
  const int64_t PN = s.headdim * s.dstate;
  for (int64_t bhc = blockIdx.x; bhc < s.batch * s.heads * nc; bhc += gridDim.x) {
    const SsdChunk id = ssd_chunk_id(s, Q, nc, bhc);
    load_decays(lay, id, dt, A, delta, a);
    float cum_last = 0;  // every thread sums in order, as version 1
    for (int64_t k = 0; k < id.len; ++k) cum_last += a[k];
    float q = 0;
    for (int64_t e = threadIdx.x; e < PN; e += blockDim.x) q += dstates[bhc * PN + e] * states[bhc * PN + e];
    q = block_sum(q) * dexp(cum_last);
    const int64_t at = bhc * Q;
    ssd_finish_chunk<float>(lay, id, q, A[id.h], delta, r + at, v + at, rowpart + at, colpart + at, da, x, dx, ddt,
                            dA_parts);
  }
}

size_t pair_bytes(const SsdShape& s, int64_t Q) {
  return PairPlan{round_up(s.headdim, kTile), round_up(s.dstate, kTile), Q}.floats() * sizeof(float) + 32;
}

}  // namespace

bool ssd_chunked_backward_tc_applies(const SsdShape& s, int64_t chunk) {
  const int64_t Q = std::max<int64_t>(1, std::min(chunk, s.seqlen));
  return ssd_chunked_forward_tc_applies(s, chunk) && pair_bytes(s, Q) <= static_cast<size_t>(max_shared_per_block());
}

bool ssd_chunked_backward_tc(const SsdShape& s, int64_t chunk, const float* x, const float* dt, const float* A,
                             const float* Bm, const float* Cm, const float* h0, const float* dy, const float* dhT,
                             float* dx, float* ddt, float* dA, float* dB, float* dC, float* dh0) {
  if (!ssd_chunked_backward_tc_applies(s, chunk)) return false;
  const int64_t BH = s.batch * s.heads, PN = s.headdim * s.dstate;
  const int64_t Q = std::max<int64_t>(1, std::min(chunk, s.seqlen));
  const int64_t nc = s.seqlen == 0 ? 0 : 1 + (s.seqlen - 1) / Q;
  const Dtype f32 = Dtype::f32;
  Tensor states = scratch(BH * nc * PN, f32), decay = scratch(BH * nc, f32), hT = scratch(BH * PN, f32);
  Tensor dstates = scratch(BH * nc * PN, f32), dA_parts = scratch(BH * nc, f32);
  Tensor dBh = scratch(s.batch * s.seqlen * s.heads * s.dstate, f32), dCh = scratch(dBh.numel(), f32);
  Tensor vectors = scratch(4 * BH * nc * Q, f32);  // r, v, rowpart, colpart: Q per chunk each
  float* r = ptr<float>(vectors);
  float* v = r + BH * nc * Q;
  float* rowpart = v + BH * nc * Q;
  float* colpart = rowpart + BH * nc * Q;
  if (BH > 0) {
    // 1–3: the chunk-start states; 5–6: the gradients of the chunk-end states, and dh0.
    ssd_chunk_sums_tc(s, Q, nc, SsdChunkSum::inputs, x, dt, A, Bm, ptr<float>(states), ptr<float>(decay));
    ssd_pass_states<float>(s, nc, h0, ptr<const float>(decay), ptr<float>(states), ptr<float>(hT));
    ssd_chunk_sums_tc(s, Q, nc, SsdChunkSum::output_grads, dy, dt, A, Cm, ptr<float>(dstates), nullptr);
    ssd_pass_dstates<float>(s, nc, dhT, ptr<const float>(decay), ptr<float>(dstates), dh0);
  }
  if (BH > 0 && nc > 0) {  // 7: every chunk's own gradients
    const unsigned items = grid_for_rows(BH * nc * ((Q + kRows - 1) / kRows));
    const size_t bytes = pair_bytes(s, Q);
    allow_dynamic_shared(ssd_dC_tc_kernel, bytes, "ssd_backward");
    allow_dynamic_shared(ssd_dU_tc_kernel, bytes, "ssd_backward");
    allow_dynamic_shared(ssd_dB_tc_kernel, bytes, "ssd_backward");
    SSM_CUDA_LAUNCH("ssd_backward", ssd_dC_tc_kernel, items, kThreads, bytes, s, Q, nc, x, dt, A, Bm, Cm, dy,
                    ptr<const float>(states), ptr<float>(dCh), r, rowpart);
    SSM_CUDA_LAUNCH("ssd_backward", ssd_dU_tc_kernel, items, kThreads, bytes, s, Q, nc, x, dt, A, Bm, Cm, dy,
                    ptr<const float>(dstates), dx, v);
    SSM_CUDA_LAUNCH("ssd_backward", ssd_dB_tc_kernel, items, kThreads, bytes, s, Q, nc, x, dt, A, Bm, Cm, dy,
                    ptr<const float>(dstates), ptr<float>(dBh), colpart);
    SSM_CUDA_LAUNCH("ssd_backward", ssd_finish_tc_kernel, grid_for_rows(BH * nc), kFinishThreads, 3 * Q * sizeof(float),
                    s, Q, nc, x, dt, A, ptr<const float>(states), ptr<const float>(dstates), r, v, rowpart, colpart, dx,
                    ddt, ptr<float>(dA_parts));
  }
  ssd_sum_group_grads<float>(s, ptr<const float>(dBh), ptr<const float>(dCh), dB, dC);
  ssd_sum_dA<float>(ptr<const float>(dA_parts), s.batch, s.heads, nc, dA);
  return true;
}

}  // namespace ssm::cuda
