// eval/mitigations.h — the state-collapse mitigations an evaluation runs with (docs/mitigations.md), as
// one value every command and measurement takes:
//
//   RRI (Method 1)      h_t = λ·α_t·h_{t−1} + γ·B̄_t x_t                   (inside the scans)
//   Δ-scaling           Δ_t ← c·Δ_t, Mamba only (LongMamba's baseline)      (inside the scans)
//   sliding window      h_t^(r) = h_t − α_{t−r+1:t}·h_{t−r}                  (inside the scans)
//   state norm          ours, after v1's Method 2 (implemented here): per layer and head, a
//                       threshold τ = ‖h‖_F of the final state after a reference input one
//                       training length long; then after every `norm_every` tokens of a stream,
//                       h ← h·τ/‖h‖_F for each head with ‖h‖_F > τ (heads at or below τ are left
//                       alone). The authors' code multiplies by ‖h‖/τ instead, which pushes a large
//                       state further up; this is the intended direction.
// The first three are models/scan_mitigations.h's ScanMitigations; this file adds the state norm and
// the window's read-out state for state statistics.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/language_model.h"  // defines: LanguageModel, RecurrentState, ScanMitigations
#include "train/text/tokenizer.h"        // defines: TokenId

namespace ssm {

// τ per layer and head of the model's main recurrent state (LanguageModel::recurrent_state_name).
struct StateNormThresholds {
  std::vector<std::vector<double>> tau;  // [layer][head]
  bool empty() const { return tau.empty(); }
};

struct Mitigations {
  ScanMitigations scan;        // RRI, Δ-scaling, sliding window (exact, inside the scans)
  bool state_norm = false;     // ours, after v1's Method 2
  int64_t norm_every = 128;    // tokens between state-norm checks (the authors' 128)
  StateNormThresholds thresholds;  // recorded by prepare_state_norm() before any use

  bool any() const { return scan.any() || state_norm; }
  // "none", or e.g. "RRI λ=0.9999 γ=0.75, state norm (every 128 tokens)".
  std::string describe() const;
};

// UserError when `model` cannot apply `m` or a value is out of range (names the flag's quantity).
void check_mitigations(const Mitigations& m, const LanguageModel& model);

// Records τ: streams `reference` (normally one training length of text) through a fresh state in
// forward calls of `chunk` tokens with m.scan applied and no normalisation, and keeps each
// head's Frobenius norm of the final main state. Does nothing unless m.state_norm.
void prepare_state_norm(Mitigations& m, LanguageModel& model, const std::vector<TokenId>& reference, Device device,
                        int64_t chunk = 2048);

// h ← h·τ/‖h‖_F for every head whose norm exceeds its τ, on the state's own device (the scale is
// τ / max(‖h‖, τ), computed with tensor ops). Returns how many heads were rescaled.
int64_t apply_state_norm(RecurrentState& state, const std::string& key, const StateNormThresholds& thresholds);

// The main state as the read-out sees it: h itself, or under a sliding window the state of the
// last r tokens alone, h_t − exp(Σ of the window's log-decays)·h_{t−r}, from the window buffers
// the scans keep in the layer state. (1, H, ...) like the state itself.
Tensor readout_state(LanguageModel& model, const LayerState& layer_state, int layer, const ScanMitigations& scan);

}  // namespace ssm
