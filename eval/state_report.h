// eval/state_report.h — the files a state-statistics run leaves (ssmlab states, and each arm of
// ssmlab capacity), named with the target's prefix:
//   state_moments.csv    position, layer, head, mean, variance, rms, frobenius
//   retention.csv        position, layer, head, alpha (chunk mean of α_t), first_token (α_{1:t})
//   inputs.csv           position, layer, group, name, mean, variance
//   outliers.csv         layer, head, rank, where, value before, value after, |h| growth
//   histograms.csv       layer, head, bin_low, bin_high, count_before, count_after
//   states.json          the selection, the snapshot positions, per head the norm at both times
//                        and the top-k growth share
//   and per selected layer l (series = the selected heads):
//   L<l>_state_mean.svg, L<l>_state_variance.svg, L<l>_state_norm.svg   (paper Fig. 5)
//   L<l>_first_token_retention.svg, L<l>_retention.svg                   (paper Fig. 3)
//   L<l>_<input>.svg for each input (mean per chunk)                      (paper Fig. 7)
//   L<l>_histogram.svg for the head whose norm grew most                   (paper Fig. 6, log counts)
#pragma once

#include "eval/report_io.h"    // defines: ReportTarget, nlohmann::json
#include "eval/state_stats.h"  // defines: StateStatsResult

namespace ssm {

void write_state_report(const ReportTarget& target, const StateStatsResult& result);

nlohmann::json state_json(const StateStatsResult& result);

}  // namespace ssm
