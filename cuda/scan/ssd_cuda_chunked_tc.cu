// cuda/scan/ssd_cuda_chunked_tc.cu — version 2 of the chunked SSD forward (ops/kernel_versions.h):
// the same algorithm as version 1 (cuda/scan/ssd_cuda_chunked.cu; docs/scans.md, chunked SSD), with
// its four matrix products on the tensor cores. Per chunk of head h, with u_j = Δ_j·x_j:
//   S_c    = Ũᵀ·B            Ũ[j,p] = e^{tail_j}·u_j[p]                 (P×N, K = chunk length)
//   Y_i    = e^{cum_i}·(C·S̃ᵀ)_i + Σ_j W[i,j]·u_j
//   W      = L ∘ (C·Bᵀ),      L[i,j] = e^{cum_i − cum_j} for j ≤ i, else 0
// What is on the tensor cores: C·Bᵀ, W·U, Ũᵀ·B and C·S̃ᵀ, as 16x16x8 wmma tiles with tf32 inputs
// and fp32 accumulation. What stays in fp32 on the CUDA cores: Δ, the decays and their running
// sums, the exponentials, the mask, the carried states (version 1's ssd_pass_states).
// Precision: tf32 keeps 10 mantissa bits, so each product term is rounded to about 5e-4
// relative; sums are fp32. W uses e^{cum_i − cum_j}, a difference of two running sums within one
// chunk (as Mamba-2's own kernels do), where version 1 keeps a running sum per pair.
//
// Tiling. Blocks of 4 warps. A chunk is processed in row blocks of 64 steps:
//   ssd_chunk_sum_tc     one block per chunk (and per group of 32 output tiles of S_c): Ũ and B
//                        of 64 steps at a time through shared memory; every warp keeps up to 8
//                        accumulator tiles of S_c over the whole chunk. The backward's G_c
//                        (Σ_i e^{cum_i}·dy_i ⊗ C_i) is the same product and runs here too.
//   ssd_chunk_output_tc  one block per (chunk, row block i of 64 steps): its Y tiles (64×P, up to
//                        8 per warp) start as e^{cum_i}·C_i·S̃ᵀ, then for every row block j ≤ i:
//                        W_ij = C_i·B_jᵀ in shared memory, masked and scaled, Y_i += W_ij·U_j —
//                        the flash-attention pattern, with the causal decay as the mask.
// Shapes are padded in shared memory to multiples of 16 with zeros (P, N) and row blocks to 64,
// so T, P and N need not be multiples of anything. Version 2 takes f32 with P <= 128 and N <=
// 256 when its tiles fit in the device's shared memory per block (227 KiB on sm_90, 163 KiB on
// sm_80); the caller runs version 1 otherwise.
#include "cuda/device.h"        // defines: max_shared_per_block
#include "cuda/kernel_util.cuh"   // defines: SSM_UNROLL, allow_dynamic_shared, scratch, dexp
#include "cuda/scan/ssd_cuda.cuh" // defines: SsdLayout, SsdChunk, ssd_chunk_id, load_decays, ssd_pass_states
#include "cuda/wmma_tiles.cuh"    // defines: WarpTiles, product_to_shared, aligned_shared, fill_padded, round_up

namespace ssm::cuda {
namespace {

using namespace tiles;

constexpr int kRows = 64;          // steps of a chunk in one row block
constexpr int kWarps = 4;
constexpr int kThreads = 32 * kWarps;
constexpr int kTilesPerWarp = 8;   // accumulator tiles one warp keeps (loops over them are unrolled
                                   // and skip with continue, so the tiles stay in registers)
constexpr int kMaxTilesPerBlock = kWarps * kTilesPerWarp;
using Tiles = WarpTiles<kWarps, kTilesPerWarp>;

__host__ __device__ constexpr int64_t at_least_rows(int64_t v) { return v > kRows ? v : kRows; }

// Shared-memory plan of the chunk-state kernel, in floats.
struct StatePlan {
  int64_t Pp, Np, Q;
  __host__ __device__ int64_t vectors() const { return 3 * round_up(Q, 8); }  // delta, a, w
  __host__ __device__ int64_t u() const { return vectors(); }                // Ũ: kRows × Pp
  __host__ __device__ int64_t b() const { return u() + kRows * Pp; }         // B: kRows × Np
  __host__ __device__ int64_t stage() const { return b() + kRows * Np; }     // a 16×16 tile per warp
  __host__ __device__ int64_t floats() const { return stage() + kWarps * kTile * kTile; }
};

// Shared-memory plan of the output kernel, in floats.
struct OutputPlan {
  int64_t Pp, Np, Q;
  __host__ __device__ int64_t vectors() const { return 3 * round_up(Q, 8); }  // delta, a, cum
  __host__ __device__ int64_t c() const { return vectors(); }                // C_i: kRows × Np
  __host__ __device__ int64_t bs() const { return c() + kRows * Np; }        // S̃ (Pp × Np), then B_j (kRows × Np)
  __host__ __device__ int64_t u() const { return bs() + at_least_rows(Pp) * Np; }  // U_j: kRows × Pp
  __host__ __device__ int64_t wy() const { return u() + kRows * Pp; }        // W_ij (kRows × kRows), or Y staging (kRows × Pp)
  __host__ __device__ int64_t floats() const { return wy() + kRows * at_least_rows(Pp); }
};

// One chunk sum of outer products (ChunkSum, ssd_cuda.cuh) over every chunk: out = Ũᵀ·V with
// Ũ[j,p] = w_j·rows_j[p] and V[j,n] = cols_j[n]; blockIdx.y picks 32 of the P×N output's tiles.
//   inputs:       w_j = e^{tail_j}·Δ_j, rows = x,  cols = B: S_c; decay ← e^{cum_{L-1}} too
//   output_grads: w_j = e^{cum_j},      rows = dy, cols = C: G_c (the backward's step 5)
__global__ void ssd_chunk_sum_tc_kernel(SsdShape s, int64_t Q, int64_t nc, SsdChunkSum what, const float* rows,
                                        const float* dt, const float* A, const float* cols, float* out, float* decay) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
  float* sh = aligned_shared();
  const int64_t P = s.headdim, N = s.dstate, Pp = round_up(P, kTile), Np = round_up(N, kTile);
  const StatePlan plan{Pp, Np, Q};
  float* delta = sh;
  float* a = delta + round_up(Q, 8);
  float* w = a + round_up(Q, 8);
  float* U = sh + plan.u();
  float* Bs = sh + plan.b();
  const int warp = threadIdx.x / 32;
  const unsigned lp = static_cast<unsigned>(Pp), ln = static_cast<unsigned>(Np);
  float* stage = sh + plan.stage() + warp * kTile * kTile;
  const SsdLayout lay{s.seqlen, s.heads, s.headdim, s.groups, s.dstate};
  const int64_t tiles_n = Np / kTile, tiles = (Pp / kTile) * tiles_n;
  const int64_t first_tile = static_cast<int64_t>(blockIdx.y) * kMaxTilesPerBlock;

  for (int64_t bhc = blockIdx.x; bhc < s.batch * s.heads * nc; bhc += gridDim.x) {
    const SsdChunk id = ssd_chunk_id(s, Q, nc, bhc);
    load_decays(lay, id, dt, A, delta, a);
    if (threadIdx.x == 0) {  // running sums in order, as version 1
      float run = 0;
      if (what == SsdChunkSum::inputs) {
        for (int64_t j = 0; j < id.len; ++j) run += a[j];
        if (blockIdx.y == 0) decay[bhc] = dexp(run);
        w[id.len - 1] = 0;
        for (int64_t j = id.len - 2; j >= 0; --j) w[j] = w[j + 1] + a[j + 1];
      } else {
        for (int64_t j = 0; j < id.len; ++j) w[j] = (run += a[j]);
      }
    }
    __syncthreads();
    for (int64_t j = threadIdx.x; j < id.len; j += blockDim.x) {
      w[j] = what == SsdChunkSum::inputs ? dexp(w[j]) * delta[j] : dexp(w[j]);
    }

    Tiles sum(tiles, tiles_n, first_tile);
    sum.zero();
    for (int64_t j0 = 0; j0 < id.len; j0 += kRows) {
      __syncthreads();  // w ready; the previous row block's tiles consumed
      const int64_t valid = min(int64_t{kRows}, id.len - j0);
      fill_padded(U, kRows, Pp, valid, P, [&](int64_t r, int64_t p) {
        return w[j0 + r] * rows[lay.x(id.b, id.t0 + j0 + r, id.h) + p];
      });
      fill_padded(Bs, kRows, Np, valid, N, [&](int64_t r, int64_t n) { return cols[lay.bc(id.b, id.t0 + j0 + r, id.g) + n]; });
      __syncthreads();
      sum.mma<wmma::col_major, wmma::row_major>(U, lp, Bs, ln, kRows);  // Ũᵀ: element (p, j) is U[j·Pp + p]
    }
    sum.for_each_element(stage, [&](int64_t p, int64_t n, float value) {
      if (p < P && n < N) out[bhc * P * N + p * N + n] = value;
    });
    __syncthreads();  // before the next chunk reloads the shared arrays
  }
#endif
}

// y of row block (blockIdx.x's) i of every chunk: e^{cum_i}·C_i·S̃ᵀ + Σ_{j ≤ i} (L ∘ C_i·B_jᵀ)·U_j.
__global__ void ssd_chunk_output_tc_kernel(SsdShape s, int64_t Q, int64_t nc, const float* x, const float* dt,
                                           const float* A, const float* Cm, const float* Bm, const float* states,
                                           float* y) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
  float* sh = aligned_shared();
  const int64_t P = s.headdim, N = s.dstate, Pp = round_up(P, kTile), Np = round_up(N, kTile);
  const OutputPlan plan{Pp, Np, Q};
  float* delta = sh;
  float* a = delta + round_up(Q, 8);
  float* cum = a + round_up(Q, 8);
  float* Cs = sh + plan.c();
  float* BS = sh + plan.bs();
  float* U = sh + plan.u();
  float* WY = sh + plan.wy();
  const SsdLayout lay{s.seqlen, s.heads, s.headdim, s.groups, s.dstate};
  const unsigned lp = static_cast<unsigned>(Pp), ln = static_cast<unsigned>(Np);
  const int64_t row_blocks = (Q + kRows - 1) / kRows, tiles_p = Pp / kTile;
  const int64_t y_tiles = (kRows / kTile) * tiles_p;  // <= 32: P <= 128

  for (int64_t item = blockIdx.x; item < s.batch * s.heads * nc * row_blocks; item += gridDim.x) {
    const int64_t bhc = item / row_blocks, i0 = (item % row_blocks) * kRows;
    const SsdChunk id = ssd_chunk_id(s, Q, nc, bhc);
    if (i0 >= id.len) continue;  // the last chunk is shorter: this row block is empty (block-uniform)
    const int64_t rows_i = min(int64_t{kRows}, id.len - i0);
    load_decays(lay, id, dt, A, delta, a);
    if (threadIdx.x == 0) {
      float run = 0;
      for (int64_t i = 0; i < id.len; ++i) cum[i] = (run += a[i]);
    }
    fill_padded(Cs, kRows, Np, rows_i, N, [&](int64_t r, int64_t n) { return Cm[lay.bc(id.b, id.t0 + i0 + r, id.g) + n]; });
    fill_padded(BS, Pp, Np, P, N, [&](int64_t p, int64_t n) { return states[bhc * P * N + p * N + n]; });
    __syncthreads();

    // Y_i ← C_i·S̃ᵀ, then rows scaled by e^{cum_i} through shared memory (fragments are opaque).
    Tiles out(y_tiles, tiles_p);
    out.zero();
    out.mma<wmma::row_major, wmma::col_major>(Cs, ln, BS, ln, Np);  // S̃ᵀ: element (n, p) is S̃[p·Np + n]
    out.store(WY, lp);
    __syncthreads();
    for (int64_t e = threadIdx.x; e < kRows * Pp; e += blockDim.x) {
      const int64_t r = e / Pp;
      WY[e] = r < rows_i ? WY[e] * dexp(cum[i0 + r]) : 0.0f;
    }
    __syncthreads();
    out.load(WY, lp);

    // Y_i += (L ∘ C_i·B_jᵀ)·U_j for the row blocks j up to the diagonal.
    for (int64_t j0 = 0; j0 <= i0; j0 += kRows) {
      __syncthreads();  // S̃, B_j, U_j and W of the previous step are no longer read
      const int64_t rows_j = min(int64_t{kRows}, id.len - j0);
      fill_padded(BS, kRows, Np, rows_j, N, [&](int64_t r, int64_t n) { return Bm[lay.bc(id.b, id.t0 + j0 + r, id.g) + n]; });
      fill_padded(U, kRows, Pp, rows_j, P, [&](int64_t r, int64_t p) {
        return delta[j0 + r] * x[lay.x(id.b, id.t0 + j0 + r, id.h) + p];
      });
      __syncthreads();
      product_to_shared<kWarps, wmma::row_major, wmma::col_major>(WY, kRows, kRows, Cs, ln, BS, ln, Np);  // C_i·B_jᵀ
      __syncthreads();
      for (int64_t e = threadIdx.x; e < kRows * kRows; e += blockDim.x) {  // the causal decay mask
        const int64_t i = i0 + e / kRows, j = j0 + e % kRows;
        WY[e] = i < id.len && j <= i ? WY[e] * dexp(cum[i] - cum[j]) : 0.0f;
      }
      __syncthreads();
      out.mma<wmma::row_major, wmma::row_major>(WY, kRows, U, lp, kRows);
    }
    __syncthreads();  // W is no longer read: WY becomes Y's staging
    out.store(WY, lp);
    __syncthreads();
    for (int64_t e = threadIdx.x; e < rows_i * P; e += blockDim.x) {
      const int64_t r = e / P, p = e % P;
      y[lay.x(id.b, id.t0 + i0 + r, id.h) + p] = WY[r * Pp + p];
    }
    __syncthreads();  // before the next item reloads the shared arrays
  }
#endif
}

size_t state_bytes(const SsdShape& s, int64_t Q) {
  return StatePlan{round_up(s.headdim, kTile), round_up(s.dstate, kTile), Q}.floats() * sizeof(float) + 32;
}
size_t output_bytes(const SsdShape& s, int64_t Q) {
  return OutputPlan{round_up(s.headdim, kTile), round_up(s.dstate, kTile), Q}.floats() * sizeof(float) + 32;
}

}  // namespace

void ssd_chunk_sums_tc(const SsdShape& s, int64_t Q, int64_t nc, SsdChunkSum what, const float* rows, const float* dt,
                       const float* A, const float* cols, float* out, float* decay) {
  if (s.batch * s.heads * nc == 0) return;
  const int64_t tiles = (round_up(s.headdim, kTile) / kTile) * (round_up(s.dstate, kTile) / kTile);
  const dim3 grid(grid_for_rows(s.batch * s.heads * nc), static_cast<unsigned>((tiles + kMaxTilesPerBlock - 1) / kMaxTilesPerBlock));
  const size_t bytes = state_bytes(s, Q);
  allow_dynamic_shared(ssd_chunk_sum_tc_kernel, bytes, "ssd_chunk_sums");
  SSM_CUDA_LAUNCH("ssd_chunk_sums", ssd_chunk_sum_tc_kernel, grid, kThreads, bytes, s, Q, nc, what, rows, dt, A, cols,
                  out, decay);
}

bool ssd_chunked_forward_tc_applies(const SsdShape& s, int64_t chunk) {
  const int64_t Q = std::max<int64_t>(1, std::min(chunk, s.seqlen));
  const size_t limit = static_cast<size_t>(max_shared_per_block());  // 227 KiB on sm_90, less on others
  return s.headdim <= 128 && s.dstate <= 256 && state_bytes(s, Q) <= limit && output_bytes(s, Q) <= limit;
}

bool ssd_chunked_forward_tc(const SsdShape& s, int64_t chunk, const float* x, const float* dt, const float* A,
                            const float* Bm, const float* Cm, const float* h0, float* y, float* hT) {
  if (!ssd_chunked_forward_tc_applies(s, chunk)) return false;
  const int64_t BH = s.batch * s.heads, PN = s.headdim * s.dstate;
  if (BH == 0) return true;
  const int64_t Q = std::max<int64_t>(1, std::min(chunk, s.seqlen));
  const int64_t nc = s.seqlen == 0 ? 0 : 1 + (s.seqlen - 1) / Q;
  Tensor states = scratch(BH * nc * PN, Dtype::f32), decay = scratch(BH * nc, Dtype::f32);
  ssd_chunk_sums_tc(s, Q, nc, SsdChunkSum::inputs, x, dt, A, Bm, ptr<float>(states), ptr<float>(decay));
  ssd_pass_states<float>(s, nc, h0, ptr<const float>(decay), ptr<float>(states), hT);
  if (nc > 0) {
    const int64_t row_blocks = (Q + kRows - 1) / kRows;
    const size_t bytes = output_bytes(s, Q);
    allow_dynamic_shared(ssd_chunk_output_tc_kernel, bytes, "ssd_forward");
    SSM_CUDA_LAUNCH("ssd_forward", ssd_chunk_output_tc_kernel, grid_for_rows(BH * nc * row_blocks), kThreads, bytes, s,
                    Q, nc, x, dt, A, Cm, Bm, ptr<const float>(states), y);
  }
  return true;
}

}  // namespace ssm::cuda
