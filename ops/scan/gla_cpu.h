// ops/scan/gla_cpu.h — the CPU gated-linear-attention implementations behind
// CpuBackend::gla_forward/backward. Raw contiguous pointers in the layouts of ops/scan/gla.h;
// `bonus` selects the pre-update readout with bonus u (u is null otherwise). h0, dhT and dh0 may
// be null; du is null unless `bonus`.
#pragma once

#include "ops/backend.h"  // defines: GlaShape

namespace ssm::cpu {

// Element offsets into the contiguous (B,T,H,K), (B,T,H,V) and (B,H,K,V) layouts.
struct GlaLayout {
  int64_t T, H, K, V;
  int64_t key(int64_t b, int64_t t, int64_t h) const { return ((b * T + t) * H + h) * K; }
  int64_t value(int64_t b, int64_t t, int64_t h) const { return ((b * T + t) * H + h) * V; }
  int64_t state(int64_t b, int64_t h) const { return (b * H + h) * K * V; }
};

template <typename T>
void gla_recurrent_forward(const GlaShape& s, bool bonus, const T* q, const T* k, const T* v, const T* g,
                           const T* u, const T* h0, T* o, T* hT);
template <typename T>
void gla_recurrent_backward(const GlaShape& s, bool bonus, const T* q, const T* k, const T* v, const T* g,
                            const T* u, const T* h0, const T* dout, const T* dhT, T* dq, T* dk, T* dv, T* dg,
                            T* du, T* dh0);

template <typename T>
void gla_chunked_forward(const GlaShape& s, int64_t chunk, bool bonus, const T* q, const T* k, const T* v,
                         const T* g, const T* u, const T* h0, T* o, T* hT);
template <typename T>
void gla_chunked_backward(const GlaShape& s, int64_t chunk, bool bonus, const T* q, const T* k, const T* v,
                          const T* g, const T* u, const T* h0, const T* dout, const T* dhT, T* dq, T* dk, T* dv,
                          T* dg, T* du, T* dh0);

}  // namespace ssm::cpu
