// ops/scan/ssd.h — the Mamba-2 SSD operator ("state space duality"), per head h:
//
//   S_t = exp(Δ_t·A_h)·S_{t-1} + Δ_t · x_t ⊗ B_t        S ∈ R^{P×N}, S_{-1} = initial_state
//   y_t = S_t · C_t                                       (post-update readout, no D skip)
//
// Shapes: x (B,T,H,P), dt = Δ (B,T,H) (already softplus'ed, > 0), A (H) (< 0),
// Bm, Cm (B,T,G,N) with head h reading group h / (H/G), initial_state (B,H,P,N) or undefined
// (zeros). Returns y (B,T,H,P) and final_state (B,H,P,N). Everything differentiable, including
// the initial state, so long sequences can be streamed in pieces with the state carried.
//
// Two algorithms compute the same function (tests hold them equal):
//   ScanImpl::recurrent — one step at a time; the definition, O(T·P·N) per head.
//   ScanImpl::chunked   — chunks of length Q: quadratic "attention" inside a chunk, a recurrence
//                         over chunk states between chunks (docs/scans.md, chunked SSD). The GPU's default.
// The D skip, dt softplus and the gated norm live in the model, not here.
#pragma once

#include "core/tensor.h"          // defines: Tensor
#include "ops/scan/scan_impl.h"  // defines: ScanImpl

namespace ssm::ops {

struct SsdResult {
  Tensor y;
  Tensor final_state;
};

SsdResult ssd(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& Bm, const Tensor& Cm,
              const Tensor& initial_state = Tensor(), ScanImpl impl = ScanImpl::chunked,
              int64_t chunk_size = 64);

}  // namespace ssm::ops
