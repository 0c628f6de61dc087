// eval/position_loss_report.h — the files a loss-by-position run leaves (ssmlab ppl, and each
// arm of ssmlab capacity), named with the target's prefix:
//   position_loss.csv   per bucket: start, end, mean loss, smoothed loss, perplexity exp(mean)
//   position_loss.svg   bucket means and the smoothed curve against position, the training length
//                       marked, and the collapse threshold (2x the baseline) drawn
//   position_loss.json  the verdict, baseline, onset, mean loss within and beyond the training
//                       length, and the settings
#pragma once

#include <string>

#include "eval/position_loss.h"  // defines: PositionLossResult, PositionLossOptions
#include "eval/report_io.h"      // defines: ReportTarget, nlohmann::json

namespace ssm {

void write_position_loss_report(const ReportTarget& target, const PositionLossResult& result,
                                const PositionLossOptions& options);

nlohmann::json position_loss_json(const PositionLossResult& result, const PositionLossOptions& options);

// The smoothed curve as (bucket centre, value) points, for overlays.
std::vector<std::pair<double, double>> smoothed_points(const PositionLossResult& result);

}  // namespace ssm
