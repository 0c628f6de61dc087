// ops/unary_math.h — the math of every UnaryOp, written once: its value f(x) and its derivative
// f'(x). The CPU reference (ops/cpu/elementwise.cpp) and the CUDA kernels (cuda/elementwise.cu)
// both call these, so the two backends cannot drift apart on a formula or a threshold.
//
// Templates on the arithmetic type A: the CPU instantiates them with the tensor's type (float or
// double), CUDA with its accumulation type (float for f32 and bf16, double for f64). Each function
// is SSM_HOST_DEVICE: `__host__ __device__` when nvcc compiles it, so GPU kernels can call it, and
// nothing for a plain C++ compiler (the CPU build, and the host emulator of cuda/emulation/, which
// compiles the .cu files as C++ and defines CUDA's keywords away itself).
#pragma once

#include <math.h>  // expf, exp, ...: the C names, which nvcc provides in host and device code

#include "ops/backend.h"  // defines: UnaryOp

#if defined(__CUDACC__)
#define SSM_HOST_DEVICE __host__ __device__
#define SSM_MATH_INLINE __host__ __device__ __forceinline__
#else
#define SSM_HOST_DEVICE
// Always inlined: the CPU's vectorised loops are compiled per instruction set
// (ops/cpu/simd.h), and GCC inlines a plain inline function into none of them.
#define SSM_MATH_INLINE [[gnu::always_inline]] inline
#endif

namespace ssm::unary_math {

// The C math functions by argument type: float calls the single-precision function (what
// std::exp(float) does on the CPU), double the double one.
SSM_MATH_INLINE float exp_of(float v) { return ::expf(v); }
SSM_MATH_INLINE double exp_of(double v) { return ::exp(v); }
SSM_MATH_INLINE float log_of(float v) { return ::logf(v); }
SSM_MATH_INLINE double log_of(double v) { return ::log(v); }
SSM_MATH_INLINE float log1p_of(float v) { return ::log1pf(v); }
SSM_MATH_INLINE double log1p_of(double v) { return ::log1p(v); }
SSM_MATH_INLINE float sqrt_of(float v) { return ::sqrtf(v); }
SSM_MATH_INLINE double sqrt_of(double v) { return ::sqrt(v); }
SSM_MATH_INLINE float tanh_of(float v) { return ::tanhf(v); }
SSM_MATH_INLINE double tanh_of(double v) { return ::tanh(v); }

template <typename A>
SSM_MATH_INLINE A sigmoid_of(A x) { return A(1) / (A(1) + exp_of(-x)); }

// f(x); `s` is the constant of add_scalar / mul_scalar. softplus is x itself above 20, the
// threshold every reference implementation uses (exp would overflow f32 soon after).
template <typename A>
SSM_MATH_INLINE A unary_value(UnaryOp op, A x, A s) {
  switch (op) {
    case UnaryOp::neg: return -x;
    case UnaryOp::exp: return exp_of(x);
    case UnaryOp::log: return log_of(x);
    case UnaryOp::sqrt: return sqrt_of(x);
    case UnaryOp::square: return x * x;
    case UnaryOp::sigmoid: return sigmoid_of(x);
    case UnaryOp::tanh: return tanh_of(x);
    case UnaryOp::silu: return x * sigmoid_of(x);
    case UnaryOp::softplus: return x > A(20) ? x : log1p_of(exp_of(x));
    case UnaryOp::relu: return x > A(0) ? x : A(0);
    case UnaryOp::add_scalar: return x + s;
    case UnaryOp::mul_scalar: return x * s;
  }
  return x;
}

// f'(x), from x and/or y = f(x): where the derivative is a function of the output (exp, sqrt,
// sigmoid, tanh) it reuses y instead of recomputing f.
template <typename A>
SSM_MATH_INLINE A unary_derivative(UnaryOp op, A x, A y, A s) {
  switch (op) {
    case UnaryOp::neg: return A(-1);
    case UnaryOp::exp: return y;
    case UnaryOp::log: return A(1) / x;
    case UnaryOp::sqrt: return A(0.5) / y;
    case UnaryOp::square: return A(2) * x;
    case UnaryOp::sigmoid: return y * (A(1) - y);
    case UnaryOp::tanh: return A(1) - y * y;
    case UnaryOp::silu: {
      const A sg = sigmoid_of(x);
      return sg * (A(1) + x * (A(1) - sg));
    }
    case UnaryOp::softplus: return x > A(20) ? A(1) : sigmoid_of(x);
    case UnaryOp::relu: return x > A(0) ? A(1) : A(0);
    case UnaryOp::add_scalar: return A(1);
    case UnaryOp::mul_scalar: return s;
  }
  return A(1);
}

}  // namespace ssm::unary_math
