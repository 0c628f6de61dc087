// cuda/scan/gla_cuda.cuh — what the GLA files share: the layout's offsets, and version 2 of the forward on the tensor cores
// (cuda/scan/gla_cuda_chunked_tc.cu), called by the backend's entry point in
// cuda/scan/gla_cuda_recurrent.cu, which also holds version 1. Raw contiguous device pointers in
// the layouts of ops/scan/gla.h; u is null without the bonus, h0 may be null. Included by .cu files only.
#pragma once

#include <cstdint>

#include "ops/backend.h"  // defines: GlaShape

namespace ssm::cuda {

// Offsets into the (B,T,H,K) and (B,T,H,V) layouts (as the CPU's GlaLayout), shared by both versions.
struct GlaIndex {
  int64_t T, H, K, V;
  __device__ int64_t key(int64_t b, int64_t t, int64_t h) const { return ((b * T + t) * H + h) * K; }
  __device__ int64_t value(int64_t b, int64_t t, int64_t h) const { return ((b * T + t) * H + h) * V; }
};

// Whether version 2 takes this shape (K, V <= 128, tiles within the device's shared memory per
// block); the forward runs nothing and returns false when not.
bool gla_forward_tc_applies(const GlaShape& s);
bool gla_forward_tc(const GlaShape& s, bool bonus, const float* q, const float* k, const float* v, const float* g,
                    const float* u, const float* h0, float* o, float* hT);

}  // namespace ssm::cuda
