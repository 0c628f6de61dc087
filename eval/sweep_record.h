// eval/sweep_record.h — what a sweep keeps of one trained and measured run: the grid point, the
// state sizes, the training summary and, per capacity arm, T_recall and the collapse verdict
// with its loss curve. Saved as <run dir>/sweep_result.json, which is also how a second
// invocation knows the run is finished (eval/sweep_run.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>  // defines: nlohmann::json

#include "eval/capacity.h"     // defines: CapacityResult
#include "eval/sweep_spec.h"   // defines: SweepRun

namespace ssm {

struct SweepArmRecord {
  std::string mitigations = "none";   // Mitigations::describe()
  int64_t t_recall = 0;               // 0: even the shortest prompt failed
  int64_t first_fail = 0;             // 0: none failed
  bool recall_capped = false;         // the search's maximum passed
  std::string recall_verdict;
  std::optional<int64_t> collapse_onset;  // nullopt: no collapse (or undetermined)
  bool collapse_determined = false;   // the rule had a baseline within the training length
  double baseline = 0;                // max smoothed loss within the training length (NaN: none)
  // Max smoothed loss past the training length / baseline: the paper's rule collapses iff > 2;
  // how far below 2 a run stays says how near it came (NaN when undetermined).
  double peak_ratio = 0;
  std::string loss_verdict;
  int64_t loss_length = 0;            // tokens per evaluated sequence
  double loss_within = 0, loss_beyond = 0;
  std::vector<double> curve;          // smoothed loss per bucket
};

struct SweepRunRecord {
  std::string name, state;
  int64_t train_length = 0;           // T_train
  int64_t state_main = 0;             // main recurrent state elements, all layers
  int64_t state_all = 0;              // every state tensor (Mamba: + the d_conv−1 conv state)
  int64_t parameters = 0;
  int64_t steps = 0, tokens_seen = 0;
  double train_seconds = 0;           // wall time of training (all sessions)
  double eval_seconds = 0;            // wall time of the capacity measurement
  double final_loss = 0;              // mean training loss of the last logged steps (NaN if none)
  double val_loss = 0;                // last validation loss (NaN if none)
  int64_t bucket = 0;                 // positions per curve entry
  std::string eval_key;               // the evaluation settings it was measured with
  std::vector<SweepArmRecord> arms;   // "baseline" first, then "mitigated" if any
};

// The arms of a capacity measurement, in its order (peak ratios over buckets past the training
// length, as the collapse rule reads them).
std::vector<SweepArmRecord> arms_from_capacity(const CapacityResult& result);

// The last `window` training losses (mean) and the last validation loss of a metrics.jsonl;
// NaN where there are none. Missing file: both NaN.
void read_final_losses(const std::string& metrics_path, int64_t window, double* train_loss, double* val_loss);

nlohmann::json record_to_json(const SweepRunRecord& record);
// UserError naming `source` when a field is missing or has the wrong type.
SweepRunRecord record_from_json(const nlohmann::json& json, const std::string& source);

}  // namespace ssm
