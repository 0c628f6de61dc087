// ops/scan/gla.h — gated linear attention with a per-key decay: the sequence mixer of RWKV-5,
// RWKV-6 and HGRN-2 (docs/scans.md). Per batch row and head, with state S ∈ R^{K×V}:
//
//   S_t = diag(exp(g_t))·S_{t-1} + k_t ⊗ v_t          g_t ≤ 0 is a log-decay per key channel
//   post_update      (HGRN-2):    o_t = S_tᵀ·q_t
//   pre_update_bonus (RWKV-5/6):  o_t = S_{t-1}ᵀ·q_t + (Σ_i q_t[i]·u[i]·k_t[i])·v_t
//
// Shapes (innermost last): q, k, g (B,T,H,K); v (B,T,H,V); u (H,K) for pre_update_bonus and
// undefined for post_update; initial_state (B,H,K,V) or undefined (zeros). Returns o (B,T,H,V)
// and final_state (B,H,K,V). Every input, the initial state included, is differentiable, so a
// long document can be streamed in pieces with the state carried between calls.
//
// The models map onto it as follows (no scaling happens inside the op):
//   RWKV-5: q = r, g = -exp(time_decay) broadcast over (B,T), u = time_faaaa
//   RWKV-6: q = r, g = -exp(w_raw_t) (data dependent), u = time_faaaa
//   HGRN-2: q = K^-1/2·silu(q), k = 1 - α_t, g = log α_t, no bonus
//
// Two algorithms compute the same function (tests hold them equal):
//   ScanImpl::recurrent — one step at a time, the definition.
//   ScanImpl::chunked   — chunks of Q steps: the intra-chunk scores are formed pairwise from
//                         running sums of the log-decays between the two steps (every exponent
//                         ≤ 0, so nothing overflows even when a single RWKV-6 step decays by
//                         e^-50), chunk states are passed between chunks, and the backward
//                         recomputes the chunk-start states.
// chunk_size is Q for ScanImpl::chunked (any Q ≥ 1; T need not be a multiple of it) and ignored
// by ScanImpl::recurrent. Bad shapes, a missing/extra u or mixed dtypes/devices throw a
// UserError naming "gla" and the shapes.
#pragma once

#include "core/tensor.h"      // defines: Tensor
#include "ops/scan/scan_impl.h"  // defines: ScanImpl

namespace ssm::ops {

enum class GlaReadout { post_update, pre_update_bonus };

struct GlaResult {
  Tensor o;
  Tensor final_state;
};

GlaResult gla(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& u,
              const Tensor& initial_state, GlaReadout readout, ScanImpl impl = ScanImpl::chunked,
              int64_t chunk_size = 32);

}  // namespace ssm::ops
