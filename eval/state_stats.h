// eval/state_stats.h — what happens inside the recurrent state over a long input
// (docs/paper_protocols.md, state statistics), per layer and head:
//
//   state moments     after every `chunk` tokens (the paper's 128), the mean, unbiased variance,
//                     RMS (the authors' "norm") and Frobenius norm over the head's elements (P·N
//                     for Mamba-2, N for a Mamba-1 channel, K·V for RWKV/HGRN-2). Under a sliding
//                     window these are of the state the read-out sees, h_t − α_{t−r+1:t}·h_{t−r}.
//   retention         α_t = exp(log-decay) (Mamba: exp(Δ_t·A)) averaged over the chunk and the
//                     head's decay channels, and the first token's retention α_{1:t} = Π_{j=2..t} α_j,
//                     kept as a running Σ log α in double (never a running product) per channel,
//                     then exp and the mean over the head's channels. With mitigations these are
//                     the effective decays: λ·exp(c·Δ·A); a window makes α_{1:t} = 0 once t > r.
//   inputs            mean and variance per chunk of what enters the state: Mamba's Δ_t, B_t, x_t;
//                     RWKV's and HGRN-2's k_t, v_t (with RRI's γ on B and k, Δ-scaling's c on Δ).
//                     Per head; B per group (Mamba-2) or over all channels (Mamba-1, group −1).
//   outliers          snapshots of each selected head at the first reading at or after the training
//                     length and at the end: the top-k elements by growth of |h| and the share of
//                     the head's ‖h‖² growth they carry, and a 40-bin histogram of the elements at
//                     both times over their joint range (paper Fig. 6).
// Everything reduces on the model's device; only per-head numbers cross to the CPU.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "eval/mitigations.h"       // defines: Mitigations
#include "models/language_model.h"  // defines: LanguageModel
#include "train/text/tokenizer.h"        // defines: TokenId

namespace ssm {

struct StateStatsOptions {
  int64_t chunk = 128;          // tokens per forward call = between readings
  std::vector<int64_t> layers;  // empty = all
  std::vector<int64_t> heads;   // empty = all
  int64_t train_length = 0;     // first outlier snapshot; 0 = halfway through the input
  int64_t top_k = 8;
  int64_t histogram_bins = 40;
};

struct StateMoments {
  int64_t position, layer, head;
  double mean, variance, rms, frobenius;
};

struct RetentionPoint {
  int64_t position, layer, head;
  double alpha;        // mean α_t over the chunk ending at `position` and the head's channels
  double first_token;  // α_{1:position}
};

struct InputMoments {
  int64_t position, layer, group;  // group: head index, B's group, or -1 (all channels)
  std::string name;                // "dt", "B", "x", "k", "v"
  double mean, variance;
};

struct OutlierElement {
  int64_t layer, head, rank;
  std::string where;  // coordinates in the head's state, e.g. "p=11 n=98"
  double before, after;
};

struct HeadHistogram {
  int64_t layer, head;
  std::vector<double> edges;            // bins + 1 edges over the joint min..max
  std::vector<int64_t> before, after;   // counts
  double top_k_growth_share;            // share of ‖h_after‖² − ‖h_before‖² in the top-k elements
};

struct StateStatsResult {
  std::string state_name;           // "ssm", "wkv", "gla"
  std::vector<int64_t> layers, heads;  // the selection actually used
  int64_t tokens = 0;
  int64_t before_position = 0, after_position = 0;  // outlier snapshot times
  std::vector<StateMoments> moments;
  std::vector<RetentionPoint> retention;
  std::vector<InputMoments> inputs;
  std::vector<OutlierElement> outliers;
  std::vector<HeadHistogram> histograms;  // one per selected (layer, head)
  int64_t rescaled_heads = 0;
};

// UserError when a selected layer or head does not exist or the input is shorter than a chunk.
StateStatsResult measure_state_statistics(LanguageModel& model, const std::vector<TokenId>& tokens,
                                          const StateStatsOptions& options, const Mitigations& mitigations,
                                          Device device);

// ---- pure helpers (eval/state_outliers.cpp) --------------------------------------------------
// Indices of the k elements with the largest |after| − |before|, largest first.
std::vector<int64_t> top_growth(const std::vector<double>& before, const std::vector<double>& after, int64_t k);
// Σ_{i in top} (after_i² − before_i²) / (‖after‖² − ‖before‖²); NaN when the norm did not grow.
double growth_share(const std::vector<double>& before, const std::vector<double>& after,
                    const std::vector<int64_t>& top);
// Both snapshots binned over their joint [min, max] in `bins` equal bins (the last one closed).
HeadHistogram joint_histogram(const std::vector<double>& before, const std::vector<double>& after, int64_t bins);

}  // namespace ssm
