// ops/scan/selective_scan.h — the Mamba-1 selective scan (docs/arch/mamba1.md, step 6), per batch row
// and channel d, with a state s[d,·] ∈ R^N of its own:
//
//   s_t[d,n] = exp(Δ_t[d]·A[d,n])·s_{t-1}[d,n] + Δ_t[d]·B_t[n]·x_t[d]      s_{-1} = initial_state
//   y_t[d]   = Σ_n C_t[n]·s_t[d,n]                                          (post-update readout)
//
// Shapes: x (B,T,E), dt = Δ (B,T,E) (already softplus'ed, > 0), A (E,N) (< 0), Bm, Cm (B,T,N)
// shared by all E channels, initial_state (B,E,N) or undefined (zeros). Returns y (B,T,E) and
// final_state (B,E,N). Everything is differentiable, the initial state included, so a long
// sequence can be streamed in pieces with the state carried between calls.
//
// The decay varies with both d and n, so the SSD matmul trick does not apply (docs/arch/mamba1.md, parallel form).
// Two algorithms compute the same function (tests hold them equal):
//   ScanImpl::recurrent — one step at a time; the definition, O(T·E·N).
//   ScanImpl::chunked   — chunks of Q steps: a scan from a zero state inside every chunk (the
//                         chunks are independent), a short pass over chunks that carries the
//                         boundary states, then a correction C_t·exp(Σ Δ·A)·s_boundary. Opt-in on
//                         the CPU; the CUDA scan is sequential for every chunk value.
// The D skip, the z gate, the dt softplus and the projections live in the model, not here.
#pragma once

#include <cstdint>

#include "core/tensor.h"   // defines: Tensor
#include "ops/scan/scan_impl.h"  // defines: ScanImpl

namespace ssm::ops {

struct SelectiveScanResult {
  Tensor y;
  Tensor final_state;
};

SelectiveScanResult selective_scan(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& Bm,
                                   const Tensor& Cm, const Tensor& initial_state = Tensor(),
                                   ScanImpl impl = ScanImpl::chunked, int64_t chunk_size = 64);

}  // namespace ssm::ops
