// eval/state_report.cpp — CSV, JSON and SVG of a state-statistics run.
#include "eval/state_report.h"

#include <cmath>
#include <map>

#include "absl/strings/str_format.h"  // defines: absl::StrFormat
#include "eval/plots.h"               // defines: LinePlot

namespace ssm {
namespace {

// The Frobenius norm of (layer, head) at `position`, NaN when not read there.
double norm_at(const StateStatsResult& r, int64_t layer, int64_t head, int64_t position) {
  for (const StateMoments& m : r.moments) {
    if (m.layer == layer && m.head == head && m.position == position) return m.frobenius;
  }
  return std::nan("");
}

// One plot per layer: a series per head of `value(row)` against position.
template <typename Row, typename Value>
void per_head_plot(const ReportTarget& target, const std::vector<Row>& rows, int64_t layer, const std::string& file,
                   const std::string& what, Value value, const char* unit = "head") {
  std::map<int64_t, Series> by_head;
  for (const Row& row : rows) {
    if (row.layer != layer) continue;
    Series& s = by_head[row.head];
    s.name = row.head < 0 ? std::string("all channels") : absl::StrFormat("%s %d", unit, row.head);
    s.points.push_back({static_cast<double>(row.position), value(row)});
  }
  LinePlot plot;
  plot.title = absl::StrFormat("Layer %d: %s", layer, what) + (target.title.empty() ? "" : " — " + target.title);
  plot.x_label = "token position";
  plot.y_label = what;
  for (auto& [head, s] : by_head) plot.series.push_back(std::move(s));
  if (target.train_length > 0) plot.marker_x = static_cast<double>(target.train_length);
  plot.marker_label = "training length";
  plot.save(target.path(absl::StrFormat("L%d_%s.svg", layer, file)));
}

}  // namespace

nlohmann::json state_json(const StateStatsResult& r) {
  nlohmann::json heads = nlohmann::json::array();
  for (const HeadHistogram& h : r.histograms) {
    heads.push_back({{"layer", h.layer},
                     {"head", h.head},
                     {"norm_before", json_number_or_null(norm_at(r, h.layer, h.head, r.before_position))},
                     {"norm_after", json_number_or_null(norm_at(r, h.layer, h.head, r.after_position))},
                     {"top_k_growth_share", json_number_or_null(h.top_k_growth_share)}});
  }
  return {{"state", r.state_name},     {"tokens", r.tokens},
          {"layers", r.layers},        {"heads", r.heads},
          {"before_position", r.before_position}, {"after_position", r.after_position},
          {"state_norm_rescales", r.rescaled_heads}, {"per_head", heads}};
}

void write_state_report(const ReportTarget& target, const StateStatsResult& r) {
  std::vector<TextRow> rows;
  for (const StateMoments& m : r.moments) {
    rows.push_back({std::to_string(m.position), std::to_string(m.layer), std::to_string(m.head), format_number(m.mean),
                    format_number(m.variance), format_number(m.rms), format_number(m.frobenius)});
  }
  write_text_file(target.path("state_moments.csv"),
                  csv_table({"position", "layer", "head", "mean", "variance", "rms", "frobenius"}, rows));
  rows.clear();
  for (const RetentionPoint& p : r.retention) {
    rows.push_back({std::to_string(p.position), std::to_string(p.layer), std::to_string(p.head),
                    format_number(p.alpha, 9), format_number(p.first_token, 9)});
  }
  write_text_file(target.path("retention.csv"), csv_table({"position", "layer", "head", "alpha", "first_token"}, rows));
  rows.clear();
  for (const InputMoments& in : r.inputs) {
    rows.push_back({std::to_string(in.position), std::to_string(in.layer), std::to_string(in.group), in.name,
                    format_number(in.mean), format_number(in.variance)});
  }
  write_text_file(target.path("inputs.csv"), csv_table({"position", "layer", "group", "name", "mean", "variance"}, rows));
  rows.clear();
  for (const OutlierElement& o : r.outliers) {
    rows.push_back({std::to_string(o.layer), std::to_string(o.head), std::to_string(o.rank), o.where,
                    format_number(o.before), format_number(o.after),
                    format_number(std::fabs(o.after) - std::fabs(o.before))});
  }
  write_text_file(target.path("outliers.csv"),
                  csv_table({"layer", "head", "rank", "where", "before", "after", "abs_growth"}, rows));
  rows.clear();
  for (const HeadHistogram& h : r.histograms) {
    for (size_t b = 0; b < h.before.size(); ++b) {
      rows.push_back({std::to_string(h.layer), std::to_string(h.head), format_number(h.edges[b]),
                      format_number(h.edges[b + 1]), std::to_string(h.before[b]), std::to_string(h.after[b])});
    }
  }
  write_text_file(target.path("histograms.csv"),
                  csv_table({"layer", "head", "bin_low", "bin_high", "count_before", "count_after"}, rows));
  write_text_file(target.path("states.json"), state_json(r).dump(2) + "\n");

  for (int64_t l : r.layers) {
    per_head_plot(target, r.moments, l, "state_mean", "state mean", [](const StateMoments& m) { return m.mean; });
    per_head_plot(target, r.moments, l, "state_variance", "state variance",
                  [](const StateMoments& m) { return m.variance; });
    per_head_plot(target, r.moments, l, "state_norm", "state Frobenius norm",
                  [](const StateMoments& m) { return m.frobenius; });
    per_head_plot(target, r.retention, l, "first_token_retention", "retention of the first token α_{1:t}",
                  [](const RetentionPoint& p) { return p.first_token; });
    per_head_plot(target, r.retention, l, "retention", "retention strength α_t (chunk mean)",
                  [](const RetentionPoint& p) { return p.alpha; });
    std::map<std::string, std::vector<InputMoments>> by_name;
    for (const InputMoments& in : r.inputs) {
      if (in.layer == l) by_name[in.name].push_back(in);
    }
    for (auto& [name, rows_of] : by_name) {
      struct Row { int64_t position, layer, head; double mean; };
      std::vector<Row> plain;
      for (const InputMoments& in : rows_of) plain.push_back({in.position, in.layer, in.group, in.mean});
      per_head_plot(target, plain, l, name, name + " (chunk mean)", [](const Row& row) { return row.mean; },
                    name == "B" ? "group" : "head");
    }
    // The histogram of the head whose norm grew the most in this layer.
    const HeadHistogram* most = nullptr;
    double best = -INFINITY;
    for (const HeadHistogram& h : r.histograms) {
      const double growth = norm_at(r, h.layer, h.head, r.after_position) - norm_at(r, h.layer, h.head, r.before_position);
      if (h.layer == l && growth > best) best = growth, most = &h;
    }
    if (most == nullptr) continue;
    LinePlot hist;
    hist.title = absl::StrFormat("Layer %d head %d: state elements", l, most->head) +
                 (target.title.empty() ? "" : " — " + target.title);
    hist.x_label = "element value";
    hist.y_label = "count (log scale)";
    hist.log_y = true;
    Series before{absl::StrFormat("t = %d", r.before_position), {}}, after{absl::StrFormat("t = %d", r.after_position), {}};
    for (size_t b = 0; b < most->before.size(); ++b) {
      const double centre = (most->edges[b] + most->edges[b + 1]) / 2;
      before.points.push_back({centre, static_cast<double>(most->before[b])});
      after.points.push_back({centre, static_cast<double>(most->after[b])});
    }
    hist.series = {before, after};
    hist.save(target.path(absl::StrFormat("L%d_histogram.svg", l)));
  }
}

}  // namespace ssm
