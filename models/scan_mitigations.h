// models/scan_mitigations.h — the mitigations that act inside the scans: the paper's training-free
// remedies for state collapse (docs/mitigations.md), applied inside the mixers so no model code is
// copied for analysis. All are exact transformations of the scan, not approximations:
//
//   RRI (Method 1)    α_t ← λ·α_t and insertion ← γ·insertion, i.e. h_t = λα_t·h_{t-1} + γ·B̄_t x_t.
//                     Mamba: B_t ← γB_t. RWKV/HGRN-2: the key k_t ← γk_t, the log-decay g_t += log λ.
//                     Paper defaults λ = 0.9999, γ = 0.75.
//   Δ-scaling         LongMamba's baseline Δ_t ← c·Δ_t (Mamba-1/2 only: RWKV and HGRN-2 have no Δ).
//   sliding window    read out only the last r tokens' contribution (Method 3, paper Eq. 8):
//                     h_t^(r) = h_t − α_{t−r+1:t}·h_{t−r}. h_{t−r} comes from a second, lagged scan
//                     over the inputs r steps back, kept in the layer's state; the window's decay is
//                     exp of a sum of log-decays over the window (never a running product).
// State normalisation (v1's Method 2) rescales carried states between chunks; it lives in eval/.
#pragma once

#include <cstdint>
#include <string>


namespace ssm {

class LanguageModel;  // models/language_model.h, which includes this header

struct ScanMitigations {
  double retention_scale = 1.0;  // RRI λ in (0, 1]
  double insertion_scale = 1.0;  // RRI γ > 0
  double delta_scale = 1.0;      // Δ-scaling c > 0 (Mamba only)
  int64_t window = 0;            // sliding window r in tokens; 0 = off

  bool rri() const { return retention_scale != 1.0 || insertion_scale != 1.0; }
  bool any() const { return rri() || delta_scale != 1.0 || window > 0; }
  // "none", or e.g. "RRI λ=0.9999 γ=0.75, window 8192".
  std::string describe() const;
};

// UserError when `model` cannot apply a requested control (Δ-scaling without a Δ), or a value is
// out of range.
void check_scan_mitigations(const ScanMitigations& control, const LanguageModel& model);

}  // namespace ssm
