// core/bf16.h — bfloat16 <-> float conversion on the host.
//
// bf16 is the top half of an IEEE float32. Rounding float -> bf16 is round-to-nearest-even,
// the same rule PyTorch and CUDA's __float2bfloat16 use, so CPU and GPU agree bit for bit.
#pragma once

#include <cstdint>
#include <cstring>

namespace ssm {

inline float bf16_to_float(uint16_t bits) {
  uint32_t u = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

inline uint16_t float_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu) != 0) {
    return static_cast<uint16_t>((u >> 16) | 0x0040u);  // keep NaN a (quiet) NaN
  }
  const uint32_t rounding_bias = 0x7fffu + ((u >> 16) & 1u);  // ties go to even
  return static_cast<uint16_t>((u + rounding_bias) >> 16);
}

}  // namespace ssm
