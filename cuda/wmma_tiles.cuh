// cuda/wmma_tiles.cuh — the tensor-core pieces the version-2 kernels share (docs/kernels.md): 16x16x8
// tf32 tiles of nvcuda::wmma, operands staged in shared memory padded with zeros, and a warp's
// accumulator tiles as a small array that stays in registers. Included by .cu files only; the
// host emulator (cuda/emulation/include/mma.h) implements the same calls, so the kernels that use
// these run in CI without a GPU.
//
// Layouts. A kernel keeps every operand in shared memory row-major with a leading dimension ld
// (a multiple of 16 floats). A product reads an operand as it is (row_major) or transposed
// (col_major: element (r, k) of the operand is stored at k·ld + r), so Aᵀ·B and A·Bᵀ need no copy.
#pragma once

#include <mma.h>

#include <cstdint>
#include <type_traits>

#include "cuda/kernel_util.cuh"  // defines: SSM_DYNAMIC_SHARED, SSM_UNROLL

namespace ssm::cuda::tiles {

namespace wmma = nvcuda::wmma;

constexpr int kTile = 16;  // wmma m16n16k8, tf32
constexpr int kStep = 8;   // the k of one mma

using AccTile = wmma::fragment<wmma::accumulator, kTile, kTile, kStep, float>;
template <typename Layout>
using OperandA = wmma::fragment<wmma::matrix_a, kTile, kTile, kStep, wmma::precision::tf32, Layout>;
template <typename Layout>
using OperandB = wmma::fragment<wmma::matrix_b, kTile, kTile, kStep, wmma::precision::tf32, Layout>;

__host__ __device__ constexpr int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

// Loads an operand tile and rounds it to tf32, as the tensor cores require.
template <typename Fragment>
__device__ inline void load_tf32(Fragment& f, const float* p, unsigned ldm) {
  wmma::load_matrix_sync(f, p, ldm);
  for (int e = 0; e < f.num_elements; ++e) f.x[e] = wmma::__float_to_tf32(f.x[e]);
}

// The dynamic shared memory, 32-byte aligned (wmma's requirement; launches add 32 bytes).
__device__ inline float* aligned_shared() {
  SSM_DYNAMIC_SHARED(smem);
  const uintptr_t p = reinterpret_cast<uintptr_t>(smem);
  return reinterpret_cast<float*>((p + 31) / 32 * 32);
}

// rows × cols of `dst` (ld cols) ← f(r, c) for r < rows_valid, c < cols_valid, else 0.
template <typename F>
__device__ inline void fill_padded(float* dst, int64_t rows, int64_t cols, int64_t rows_valid, int64_t cols_valid,
                                   F f) {
  for (int64_t e = threadIdx.x; e < rows * cols; e += blockDim.x) {
    const int64_t r = e / cols, c = e % cols;
    dst[e] = r < rows_valid && c < cols_valid ? f(r, c) : 0.0f;
  }
}

// Where tile (row block `tr`, k step `kk`) of operand A, or (k step `kk`, column block `tc`) of
// operand B, starts in shared memory, for either layout.
template <typename Layout>
__device__ inline const float* a_tile(const float* A, unsigned lda, int64_t tr, int64_t kk) {
  if constexpr (std::is_same_v<Layout, wmma::row_major>) return A + tr * kTile * lda + kk;
  else return A + kk * lda + tr * kTile;
}
template <typename Layout>
__device__ inline const float* b_tile(const float* B, unsigned ldb, int64_t kk, int64_t tc) {
  if constexpr (std::is_same_v<Layout, wmma::row_major>) return B + kk * ldb + tc * kTile;
  else return B + tc * kTile * ldb + kk;
}

// acc += A·B over k < K (a multiple of 8) for the output tile (tr, tc).
template <typename LayoutA, typename LayoutB>
__device__ inline void mma_tile(AccTile& acc, const float* A, unsigned lda, const float* B, unsigned ldb, int64_t tr,
                                int64_t tc, int64_t K) {
  for (int64_t kk = 0; kk < K; kk += kStep) {
    OperandA<LayoutA> a;
    OperandB<LayoutB> b;
    load_tf32(a, a_tile<LayoutA>(A, lda, tr, kk), lda);
    load_tf32(b, b_tile<LayoutB>(B, ldb, kk, tc), ldb);
    wmma::mma_sync(acc, a, b, acc);
  }
}

// A warp's share of an output of `tiles` 16×16 tiles, `tiles_n` across: tile t = first + warp +
// k·Warps is acc[k] (first: where this block's share starts, when several blocks split one
// output). The loops over k are unrolled and skip with `continue`, so the array stays in
// registers (a loop the compiler cannot unroll would put it on the stack).
template <int Warps, int PerWarp>
struct WarpTiles {
  AccTile acc[PerWarp];
  int64_t tiles, tiles_n, first;
  int warp;

  __device__ WarpTiles(int64_t tiles_, int64_t tiles_n_, int64_t first_ = 0)
      : tiles(tiles_), tiles_n(tiles_n_), first(first_), warp(threadIdx.x / 32) {}

  __device__ int64_t tile(int k) const { return first + warp + k * Warps; }  // >= tiles: none

  __device__ void zero() {
SSM_UNROLL
    for (int k = 0; k < PerWarp; ++k) wmma::fill_fragment(acc[k], 0.0f);
  }
  // acc += A·B over K: A is (tile rows × K), B is (K × tile columns).
  template <typename LayoutA, typename LayoutB>
  __device__ void mma(const float* A, unsigned lda, const float* B, unsigned ldb, int64_t K) {
SSM_UNROLL
    for (int k = 0; k < PerWarp; ++k) {
      const int64_t t = tile(k);
      if (t >= tiles) continue;
      mma_tile<LayoutA, LayoutB>(acc[k], A, lda, B, ldb, t / tiles_n, t % tiles_n, K);
    }
  }
  // The tiles to shared memory, row-major with leading dimension ld (then a barrier is needed
  // before other warps read them).
  __device__ void store(float* dst, unsigned ld) const {
SSM_UNROLL
    for (int k = 0; k < PerWarp; ++k) {
      const int64_t t = tile(k);
      if (t >= tiles) continue;
      wmma::store_matrix_sync(dst + (t / tiles_n) * kTile * ld + (t % tiles_n) * kTile, acc[k], ld, wmma::mem_row_major);
    }
  }
  // Each tile through `stage` (a 16×16 scratch of this warp's own), then put(row, col, value) for
  // its elements, the lanes splitting them: for outputs that go to global memory unpadded.
  template <typename Put>
  __device__ void for_each_element(float* stage, Put put) const {
SSM_UNROLL
    for (int k = 0; k < PerWarp; ++k) {
      const int64_t t = tile(k);
      if (t >= tiles) continue;
      wmma::store_matrix_sync(stage, acc[k], kTile, wmma::mem_row_major);
      for (int e = threadIdx.x % 32; e < kTile * kTile; e += 32) {
        put((t / tiles_n) * kTile + e / kTile, (t % tiles_n) * kTile + e % kTile, stage[e]);
      }
      __syncwarp();  // every lane has read the tile before the next one is stored over it
    }
  }
  __device__ void load(const float* src, unsigned ld) {
SSM_UNROLL
    for (int k = 0; k < PerWarp; ++k) {
      const int64_t t = tile(k);
      if (t >= tiles) continue;
      wmma::load_matrix_sync(acc[k], src + (t / tiles_n) * kTile * ld + (t % tiles_n) * kTile, ld, wmma::mem_row_major);
    }
  }
};

// dst (rows × cols, ld cols; both multiples of 16) ← A·B over K, each warp a tile at a time; the
// product is written whole, with no accumulator kept across calls.
template <int Warps, typename LayoutA, typename LayoutB>
__device__ inline void product_to_shared(float* dst, int64_t rows, int64_t cols, const float* A, unsigned lda,
                                         const float* B, unsigned ldb, int64_t K) {
  const int64_t tiles_n = cols / kTile;
  for (int64_t t = threadIdx.x / 32; t < (rows / kTile) * tiles_n; t += Warps) {
    AccTile w;
    wmma::fill_fragment(w, 0.0f);
    mma_tile<LayoutA, LayoutB>(w, A, lda, B, ldb, t / tiles_n, t % tiles_n, K);
    wmma::store_matrix_sync(dst + (t / tiles_n) * kTile * cols + (t % tiles_n) * kTile, w, static_cast<unsigned>(cols),
                            wmma::mem_row_major);
  }
}

}  // namespace ssm::cuda::tiles
