// ops/cpu/fast_exp.h — e^x for f32 in straight-line code the compiler can vectorise.
//
// libm's expf is a function call per element, which no loop vectorises; the row kernels of
// softmax and cross-entropy spend most of their time in it. This one is Cephes' expf: split
// x = n·ln2 + r with |r| <= ln2/2 (ln2 in two parts, so r is exact to f32), e^r by a degree-7
// polynomial, and 2^n put straight into the exponent bits. Its error is within 2 ulp of the
// exact value over the whole range (tests/ops/test_ops_layers.cpp checks it against exp in
// double); below e^-87.34 (the smallest normal f32) it returns 0 and above e^88.37 (where 2^n
// would leave the exponent range) infinity, with selects rather than branches. Softmax and
// cross-entropy only ever take it of values <= 0.
#pragma once

#include <cmath>
#include <cstdint>

#include "ops/cpu/simd.h"  // defines: SSM_INLINE

namespace ssm::cpu {

SSM_INLINE float fast_exp(float x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
  // Clamped with comparisons, not std::fmin/fmax (library calls a loop cannot vectorise) nor
  // std::clamp (not inlined into the vector clones, ops/cpu/simd.h); a NaN stays NaN.
  float xc = x < -87.33654f ? -87.33654f : x;
  xc = xc > 88.37626f ? 88.37626f : xc;
  // n = round(x / ln2) by the 1.5·2^23 trick: adding it pushes the fraction out of the mantissa
  // (round to nearest), subtracting it leaves the integer. std::floor would be a library call
  // in loops the compiler then cannot vectorise.
  constexpr float kRound = 12582912.0f;  // 1.5·2^23
  const float n = (xc * kLog2e + kRound) - kRound;
  float r = xc - n * kLn2Hi;
  r = r - n * kLn2Lo;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const float scale = __builtin_bit_cast(float, static_cast<int32_t>(n + 127.0f) << 23);
  // Two plain selects (a nested one keeps GCC from if-converting the loop: "control flow in loop").
  float y = p * scale;
  y = x < -87.33654f ? 0.0f : y;
  y = x > 88.37626f ? INFINITY : y;
  return y;
}

}  // namespace ssm::cpu
