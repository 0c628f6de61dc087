// ops/cpu/elementwise.cpp — copy, unary and broadcasting binary kernels on the CPU. The unary
// formulas and their derivatives live in ops/unary_math.h, shared with cuda/elementwise.cu; in f32
// the exp-based ones (exp, sigmoid, silu and their derivatives) take e^x from fast_exp here, so
// their loops vectorise (within a few ulp of libm's expf).
//
// Every loop is the work of one block of elements, in a function compiled for each vector width
// (SSM_CPU_CLONES) with the op as a compile-time constant (no switch per element); the parallel
// loops hand out whole blocks or whole rows, so every output element is written by one thread.
#include <omp.h>

#include <algorithm>
#include <type_traits>
#include <vector>

#include "ops/cpu/cpu_backend.h"
#include "ops/cpu/fast_exp.h"  // defines: fast_exp
#include "ops/cpu/simd.h"      // defines: SSM_CPU_CLONES
#include "ops/cpu/strided.h"   // defines: for_each_strided
#include "ops/unary_math.h"    // defines: unary_value, unary_derivative

namespace ssm {

void CpuBackend::copy(const Tensor& src, const Tensor& dst) { cpu_copy(src, dst); }

namespace {

constexpr int64_t kBlock = 1 << 14;  // elements per parallel job of the flat loops

// ---- unary ---------------------------------------------------------------------------------

// Calls fn with the op as a compile-time constant.
template <typename Fn>
void with_unary_op(UnaryOp op, Fn&& fn) {
  switch (op) {
#define SSM_UNARY_CASE(name) \
  case UnaryOp::name: fn(std::integral_constant<UnaryOp, UnaryOp::name>{}); return;
    SSM_UNARY_CASE(neg) SSM_UNARY_CASE(exp) SSM_UNARY_CASE(log) SSM_UNARY_CASE(sqrt) SSM_UNARY_CASE(square)
    SSM_UNARY_CASE(sigmoid) SSM_UNARY_CASE(tanh) SSM_UNARY_CASE(silu) SSM_UNARY_CASE(softplus)
    SSM_UNARY_CASE(relu) SSM_UNARY_CASE(add_scalar) SSM_UNARY_CASE(mul_scalar)
#undef SSM_UNARY_CASE
  }
  SSM_CHECK(false, "unary: unknown op ", static_cast<int>(op));
}

template <typename T>
SSM_INLINE T sigmoid_cpu(T x) {
  if constexpr (std::is_same_v<T, float>) {
    return 1.0f / (1.0f + cpu::fast_exp(-x));
  } else {
    return unary_math::sigmoid_of(x);
  }
}

// f(x) as unary_math.h defines it; f32's exp-based ops through fast_exp.
template <UnaryOp kOp, typename T>
SSM_INLINE T value_of(T x, T s) {
  if constexpr (std::is_same_v<T, float>) {
    if constexpr (kOp == UnaryOp::exp) return cpu::fast_exp(x);
    if constexpr (kOp == UnaryOp::sigmoid) return sigmoid_cpu(x);
    if constexpr (kOp == UnaryOp::silu) return x * sigmoid_cpu(x);
  }
  return unary_math::unary_value(kOp, x, s);
}

// f'(x) likewise (exp and sigmoid reuse y, as unary_math.h does).
template <UnaryOp kOp, typename T>
SSM_INLINE T derivative_of(T x, T y, T s) {
  if constexpr (std::is_same_v<T, float>) {
    if constexpr (kOp == UnaryOp::silu) {
      const float sg = sigmoid_cpu(x);
      return sg * (1.0f + x * (1.0f - sg));
    }
    if constexpr (kOp == UnaryOp::softplus) return x > 20.0f ? 1.0f : sigmoid_cpu(x);
  }
  return unary_math::unary_derivative(kOp, x, y, s);
}

template <UnaryOp kOp, typename T>
SSM_CPU_CLONES void unary_block(const T* x, T* y, int64_t n, T s) {
  for (int64_t i = 0; i < n; ++i) y[i] = value_of<kOp>(x[i], s);
}

template <UnaryOp kOp, typename T>
SSM_CPU_CLONES void unary_backward_block(const T* x, const T* y, const T* dy, T* dx, int64_t n, T s) {
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * derivative_of<kOp>(x[i], y[i], s);
}

// ---- binary --------------------------------------------------------------------------------

template <typename Fn>
void with_binary_op(BinaryOp op, Fn&& fn) {
  switch (op) {
    case BinaryOp::add: fn(std::integral_constant<BinaryOp, BinaryOp::add>{}); return;
    case BinaryOp::sub: fn(std::integral_constant<BinaryOp, BinaryOp::sub>{}); return;
    case BinaryOp::mul: fn(std::integral_constant<BinaryOp, BinaryOp::mul>{}); return;
    case BinaryOp::div: fn(std::integral_constant<BinaryOp, BinaryOp::div>{}); return;
  }
  SSM_CHECK(false, "binary: unknown op ", static_cast<int>(op));
}

template <BinaryOp kOp, typename T>
SSM_INLINE T apply(T a, T b) {
  if constexpr (kOp == BinaryOp::add) return a + b;
  if constexpr (kOp == BinaryOp::sub) return a - b;
  if constexpr (kOp == BinaryOp::mul) return a * b;
  return a / b;
}

// One row: a and b step by sa and sb (1, or 0 for a broadcast operand), out is contiguous.
template <BinaryOp kOp, typename T>
SSM_CPU_CLONES void binary_row(const T* a, int64_t sa, const T* b, int64_t sb, T* out, int64_t n) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; ++i) out[i] = apply<kOp>(a[i], b[i]);
  } else if (sa == 1 && sb == 0) {
    const T bv = *b;
    for (int64_t i = 0; i < n; ++i) out[i] = apply<kOp>(a[i], bv);
  } else if (sa == 0 && sb == 1) {
    const T av = *a;
    for (int64_t i = 0; i < n; ++i) out[i] = apply<kOp>(av, b[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = apply<kOp>(a[i * sa], b[i * sb]);
  }
}

// The broadcast as few dims as possible: size-1 dims dropped, neighbours merged where both
// operands step through them as through one (broadcast dims, stride 0, merge with each other).
struct BroadcastWalk {
  std::vector<int64_t> shape, a, b;  // innermost last
};

BroadcastWalk collapse(const Shape& shape, const Shape& sa, const Shape& sb) {
  BroadcastWalk w;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (!w.shape.empty() && w.a.back() == sa[d] * shape[d] && w.b.back() == sb[d] * shape[d]) {
      w.shape.back() *= shape[d];
      w.a.back() = sa[d];
      w.b.back() = sb[d];
      continue;
    }
    w.shape.push_back(shape[d]);
    w.a.push_back(sa[d]);
    w.b.push_back(sb[d]);
  }
  if (w.shape.empty()) w = {{1}, {0}, {0}};
  return w;
}

// out = a (op) b row by row over the collapsed walk; each thread takes a contiguous range of
// rows, finds its first row's operand offsets once, then steps like an odometer.
template <BinaryOp kOp, typename T>
void binary_broadcast(const BroadcastWalk& w, const T* pa, const T* pb, T* po) {
  const int64_t nd = static_cast<int64_t>(w.shape.size()), inner = w.shape[nd - 1];
  int64_t rows = 1;
  for (int64_t d = 0; d + 1 < nd; ++d) rows *= w.shape[d];
#pragma omp parallel if (worth_parallel(rows * inner))
  {
    const int64_t threads = omp_get_num_threads(), me = omp_get_thread_num();
    const int64_t r0 = rows * me / threads, r1 = rows * (me + 1) / threads;
    std::vector<int64_t> idx(static_cast<size_t>(std::max<int64_t>(nd - 1, 1)), 0);
    int64_t oa = 0, ob = 0;
    for (int64_t d = nd - 2, rest = r0; d >= 0; --d) {  // unravel the first row
      idx[d] = rest % w.shape[d];
      rest /= w.shape[d];
      oa += idx[d] * w.a[d];
      ob += idx[d] * w.b[d];
    }
    for (int64_t r = r0; r < r1; ++r) {
      binary_row<kOp>(pa + oa, w.a[nd - 1], pb + ob, w.b[nd - 1], po + r * inner, inner);
      for (int64_t d = nd - 2; d >= 0; --d) {
        if (++idx[d] < w.shape[d]) {
          oa += w.a[d];
          ob += w.b[d];
          break;
        }
        oa -= w.a[d] * (w.shape[d] - 1);
        ob -= w.b[d] * (w.shape[d] - 1);
        idx[d] = 0;
      }
    }
  }
}

}  // namespace

void CpuBackend::unary(UnaryOp op, const Tensor& x, const Tensor& out, double scalar) {
  dispatch_floating(x.dtype(), "unary", [&]<typename T>() {
    const T* px = static_cast<const T*>(x.impl()->storage->data.get());
    T* po = out.data<T>();
    const T s = static_cast<T>(scalar);
    with_unary_op(op, [&](auto op_constant) {
      constexpr UnaryOp kOp = decltype(op_constant)::value;
      if (x.is_contiguous()) {  // the common case: a flat loop over both
        const T* xc = px + x.offset();
        const int64_t n = out.numel(), blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (worth_parallel(n))
        for (int64_t blk = 0; blk < blocks; ++blk) {
          const int64_t at = blk * kBlock;
          unary_block<kOp>(xc + at, po + at, std::min(kBlock, n - at), s);
        }
        return;
      }
      cpu::for_each_strided<1>(out.shape(), {&x.strides()}, {x.offset()},
                               [&](int64_t i, const std::array<int64_t, 1>& o) {
                                 po[i] = value_of<kOp>(px[o[0]], s);
                               });
    });
  });
}

void CpuBackend::unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& dy,
                                const Tensor& dx, double scalar) {
  dispatch_floating(x.dtype(), "unary_backward", [&]<typename T>() {
    const T* px = x.data<T>();
    const T* py = y.data<T>();
    const T* pdy = dy.data<T>();
    T* pdx = dx.data<T>();
    const T s = static_cast<T>(scalar);
    const int64_t n = x.numel(), blocks = (n + kBlock - 1) / kBlock;
    with_unary_op(op, [&](auto op_constant) {
      constexpr UnaryOp kOp = decltype(op_constant)::value;
#pragma omp parallel for schedule(static) if (worth_parallel(n))
      for (int64_t blk = 0; blk < blocks; ++blk) {
        const int64_t at = blk * kBlock;
        unary_backward_block<kOp>(px + at, py + at, pdy + at, pdx + at, std::min(kBlock, n - at), s);
      }
    });
  });
}

void CpuBackend::binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  dispatch_floating(out.dtype(), "binary", [&]<typename T>() {
    const T* pa = static_cast<const T*>(a.impl()->storage->data.get()) + a.offset();
    const T* pb = static_cast<const T*>(b.impl()->storage->data.get()) + b.offset();
    T* po = out.data<T>();
    with_binary_op(op, [&](auto op_constant) {
      constexpr BinaryOp kOp = decltype(op_constant)::value;
      if (a.is_contiguous() && b.is_contiguous() && a.numel() == out.numel() && b.numel() == out.numel()) {
        const int64_t n = out.numel(), blocks = (n + kBlock - 1) / kBlock;  // same shapes: one flat loop
#pragma omp parallel for schedule(static) if (worth_parallel(n))
        for (int64_t blk = 0; blk < blocks; ++blk) {
          const int64_t at = blk * kBlock;
          binary_row<kOp>(pa + at, 1, pb + at, 1, po + at, std::min(kBlock, n - at));
        }
        return;
      }
      binary_broadcast<kOp>(collapse(out.shape(), a.strides(), b.strides()), pa, pb, po);
    });
  });
}

}  // namespace ssm
