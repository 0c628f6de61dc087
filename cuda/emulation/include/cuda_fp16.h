// cuda/emulation/include/cuda_fp16.h — fp16 for the emulated build: the bits and the conversions
// of core/f16.h (round to nearest even, as the device's __float2half).
#pragma once

#include "core/f16.h"  // defines: f16_to_float, float_to_f16

struct __half {
  uint16_t bits;
};
inline float __half2float(__half v) { return ssm::f16_to_float(v.bits); }
inline __half __float2half(float f) { return __half{ssm::float_to_f16(f)}; }
