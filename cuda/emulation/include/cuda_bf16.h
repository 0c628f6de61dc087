// cuda/emulation/include/cuda_bf16.h — bfloat16 for the emulated build: the bits and CUDA's
// conversions (round to nearest even, as core/bf16.h and the device's __float2bfloat16).
#pragma once

#include "core/bf16.h"  // defines: bf16_to_float, float_to_bf16

struct __nv_bfloat16 {
  uint16_t bits;
};
inline float __bfloat162float(__nv_bfloat16 v) { return ssm::bf16_to_float(v.bits); }
inline __nv_bfloat16 __float2bfloat16(float f) { return __nv_bfloat16{ssm::float_to_bf16(f)}; }
