// cuda/emulation/include/mma.h — the warp matrix (wmma) interface of CUDA's <mma.h>, emulated on
// the host for the tensor-core kernels (docs/kernels.md, "Tensor cores on the emulator").
//
// A real fragment spreads its tile over the 32 lanes of a warp in a layout CUDA leaves
// unspecified, so a correct kernel only touches fragments through these calls and through
// element-wise loops over x[0 .. num_elements) that treat every element alike. Here every lane
// holds the whole tile (num_elements = rows x cols): any such kernel computes the same thing.
// What the emulator checks, as the hardware requires:
//   - every *_sync call is reached by all lanes of the warp (a divergent call is a deadlock,
//     reported at once by the emulator);
//   - pointers are 32-byte aligned and ldm is a multiple of 16 bytes;
//   - precision::tf32 operands hold tf32 values: the kernel must round them with
//     __float_to_tf32 after loading, as on the device (the emulator aborts on a float with more
//     than tf32's 10 mantissa bits, so a missing rounding shows up here, not as a small error
//     on a GPU). Under SSMLAB_EMULATED_TF32=exact (cuda_emulation::exact_tf32) the rounding is
//     left out and the operands stay fp32, for tests of a kernel's algebra alone.
// mma_sync accumulates in float, k in order; a GPU sums in another order, so results agree to
// float rounding, which is what the tests allow for the tensor-core versions.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "cuda_bf16.h"
#include "cuda_runtime.h"

namespace nvcuda::wmma {

struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };
namespace precision {
struct tf32 {};
}

namespace detail {
// The element type a fragment stores for an operand type (tf32 operands are stored as float).
template <typename T> struct storage { using type = T; };
template <> struct storage<precision::tf32> { using type = float; };

template <typename Use, int M, int N, int K> struct extent;
template <int M, int N, int K> struct extent<matrix_a, M, N, K> { static constexpr int rows = M, cols = K; };
template <int M, int N, int K> struct extent<matrix_b, M, N, K> { static constexpr int rows = K, cols = N; };
template <int M, int N, int K> struct extent<accumulator, M, N, K> { static constexpr int rows = M, cols = N; };

inline float to_float(float v) { return v; }
inline float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }

[[noreturn]] inline void misuse(const char* what) {
  std::fprintf(stderr, "cuda emulator: wmma: %s\n", what);
  std::abort();
}
inline void check_pointer(const void* p, unsigned ldm, size_t element_bytes) {
  if (reinterpret_cast<uintptr_t>(p) % 32 != 0) misuse("the pointer must be 32-byte aligned");
  if ((ldm * element_bytes) % 16 != 0) misuse("ldm must be a multiple of 16 bytes");
}
inline bool is_tf32(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  return (bits & 0x1FFFu) == 0;  // the 13 low mantissa bits are zero
}
}  // namespace detail

template <typename Use, int M, int N, int K, typename T, typename Layout = void>
struct fragment {
  using element_type = typename detail::storage<T>::type;
  static constexpr int rows = detail::extent<Use, M, N, K>::rows, cols = detail::extent<Use, M, N, K>::cols;
  static constexpr int num_elements = rows * cols;
  element_type x[num_elements];  // row-major here; opaque to kernels
};

// Rounds to tf32 (10 mantissa bits, to nearest, ties away from zero, as cvt.rna.tf32.f32).
inline float __float_to_tf32(float v) {
  if (cuda_emulation::exact_tf32()) return v;
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  if ((bits & 0x7F800000u) != 0x7F800000u) bits = (bits + 0x1000u) & ~0x1FFFu;  // NaN and inf unchanged
  float out;
  std::memcpy(&out, &bits, 4);
  return out;
}

template <typename Use, int M, int N, int K, typename T, typename Layout, typename Element>
void fill_fragment(fragment<Use, M, N, K, T, Layout>& f, Element value) {
  cuda_emulation::warp_barrier();
  for (auto& e : f.x) e = static_cast<typename fragment<Use, M, N, K, T, Layout>::element_type>(value);
}

// matrix_a / matrix_b: the layout is the fragment's.
template <typename Use, int M, int N, int K, typename T, typename Layout, typename Element>
void load_matrix_sync(fragment<Use, M, N, K, T, Layout>& f, const Element* p, unsigned ldm) {
  static_assert(!std::is_same_v<Layout, void>, "an operand fragment needs row_major or col_major");
  detail::check_pointer(p, ldm, sizeof(Element));
  cuda_emulation::warp_barrier();  // all lanes arrive: what others wrote before is visible
  using F = fragment<Use, M, N, K, T, Layout>;
  for (int r = 0; r < F::rows; ++r) {
    for (int c = 0; c < F::cols; ++c) {
      f.x[r * F::cols + c] = std::is_same_v<Layout, row_major> ? p[r * ldm + c] : p[c * ldm + r];
    }
  }
  cuda_emulation::warp_barrier();
}

// accumulator: the layout is given per call.
template <int M, int N, int K, typename T>
void load_matrix_sync(fragment<accumulator, M, N, K, T>& f, const T* p, unsigned ldm, layout_t layout) {
  detail::check_pointer(p, ldm, sizeof(T));
  cuda_emulation::warp_barrier();
  for (int r = 0; r < M; ++r) {
    for (int c = 0; c < N; ++c) f.x[r * N + c] = layout == mem_row_major ? p[r * ldm + c] : p[c * ldm + r];
  }
  cuda_emulation::warp_barrier();
}

template <int M, int N, int K, typename T>
void store_matrix_sync(T* p, const fragment<accumulator, M, N, K, T>& f, unsigned ldm, layout_t layout) {
  detail::check_pointer(p, ldm, sizeof(T));
  cuda_emulation::warp_barrier();
  for (int r = 0; r < M; ++r) {
    for (int c = 0; c < N; ++c) (layout == mem_row_major ? p[r * ldm + c] : p[c * ldm + r]) = f.x[r * N + c];
  }
  cuda_emulation::warp_barrier();
}

// d = a·b + c, in float.
template <int M, int N, int K, typename T, typename LA, typename LB, typename Acc>
void mma_sync(fragment<accumulator, M, N, K, Acc>& d, const fragment<matrix_a, M, N, K, T, LA>& a,
              const fragment<matrix_b, M, N, K, T, LB>& b, const fragment<accumulator, M, N, K, Acc>& c) {
  cuda_emulation::warp_barrier();
  if constexpr (std::is_same_v<T, precision::tf32>) {
    if (!cuda_emulation::exact_tf32()) {
      for (float v : a.x) if (!detail::is_tf32(v)) detail::misuse("a tf32 operand was not rounded with __float_to_tf32");
      for (float v : b.x) if (!detail::is_tf32(v)) detail::misuse("a tf32 operand was not rounded with __float_to_tf32");
    }
  }
  Acc out[M * N];
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < N; ++j) {
      float acc = static_cast<float>(c.x[i * N + j]);
      for (int k = 0; k < K; ++k) acc += detail::to_float(a.x[i * K + k]) * detail::to_float(b.x[k * N + j]);
      out[i * N + j] = static_cast<Acc>(acc);
    }
  }
  std::memcpy(d.x, out, sizeof(out));
  cuda_emulation::warp_barrier();
}

}  // namespace nvcuda::wmma
