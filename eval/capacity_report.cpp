// eval/capacity_report.cpp — the capacity report folder and the terminal summary.
#include "eval/capacity_report.h"

#include <cmath>
#include <filesystem>

#include "absl/strings/str_format.h"      // defines: absl::StrFormat
#include "eval/passkey_report.h"          // defines: write_passkey_report, length_label
#include "eval/plots.h"                   // defines: LinePlot
#include "eval/position_loss_report.h"    // defines: write_position_loss_report, smoothed_points
#include "eval/report_io.h"               // defines: ReportTarget, markdown_table, aligned_table
#include "eval/state_report.h"            // defines: write_state_report

namespace ssm {
namespace {

// The largest value of `field` over all read (layer, head) pairs at each reading position.
template <typename Row, typename Field>
std::vector<std::pair<double, double>> max_per_position(const std::vector<Row>& rows, Field field) {
  std::vector<std::pair<double, double>> out;
  for (const Row& row : rows) {
    const double x = static_cast<double>(row.position), y = field(row);
    if (out.empty() || out.back().first != x) {
      out.push_back({x, y});
    } else {
      out.back().second = std::max(out.back().second, y);
    }
  }
  return out;
}

double max_norm_at(const StateStatsResult& s, int64_t position) {
  double best = std::nan("");
  for (const StateMoments& m : s.moments) {
    if (m.position == position && !(m.frobenius <= best)) best = m.frobenius;
  }
  return best;
}

// A FormatSpec, not a const char*: clang checks absl formats at compile time and refuses a
// runtime string (the fuzz build, tests/fuzz/, is compiled with clang).
std::string num(double v, const absl::FormatSpec<double>& fmt = "%.4f") { return std::isnan(v) ? "-" : absl::StrFormat(fmt, v); }

// One row per quantity, one column per arm.
std::vector<TextRow> summary_rows(const CapacityResult& r) {
  std::vector<TextRow> rows = {{"mitigations"}, {"T_recall (passkey >= 95%)"}, {"passkey lengths tried"},
                               {"T_forget verdict"}, {"loss within training length"},
                               {"loss beyond training length"}, {"largest head norm at t_before"},
                               {"largest head norm at the end"}, {"largest first-token retention at the end"},
                               {"state-norm rescales (heads)"}};
  for (const CapacityArm& a : r.arms) {
    const StateStatsResult& s = a.states;
    const auto retention = max_per_position(s.retention, [](const RetentionPoint& p) { return p.first_token; });
    rows[0].push_back(a.mitigations.describe());
    rows[1].push_back(a.recall.verdict());
    rows[2].push_back(std::to_string(a.recall.probes.size()));
    rows[3].push_back(a.loss.verdict());
    rows[4].push_back(num(a.loss.loss_within));
    rows[5].push_back(num(a.loss.loss_beyond));
    rows[6].push_back(num(max_norm_at(s, s.before_position), "%.4g") + absl::StrFormat(" (t=%d)", s.before_position));
    rows[7].push_back(num(max_norm_at(s, s.after_position), "%.4g") + absl::StrFormat(" (t=%d)", s.after_position));
    rows[8].push_back(retention.empty() ? "-" : num(retention.back().second, "%.4g"));
    rows[9].push_back(std::to_string(a.loss.rescaled_heads + s.rescaled_heads));
  }
  return rows;
}

// The report's first paragraph: what the measurement found, in plain words. One sentence for the
// baseline (collapse or not, and where), one for each mitigated arm.
std::string plain_verdict(const CapacityResult& r) {
  std::string out;
  for (size_t i = 0; i < r.arms.size(); ++i) {
    const CapacityArm& a = r.arms[i];
    const PositionLossResult& l = a.loss;
    const std::string within = num(l.loss_within, "%.2f"), beyond = num(l.loss_beyond, "%.2f");
    if (i == 0) {
      out += absl::StrFormat("**Verdict.** Trained on sequences of %d tokens, ", r.train_length);
      if (l.collapse.onset) {
        out += absl::StrFormat("the model **collapses at position %d**: beyond its training length its loss "
                               "averages %s nats per token, against %s within it.",
                               *l.collapse.onset, beyond, within);
      } else if (l.collapse.baseline) {
        out += absl::StrFormat("the model does not collapse up to %d tokens (loss %s within its training length, "
                               "%s beyond).", l.length, within, beyond);
      } else {
        out += "the collapse test is undetermined: " + l.verdict() + ".";
      }
      continue;
    }
    out += absl::StrFormat(" With %s, %s (loss %s beyond the training length).", a.mitigations.describe(),
                           l.collapse.onset ? absl::StrFormat("it still collapses at position %d", *l.collapse.onset)
                           : l.collapse.baseline ? absl::StrFormat("it does not collapse up to %d tokens", l.length)
                                                 : "the test is undetermined",
                           beyond);
  }
  return out + "\n\n";
}

TextRow summary_header(const CapacityResult& r) {
  TextRow header = {"quantity"};
  for (const CapacityArm& a : r.arms) header.push_back(a.name);
  return header;
}

void overlay(const std::string& dir, const std::string& file, LinePlot plot, const CapacityResult& r) {
  if (r.train_length > 0) plot.marker_x = static_cast<double>(r.train_length);
  plot.marker_label = "training length";
  plot.save((std::filesystem::path(dir) / file).string());
}

nlohmann::json summary_json(const CapacityResult& r) {
  nlohmann::json arms = nlohmann::json::array();
  for (const CapacityArm& a : r.arms) {
    nlohmann::json probes = nlohmann::json::array();
    for (const RecallProbe& p : a.recall.probes) probes.push_back({{"length", p.length}, {"accuracy", p.accuracy}});
    arms.push_back({{"name", a.name},
                    {"mitigations", a.mitigations.describe()},
                    {"t_recall", a.recall.t_recall},
                    {"t_recall_capped", a.recall.capped},
                    {"first_failing_length", a.recall.first_fail},
                    {"recall_verdict", a.recall.verdict()},
                    {"recall_probes", probes},
                    {"loss", position_loss_json(a.loss, r.options.loss)},
                    {"states", state_json(a.states)}});
  }
  const RecallSearchOptions& s = r.options.recall;
  return {{"model", r.model},
          {"architecture", r.architecture},
          {"parameters", r.parameters},
          {"state_elements", r.state_elements},
          {"train_length", r.train_length},
          {"recall_search",
           {{"start", s.start}, {"max_length", s.max_length}, {"resolution", s.resolution}, {"threshold", s.threshold}}},
          {"passkey_samples_per_length", r.options.passkey.samples},
          {"arms", arms}};
}

std::string report_markdown(const CapacityResult& r) {
  const CapacityOptions& o = r.options;
  std::string md = absl::StrFormat("# Capacity report\n\nModel: %s  \nArchitecture: %s, %d parameters, %d elements in "
                                   "the main recurrent state (all layers).  \nTraining length: **%d** tokens.\n\n",
                                   r.model, r.architecture, r.parameters, r.state_elements, r.train_length);
  md += plain_verdict(r);
  md += markdown_table(summary_header(r), summary_rows(r)) + "\n";
  md += "![passkey accuracy](passkey_accuracy.svg)\n\n![loss by position](position_loss.svg)\n\n"
        "![state norm](state_norm.svg)\n\n![first-token retention](first_token_retention.svg)\n\n";
  md += absl::StrFormat(
      "## Passkey retrieval and T_recall\n\n"
      "The paper's protocol (docs/passkey.md): a prompt of prefix, filler blocks and question sized to at most L "
      "tokens of the model's own tokenizer; %d samples per length with the needle \"The passkey is K. Remember it. K "
      "is the passkey.\" at depths (i+0.5)/%d; greedy decoding of %d new tokens (more when the key needs more, as "
      "with bytes); correct iff the 5-digit key is a substring of the output. Lengths are searched: doubling from %d "
      "tokens (at most %d) until accuracy falls below %.0f%%, then bisection between the last pass and the first "
      "fail down to %d tokens. T_recall is the longest passing length. Each arm's heatmap and last-r curves are in "
      "its folder.\n\n",
      o.passkey.samples, o.passkey.samples, o.passkey.max_new_tokens, o.recall.start, o.recall.max_length, 100 * o.recall.threshold,
      o.recall.resolution);
  for (const CapacityArm& a : r.arms) {
    md += absl::StrFormat("- %s: %s; lengths tried:", a.name, a.recall.verdict());
    for (const RecallProbe& p : a.recall.probes) md += absl::StrFormat(" %d→%.2f", p.length, p.accuracy);
    md += absl::StrFormat(" ([heatmap](%s/passkey_heatmap.svg), [samples](%s/passkey_samples.csv))\n", a.name, a.name);
  }
  const CapacityArm& first = r.arms.front();
  md += absl::StrFormat(
      "\n## Loss by position and T_forget\n\n"
      "Per-token loss on %d sequence(s) of %d tokens, streamed %d tokens per forward call with the recurrent state "
      "carried, averaged over sequences in buckets of %d positions and smoothed by a trailing mean over %d buckets "
      "(docs/loss_by_position.md). Collapse rule (the paper's): the smoothed loss ever exceeds twice its maximum "
      "within the training length (the first %d bucket(s) left out of that maximum: almost no context there).\n\n",
      first.loss.sequences, first.loss.length, o.loss.chunk, o.loss.bucket, o.loss.smooth, o.loss.skip_buckets);
  for (const CapacityArm& a : r.arms) {
    md += absl::StrFormat("- %s: **%s**; mean loss %s within and %s beyond the training length ([curve](%s/"
                          "position_loss.svg), [data](%s/position_loss.csv))\n",
                          a.name, a.loss.verdict(), num(a.loss.loss_within), num(a.loss.loss_beyond), a.name, a.name);
  }
  md += absl::StrFormat(
      "\n## Recurrent state\n\n"
      "After every %d tokens of the first sequence (%d tokens), each selected layer's and head's '%s' state: mean, "
      "variance, RMS and Frobenius norm; the retention α_t and the first token's retention α_{1:t} (from a running "
      "sum of log-decays); Δ/B/x (or k/v) statistics; the elements that carry the growth between t=%d and the end "
      "(docs/state_statistics.md). Per-layer figures and CSV files are in each arm's folder.\n",
      o.states.chunk, first.states.tokens, first.states.state_name, first.states.before_position);
  md += "\n## Mitigations\n\n";
  for (const CapacityArm& a : r.arms) md += absl::StrFormat("- %s: %s\n", a.name, a.mitigations.describe());
  md += "\nFormulas and what differs from the authors' code: docs/mitigations.md. The state norm is ours, after v1.\n";
  return md;
}

}  // namespace

std::string capacity_summary_table(const CapacityResult& r) { return aligned_table(summary_header(r), summary_rows(r)); }

void write_capacity_report(const std::string& dir, const CapacityResult& r) {
  LinePlot accuracy{"Passkey accuracy by length", "context length (tokens)", "accuracy", {}};
  accuracy.log_x = true;
  accuracy.marker_y = r.options.recall.threshold;
  accuracy.marker_y_label = "T_recall threshold";
  LinePlot loss{"Loss by position (smoothed)", "token position", "loss (nats)", {}};
  LinePlot norm{"Largest head state norm", "token position", "Frobenius norm", {}};
  LinePlot retention{"Largest first-token retention α_{1:t}", "token position", "retention", {}};

  for (const CapacityArm& a : r.arms) {
    const ReportTarget target{(std::filesystem::path(dir) / a.name).string(), "",
                              a.name + ": " + a.mitigations.describe(), r.train_length};
    write_passkey_report(target, a.passkey, r.options.passkey);
    write_position_loss_report(target, a.loss, r.options.loss);
    write_state_report(target, a.states);
    // Legends have room for about 24 characters; report.md spells the mitigations out.
    const std::string what = a.mitigations.describe();
    const std::string label = a.name + (what.size() <= 24 - a.name.size() - 2 ? ": " + what : "");
    Series acc{label, {}};
    for (size_t j = 0; j < a.passkey.lengths.size(); ++j) {
      acc.points.push_back({static_cast<double>(a.passkey.lengths[j]), a.passkey.accuracy[j]});
    }
    accuracy.series.push_back(acc);
    loss.series.push_back({label, smoothed_points(a.loss)});
    norm.series.push_back({label, max_per_position(a.states.moments, [](const StateMoments& m) { return m.frobenius; })});
    retention.series.push_back(
        {label, max_per_position(a.states.retention, [](const RetentionPoint& p) { return p.first_token; })});
  }
  overlay(dir, "passkey_accuracy.svg", accuracy, r);
  overlay(dir, "position_loss.svg", loss, r);
  overlay(dir, "state_norm.svg", norm, r);
  overlay(dir, "first_token_retention.svg", retention, r);

  write_text_file((std::filesystem::path(dir) / "comparison.csv").string(),
                  csv_table(summary_header(r), summary_rows(r)));
  write_text_file((std::filesystem::path(dir) / "summary.json").string(), summary_json(r).dump(2) + "\n");
  write_text_file((std::filesystem::path(dir) / "report.md").string(), report_markdown(r));
}

}  // namespace ssm
