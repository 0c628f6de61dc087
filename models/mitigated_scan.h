// models/mitigated_scan.h — the machinery behind ScanMitigations (models/scan_mitigations.h): the
// mitigated per-token inputs (shared by the scans and the probes), the sliding window's lagged
// inputs and window decay sums, and each family's scan with the controls applied (SSD for
// Mamba-2, the selective scan for Mamba-1, GLA for RWKV and HGRN-2).
#pragma once

#include <cstdint>
#include <string>

#include "core/tensor.h"              // defines: Tensor
#include "models/language_model.h"    // defines: LayerState, ScanMitigations
#include "ops/scan/gla.h"             // defines: GlaReadout, GlaResult
#include "ops/scan/selective_scan.h"  // defines: SelectiveScanResult
#include "ops/scan/ssd.h"             // defines: SsdResult

namespace ssm {

// ---- what RRI and Δ-scaling make of the per-token inputs ------------------------------------
// The scans below and the mixers' probes both go through these, so a probe reports exactly the
// Δ, decay and key the mitigated recurrence h_t = λα_t·h_{t−1} + γ·B̄_t x_t uses. Each is the
// input itself when its control is off.
Tensor mitigated_delta(const Tensor& dt, const ScanMitigations& c);             // Δ-scaling: c·Δ
Tensor mitigated_log_decay(const Tensor& log_decay, const ScanMitigations& c);  // RRI: log α + log λ
Tensor mitigated_key(const Tensor& key, const ScanMitigations& c);              // RRI: γ·B or γ·k

// ---- the sliding window's bookkeeping ------------------------------------------------------
// A chunk of per-token tensors (B, T, ...) joined to the r tokens before it (kept in state[key],
// zeros before the stream began): `joined` is (B, r+T, ...), `lagged` its first T rows, i.e. each
// token's input r steps back. state[key] becomes the last r rows.
struct WindowInputs {
  Tensor joined, lagged;
};
WindowInputs window_inputs(const Tensor& chunk, int64_t window, LayerState& state, const std::string& key);

// Per chunk position t, the sum of the log-decays over its window, from `joined` = window_inputs
// of the log-decays: Σ_{j=t−r+1..t} (inclusive, post-update readouts) or Σ_{j=t−r..t−1}
// (exclusive, pre-update readouts). Differences of one running sum over at most r+T steps.
Tensor window_log_decay(const Tensor& joined_log_decay, int64_t window, bool inclusive);

// The scans with the controls applied: each model's mixer calls these instead of the bare ops.
// They read and replace state[key] and, with a window, the buffers under "window.*"; `state`
// may be null (start from zeros, keep nothing). Without any control they are the bare op.
//
// GLA (RWKV-5/6, HGRN-2): RRI and the window (Δ-scaling does not apply); state[key] (B,H,K,V).
ops::GlaResult mitigated_gla(Tensor q, Tensor k, const Tensor& v, Tensor g, const Tensor& u,
                              ops::GlaReadout readout, const ScanMitigations& control, LayerState* state,
                              const std::string& key, ops::ScanImpl impl, int64_t chunk_size);

// SSD (Mamba-2): Δ-scaling, RRI (as Δ' = Δ + log λ / A with x rescaled, exact), the window.
ops::SsdResult mitigated_ssd(Tensor x, Tensor dt, const Tensor& A, Tensor Bm, const Tensor& Cm, const ScanMitigations& c,
                              LayerState* state, const std::string& key, ops::ScanImpl impl, int64_t chunk_size);

// Selective scan (Mamba-1): Δ-scaling directly; RRI and the window through the GLA form.
ops::SelectiveScanResult mitigated_selective_scan(const Tensor& x, Tensor dt, const Tensor& A, const Tensor& Bm,
                                                   const Tensor& Cm, const ScanMitigations& c, LayerState* state,
                                                   const std::string& key, ops::ScanImpl impl, int64_t chunk_size);

}  // namespace ssm
