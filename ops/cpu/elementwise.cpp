// ops/cpu/elementwise.cpp — copy, unary and broadcasting binary kernels (CPU reference). The
// unary formulas and their derivatives live in ops/unary_math.h, shared with cuda/elementwise.cu.
#include <type_traits>

#include "ops/cpu/cpu_backend.h"
#include "ops/cpu/strided.h"  // defines: for_each_strided
#include "ops/unary_math.h"   // defines: unary_value, unary_derivative

namespace ssm {

void CpuBackend::copy(const Tensor& src, const Tensor& dst) { cpu_copy(src, dst); }

namespace {

template <typename T>
T apply_binary(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::add: return a + b;
    case BinaryOp::sub: return a - b;
    case BinaryOp::mul: return a * b;
    case BinaryOp::div: return a / b;
  }
  return a;
}

}  // namespace

// Calls fn with the op as a compile-time constant, so the loop it runs has no switch inside and
// the compiler can vectorise it (the formulas of unary_math.h fold to straight-line code).
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

void CpuBackend::unary(UnaryOp op, const Tensor& x, const Tensor& out, double scalar) {
  dispatch_floating(x.dtype(), "unary", [&]<typename T>() {
    const T* px = static_cast<const T*>(x.impl()->storage->data.get());
    T* po = out.data<T>();
    const T s = static_cast<T>(scalar);
    with_unary_op(op, [&](auto op_constant) {
      constexpr UnaryOp kOp = decltype(op_constant)::value;
      if (x.is_contiguous()) {  // the common case: a flat loop over both
        const T* xc = px + x.offset();
        const int64_t n = out.numel();
#pragma omp parallel for schedule(static) if (worth_parallel(n))
        for (int64_t i = 0; i < n; ++i) po[i] = unary_math::unary_value(kOp, xc[i], s);
        return;
      }
      cpu::for_each_strided<1>(out.shape(), {&x.strides()}, {x.offset()},
                               [&](int64_t i, const std::array<int64_t, 1>& o) {
                                 po[i] = unary_math::unary_value(kOp, px[o[0]], s);
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
    const int64_t n = x.numel();
    with_unary_op(op, [&](auto op_constant) {
      constexpr UnaryOp kOp = decltype(op_constant)::value;
#pragma omp parallel for schedule(static) if (worth_parallel(n))
      for (int64_t i = 0; i < n; ++i) pdx[i] = pdy[i] * unary_math::unary_derivative(kOp, px[i], py[i], s);
    });
  });
}

void CpuBackend::binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  dispatch_floating(out.dtype(), "binary", [&]<typename T>() {
    const T* pa = static_cast<const T*>(a.impl()->storage->data.get());
    const T* pb = static_cast<const T*>(b.impl()->storage->data.get());
    T* po = out.data<T>();
    if (a.is_contiguous() && b.is_contiguous()) {  // the common fast path: same shapes
      pa += a.offset();
      pb += b.offset();
      const int64_t n = out.numel();
#pragma omp parallel for schedule(static) if (worth_parallel(n))
      for (int64_t i = 0; i < n; ++i) po[i] = apply_binary(op, pa[i], pb[i]);
      return;
    }
    cpu::for_each_strided<2>(out.shape(), {&a.strides(), &b.strides()}, {a.offset(), b.offset()},
                             [&](int64_t i, const std::array<int64_t, 2>& o) {
                               po[i] = apply_binary(op, pa[o[0]], pb[o[1]]);
                             });
  });
}

}  // namespace ssm
