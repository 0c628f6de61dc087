// eval/recall_search.h — T_recall, the longest context at which passkey accuracy is at least the
// threshold (docs/paper_protocols.md, T_recall: "over 95%"), found with few evaluations:
//
//   1. doubling   L = start, 2·start, 4·start, ... (the last step clamped to max_length) until an
//                 accuracy falls below the threshold;
//      halving    if `start` already fails: start/2, start/4, ... down to min_length;
//   2. refining   bisection between the last passing and the first failing length, on multiples
//                 of `resolution`, until they are at most `resolution` apart.
// T_recall is the last passing length (0 when even min_length fails). The search assumes accuracy
// falls with length; where it does not, it still returns a tested passing length.
// Pure bookkeeping over a callback, so the policy is testable without a model.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace ssm {

struct RecallSearchOptions {
  int64_t start = 1024;       // first length tried
  int64_t max_length = 65536; // no length beyond this is tried
  int64_t min_length = 64;    // halving stops here
  int64_t resolution = 256;   // bisection stops when last pass and first fail are this close
  double threshold = 0.95;    // pass iff accuracy >= threshold
};

struct RecallProbe {
  int64_t length;
  double accuracy;
  bool pass;
};

struct RecallSearchResult {
  int64_t t_recall = 0;           // the longest passing length found; 0 = none
  int64_t first_fail = 0;         // the shortest failing length found; 0 = none failed
  bool capped = false;            // max_length itself passed: T_recall >= max_length
  std::vector<RecallProbe> probes;  // in evaluation order

  // "T_recall = 3072 (fails at 3328)", "T_recall >= 65536 (no failure up to the maximum)", ...
  std::string verdict() const;
};

// UserError (naming the option) when the options are inconsistent.
void check_recall_search(const RecallSearchOptions& options);

RecallSearchResult search_recall_length(const std::function<double(int64_t)>& accuracy_at,
                                        const RecallSearchOptions& options);

}  // namespace ssm
