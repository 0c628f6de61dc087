// eval/capacity.h — one model's state capacity, the library behind `ssmlab capacity` (and what a
// sweep over trained runs calls once per checkpoint):
//
//   T_recall   passkey retrieval (eval/passkey.h) searched over lengths (eval/recall_search.h):
//              doubling from a start length until accuracy < 95%, then bisection to a resolution
//   T_forget   loss by position with the collapse rule (eval/position_loss.h): "collapse at N"
//              or "no collapse up to L" for this model's training length
//   states     state statistics (eval/state_stats.h) over the same text
// each measured for a baseline arm (no mitigation) and, when mitigations are given, a mitigated
// arm with them, so the two can be compared side by side (eval/capacity_report.h writes them).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "eval/eval_model.h"     // defines: EvalModel
#include "eval/mitigations.h"    // defines: Mitigations
#include "eval/passkey.h"        // defines: PasskeyOptions, PasskeyResult
#include "eval/position_loss.h"  // defines: PositionLossOptions, PositionLossResult
#include "eval/recall_search.h"  // defines: RecallSearchOptions, RecallSearchResult
#include "eval/state_stats.h"    // defines: StateStatsOptions, StateStatsResult

namespace ssm {

struct CapacityOptions {
  RecallSearchOptions recall{0, 0, 0, 0};  // zeros: derived from the training length (see below)
  PasskeyOptions passkey;                  // samples, depth bins, seed, BOS; lengths come from the search
  PositionLossOptions loss;                // train_length 0: the model's
  StateStatsOptions states;                // train_length 0: the model's
  // The loss-by-position input: sequences of equal length (eval/eval_text.h builds them).
  std::vector<std::vector<TokenId>> loss_sequences;
  // The state-statistics input; empty: the first loss sequence, cut to state_length tokens
  // (0: 4x the training length, the paper's 35K for an 8K model).
  std::vector<TokenId> state_tokens;
  int64_t state_length = 0;
  // The state norm's reference input; empty: the newlines prompt, one training length long.
  std::vector<TokenId> norm_reference;
  Mitigations mitigations;  // the mitigated arm; none: the baseline alone
  Device device = Device::cpu();
  std::function<void(const std::string&)> log;  // one line per step of the work (may be empty)
};
// Derived recall-search defaults for training length T: start max(T, shortest prompt), maximum
// 64x the start, resolution max(T/8, 1), minimum the shortest prompt the tokenizer allows.

struct CapacityArm {
  std::string name;         // "baseline" or "mitigated"
  Mitigations mitigations;  // with the state-norm thresholds, if any
  RecallSearchResult recall;
  PasskeyResult passkey;    // every length the search evaluated
  PositionLossResult loss;
  StateStatsResult states;
};

struct CapacityResult {
  std::string model;          // EvalModel::description
  std::string architecture;
  int64_t parameters = 0;
  int64_t state_elements = 0;  // of the main recurrent state, all layers (the paper's N_S)
  int64_t train_length = 0;
  CapacityOptions options;     // as used, defaults filled in (the inputs themselves dropped)
  std::vector<CapacityArm> arms;
};

// Moves the model to options.device and measures every arm. UserError on bad options or inputs.
CapacityResult measure_capacity(EvalModel& model, const CapacityOptions& options);

// The fewest tokens a passkey prompt can have with this tokenizer (prefix, question, one block).
int64_t shortest_passkey_prompt(const Tokenizer& tokenizer, bool bos);

}  // namespace ssm
