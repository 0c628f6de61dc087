// eval/capacity_report.h — `ssmlab capacity`: run the three measurements of long_context.h on a
// model and write a report folder:
//   passkey.csv, passkey_heatmap.svg (depth bin x length), passkey_by_length.svg
//   position_loss.csv, position_loss.svg (bucketed loss, training length marked)
//   state_norm.csv (every layer and head), state_norm.svg (head-mean RMS per layer)
//   summary.json, report.md (numbers, figures, and the exact protocol)
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "eval/long_context.h"  // defines: PasskeyOptions, PasskeyResult, StateStatRow

namespace ssm {

struct CapacityOptions {
  PasskeyOptions passkey;
  int64_t train_length = 0;    // the model's training sequence length (the red line)
  int64_t loss_chunk = 1024;   // tokens per forward call when streaming the document
  int64_t bucket = 128;        // tokens per loss bucket
  int64_t smooth = 8;          // buckets in the trailing average the collapse rule is applied to
  int64_t state_chunk = 128;   // tokens between state readings (the paper's 128)
  std::string out_dir;
  std::string model_name;      // for titles, e.g. the checkpoint path
};

struct CapacityReport {
  PasskeyResult passkey;
  std::vector<int64_t> lengths;
  int64_t t_recall = 0;                 // largest length with accuracy >= 0.95 at it and all shorter
  std::vector<double> bucket_loss;
  std::vector<double> smoothed_loss;   // moving_average(bucket_loss, smooth)
  int64_t document_tokens = 0;
  std::optional<int64_t> collapse_at;   // nullopt: no collapse up to document_tokens
  double loss_within = 0, loss_beyond = 0;  // mean loss before / after the training length (NaN if none)
  std::vector<StateStatRow> states;
};

CapacityReport run_capacity(LanguageModel& model, const Tokenizer& tokenizer, const std::vector<TokenId>& document,
                            const CapacityOptions& options, Device device);
void write_capacity_report(const CapacityReport& report, const CapacityOptions& options);
std::string capacity_summary_table(const CapacityReport& report, const CapacityOptions& options);

}  // namespace ssm
