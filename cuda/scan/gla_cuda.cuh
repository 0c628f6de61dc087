// cuda/scan/gla_cuda.cuh — what the GLA files share: the layout's offsets, and version 2 of the forward and the
// backward on the tensor cores (cuda/scan/gla_cuda_chunked_tc.cu, cuda/scan/gla_cuda_chunked_backward_tc.cu),
// called by the backend's entry points in cuda/scan/gla_cuda_recurrent.cu, which also holds version 1.
// Raw contiguous device pointers in the layouts of ops/scan/gla.h; u is null without the bonus; h0,
// dhT and dh0 may be null. Included by .cu files only.
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
// block); the forward and the backward run nothing and return false when not.
bool gla_forward_tc_applies(const GlaShape& s);
bool gla_forward_tc(const GlaShape& s, bool bonus, const float* q, const float* k, const float* v, const float* g,
                    const float* u, const float* h0, float* o, float* hT);
bool gla_backward_tc_applies(const GlaShape& s);
bool gla_backward_tc(const GlaShape& s, bool bonus, const float* q, const float* k, const float* v, const float* g,
                     const float* u, const float* h0, const float* dout, const float* dhT, float* dq, float* dk,
                     float* dv, float* dg, float* du, float* dh0);

// The chunk-state passes of version 2, in chunks of 64 steps (nc of them per (batch, head)), which the
// backward reruns. Forward: states[(bh·nc + c)·K·V ...] ← the state entering chunk c, hT ← the last
// one's end state, decay[(bh·nc + c)·K + d] ← e^{Σ g} over chunk c. Backward: dstates[...] ← the
// gradient of the state chunk c hands on, dh0 (may be null) ← the gradient of h0, decay as before.
bool gla_chunk_sums_fit(const GlaShape& s);  // whether the chunk sums' tiles fit a block
enum class GlaChunkSum { inputs, output_grads };
void gla_chunk_states_tc(const GlaShape& s, const float* k, const float* v, const float* g, const float* h0,
                         float* states, float* decay, float* hT, const char* op);
void gla_chunk_state_grads_tc(const GlaShape& s, bool bonus, const float* q, const float* dout, const float* g,
                              const float* dhT, float* dstates, float* decay, float* dh0, const char* op);

}  // namespace ssm::cuda
