// eval/position_loss_report.h — the files a loss-by-position run leaves (ssmlab ppl, and each
// arm of ssmlab capacity), named with the target's prefix:
//   position_loss.csv   per bucket: start, end, mean loss, smoothed loss, perplexity exp(mean)
//   position_loss.svg   bucket means and the smoothed curve against position, the training length
//                       marked, and the collapse threshold (2x the baseline) drawn
//   position_loss.json  the verdict, baseline, onset, mean loss within and beyond the training
//                       length, and the settings
// and, for `ssmlab ppl` with several arms (--arm), each arm's files in a folder of its own plus
// one comparison in the report folder:
//   position_loss.svg   every arm's smoothed curve on one plot (the first solid, the others
//                       dashed and drawn over it, so coinciding curves stay visible)
//   arms.csv, arms.json one row per arm: mitigations, loss within and beyond, the verdict
//   report.md           the table and the figure
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

// One arm of a comparison: a name (also its folder), the mitigations in words, the measurement.
struct PositionLossArm {
  std::string name;
  std::string mitigations;
  PositionLossResult result;
};

// The table of a comparison (one row per arm), as printed and written.
TextRow position_loss_arms_header();
std::vector<TextRow> position_loss_arms_rows(const std::vector<PositionLossArm>& arms);

// Every arm's files in dir/<arm name>/, and the comparison (above) in `dir`; `title` names the
// model and the text for the figure.
void write_position_loss_comparison(const std::string& dir, const std::string& title,
                                    const std::vector<PositionLossArm>& arms, const PositionLossOptions& options);

}  // namespace ssm
