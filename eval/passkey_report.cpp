// eval/passkey_report.cpp — CSV, JSON and SVG of a passkey run.
#include "eval/passkey_report.h"

#include <cmath>

#include "absl/strings/str_format.h"  // defines: absl::StrFormat
#include "eval/plots.h"               // defines: Heatmap, LinePlot

namespace ssm {

std::string length_label(int64_t tokens) {
  return tokens % 1024 == 0 ? absl::StrFormat("%dK", tokens / 1024) : absl::StrFormat("%d", tokens);
}

nlohmann::json passkey_json(const PasskeyResult& r, const PasskeyOptions& o) {
  nlohmann::json last_r = nlohmann::json::object();
  for (size_t i = 0; i < r.last_r.size(); ++i) {
    nlohmann::json curve = nlohmann::json::array();
    for (double v : r.last_r_accuracy[i]) curve.push_back(json_number_or_null(v));
    last_r[std::to_string(r.last_r[i])] = curve;
  }
  nlohmann::json grid = nlohmann::json::array();
  for (const auto& row : r.grid) {
    nlohmann::json cells = nlohmann::json::array();
    for (double v : row) cells.push_back(json_number_or_null(v));
    grid.push_back(cells);
  }
  return {{"lengths", r.lengths},
          {"accuracy", r.accuracy},
          {"last_r", last_r},
          {"grid_depth_bins_by_length", grid},
          {"samples_per_length", o.samples},
          {"depth_bins", o.depth_bins},
          {"max_new_tokens", o.max_new_tokens},
          {"seed", o.seed},
          {"bos", o.bos}};
}

std::string passkey_table(const PasskeyResult& r) {
  TextRow header = {"length", "accuracy"};
  for (int64_t rr : r.last_r) header.push_back("last " + length_label(rr));
  std::vector<TextRow> rows;
  for (size_t j = 0; j < r.lengths.size(); ++j) {
    TextRow row = {std::to_string(r.lengths[j]), absl::StrFormat("%.3f", r.accuracy[j])};
    for (size_t i = 0; i < r.last_r.size(); ++i) {
      const double v = r.last_r_accuracy[i][j];
      row.push_back(std::isnan(v) ? "-" : absl::StrFormat("%.3f", v));
    }
    rows.push_back(row);
  }
  return aligned_table(header, rows);
}

void write_passkey_report(const ReportTarget& target, const PasskeyResult& r, const PasskeyOptions& o) {
  std::vector<TextRow> rows;
  for (const PasskeySample& s : r.samples) {
    rows.push_back({std::to_string(s.length), std::to_string(s.tokens), format_number(s.depth),
                    std::to_string(s.needle_block), s.key, s.generated, s.correct ? "1" : "0"});
  }
  write_text_file(target.path("passkey_samples.csv"),
                  csv_table({"length", "prompt_tokens", "depth", "needle_block", "key", "generated", "correct"}, rows));

  TextRow header = {"length", "accuracy"};
  for (int64_t rr : r.last_r) header.push_back("last_" + std::to_string(rr));
  rows.clear();
  for (size_t j = 0; j < r.lengths.size(); ++j) {
    TextRow row = {std::to_string(r.lengths[j]), format_number(r.accuracy[j])};
    for (size_t i = 0; i < r.last_r.size(); ++i) row.push_back(format_number(r.last_r_accuracy[i][j]));
    rows.push_back(row);
  }
  write_text_file(target.path("passkey_accuracy.csv"), csv_table(header, rows));
  write_text_file(target.path("passkey.json"), passkey_json(r, o).dump(2) + "\n");

  Heatmap heat;
  heat.title = "Passkey retrieval accuracy" + (target.title.empty() ? "" : " — " + target.title);
  heat.x_label = "context length (tokens)";
  heat.y_label = "needle depth (bin upper edge)";
  heat.values = r.grid;
  for (int64_t L : r.lengths) heat.col_labels.push_back(length_label(L));
  const int64_t bins = static_cast<int64_t>(r.grid.size());
  for (int64_t b = 0; b < bins; ++b) heat.row_labels.push_back(absl::StrFormat("%.2f", (b + 1.0) / bins));
  heat.save(target.path("passkey_heatmap.svg"));

  LinePlot curves;
  curves.title = "Passkey accuracy, needles in the last r tokens" + (target.title.empty() ? "" : " — " + target.title);
  curves.x_label = "context length (tokens)";
  curves.y_label = "accuracy";
  curves.log_x = true;
  Series all{"all depths", {}};
  for (size_t j = 0; j < r.lengths.size(); ++j) all.points.push_back({static_cast<double>(r.lengths[j]), r.accuracy[j]});
  curves.series.push_back(all);
  for (size_t i = 0; i < r.last_r.size(); ++i) {
    Series s{"last " + length_label(r.last_r[i]), {}};
    for (size_t j = 0; j < r.lengths.size(); ++j) {
      s.points.push_back({static_cast<double>(r.lengths[j]), r.last_r_accuracy[i][j]});
    }
    curves.series.push_back(s);
  }
  if (target.train_length > 0) curves.marker_x = static_cast<double>(target.train_length);
  curves.marker_label = "training length";
  curves.save(target.path("passkey_last_r.svg"));
}

}  // namespace ssm
