// eval/position_loss_report.cpp — CSV, JSON and SVG of a loss-by-position run.
#include "eval/position_loss_report.h"

#include <cmath>
#include <filesystem>

#include "absl/strings/str_format.h"  // defines: absl::StrFormat
#include "eval/plots.h"               // defines: LinePlot

namespace ssm {

std::vector<std::pair<double, double>> smoothed_points(const PositionLossResult& r) {
  std::vector<std::pair<double, double>> points;
  for (size_t k = 0; k < r.smoothed.size(); ++k) {
    points.push_back({(static_cast<double>(k) + 0.5) * static_cast<double>(r.bucket), r.smoothed[k]});
  }
  return points;
}

nlohmann::json position_loss_json(const PositionLossResult& r, const PositionLossOptions& o) {
  return {{"verdict", r.verdict()},
          {"collapse_at", json_number_or_null(r.collapse.onset)},
          {"baseline_max_within_train_length", r.collapse.baseline ? nlohmann::json(*r.collapse.baseline) : nlohmann::json()},
          {"loss_within_train_length", json_number_or_null(r.loss_within)},
          {"loss_beyond_train_length", json_number_or_null(r.loss_beyond)},
          {"sequence_length", r.length},
          {"sequences", r.sequences},
          {"train_length", o.train_length},
          {"bucket", o.bucket},
          {"smooth_buckets", o.smooth},
          {"baseline_skips_buckets", o.skip_buckets},
          {"chunk", o.chunk},
          {"state_norm_rescales", r.rescaled_heads}};
}

void write_position_loss_report(const ReportTarget& target, const PositionLossResult& r,
                                const PositionLossOptions& o) {
  std::vector<TextRow> rows;
  for (size_t k = 0; k < r.bucket_loss.size(); ++k) {
    const int64_t start = static_cast<int64_t>(k) * r.bucket;
    rows.push_back({std::to_string(start), std::to_string(std::min(start + r.bucket, r.length - 1)),
                    format_number(r.bucket_loss[k]), format_number(r.smoothed[k]),
                    format_number(std::exp(r.bucket_loss[k]))});
  }
  write_text_file(target.path("position_loss.csv"),
                  csv_table({"bucket_start", "bucket_end", "mean_loss", "smoothed_loss", "ppl"}, rows));
  write_text_file(target.path("position_loss.json"), position_loss_json(r, o).dump(2) + "\n");

  LinePlot plot;
  plot.title = "Loss by position" + (target.title.empty() ? "" : " — " + target.title);
  plot.x_label = "token position";
  plot.y_label = "loss (nats)";
  Series raw{absl::StrFormat("%d-token buckets", r.bucket), {}};
  for (size_t k = 0; k < r.bucket_loss.size(); ++k) {
    raw.points.push_back({(static_cast<double>(k) + 0.5) * static_cast<double>(r.bucket), r.bucket_loss[k]});
  }
  plot.series = {raw, {absl::StrFormat("smoothed (%d buckets)", o.smooth), smoothed_points(r)}};
  if (target.train_length > 0) plot.marker_x = static_cast<double>(target.train_length);
  plot.marker_label = "training length";
  if (r.collapse.baseline) {
    plot.marker_y = 2 * *r.collapse.baseline;
    plot.marker_y_label = "collapse threshold: 2x the max within the training length";
  }
  plot.save(target.path("position_loss.svg"));
}

TextRow position_loss_arms_header() {
  return {"arm", "mitigations", "loss within", "loss beyond", "verdict"};
}

std::vector<TextRow> position_loss_arms_rows(const std::vector<PositionLossArm>& arms) {
  std::vector<TextRow> rows;
  for (const PositionLossArm& a : arms) {
    rows.push_back({a.name, a.mitigations, format_number(a.result.loss_within), format_number(a.result.loss_beyond),
                    a.result.verdict()});
  }
  return rows;
}

void write_position_loss_comparison(const std::string& dir, const std::string& title,
                                    const std::vector<PositionLossArm>& arms, const PositionLossOptions& o) {
  LinePlot plot{"Loss by position (smoothed) — " + title, "token position", "loss (nats)", {}};
  nlohmann::json json = nlohmann::json::array();
  for (const PositionLossArm& a : arms) {
    const ReportTarget target{(std::filesystem::path(dir) / a.name).string(), "", a.name + ": " + a.mitigations,
                              o.train_length};
    write_position_loss_report(target, a.result, o);
    plot.series.push_back({a.name, smoothed_points(a.result)});
    nlohmann::json row = position_loss_json(a.result, o);
    row["arm"] = a.name;
    row["mitigations"] = a.mitigations;
    json.push_back(row);
  }
  if (o.train_length > 0) plot.marker_x = static_cast<double>(o.train_length);
  plot.marker_label = "training length";
  const ReportTarget top{dir, "", title, o.train_length};
  plot.save(top.path("position_loss.svg"));
  const std::vector<TextRow> rows = position_loss_arms_rows(arms);
  write_text_file(top.path("arms.csv"), csv_table(position_loss_arms_header(), rows));
  write_text_file(top.path("arms.json"), json.dump(2) + "\n");
  std::string md = "# Loss by position: " + title + "\n\n" + markdown_table(position_loss_arms_header(), rows) +
                   "\n![loss by position, every arm](position_loss.svg)\n\nEach arm's curve, CSV and JSON are in its "
                   "folder (`<arm>/position_loss.*`).\n";
  write_text_file(top.path("report.md"), md);
}

}  // namespace ssm
