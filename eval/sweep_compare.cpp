// eval/sweep_compare.cpp — reading finished sweeps back and writing them side by side.
#include "eval/sweep_compare.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>
#include <set>

#include "absl/strings/str_format.h"  // defines: absl::StrFormat
#include "absl/strings/str_join.h"    // defines: absl::StrJoin
#include "core/error.h"               // defines: SSM_USER_CHECK
#include "eval/plots.h"               // defines: LinePlot, Series
#include "eval/report_io.h"           // defines: csv_table, markdown_table, format_number, write_text_file
#include "eval/sweep_report.h"        // defines: forget_cell
#include "eval/sweep_run.h"           // defines: read_finished_run, resolve_sweep_eval, sweep_eval_key
#include "train/config.h"             // defines: load_config

namespace ssm {
namespace {

namespace fs = std::filesystem;

std::string ratio_text(double ratio) { return std::isnan(ratio) ? "" : absl::StrFormat(" (%.2fx)", ratio); }

// One arm of one run in a table cell: where it collapses, or that it does not, with the rule's ratio.
std::string verdict(const SweepArmRecord& a) {
  if (!a.collapse_determined) return "undetermined";
  if (a.collapse_onset) return absl::StrFormat("**collapses at %d**%s", *a.collapse_onset, ratio_text(a.peak_ratio));
  return "none" + ratio_text(a.peak_ratio);
}

const SweepRunRecord* find_run(const ComparedSweep& s, const std::string& state, int64_t train_length) {
  for (const SweepRunRecord& r : s.records) {
    if (r.state == state && r.train_length == train_length) return &r;
  }
  return nullptr;
}

std::vector<int64_t> all_lengths(const std::vector<ComparedSweep>& sweeps) {
  std::set<int64_t> lengths;
  for (const ComparedSweep& s : sweeps) {
    for (const SweepRunRecord& r : s.records) lengths.insert(r.train_length);
  }
  return {lengths.begin(), lengths.end()};
}

// The mitigated arm of a state size's runs in one cell: "none at any length", or where it collapses.
std::string mitigated_summary(const ComparedSweep& s, const std::string& state) {
  std::vector<std::string> collapses;
  int measured = 0;
  for (const SweepRunRecord& r : s.records) {
    if (r.state != state || r.arms.size() < 2) continue;
    ++measured;
    const SweepArmRecord& m = r.arms[1];
    if (!m.collapse_determined) collapses.push_back(absl::StrFormat("T_train %d undetermined", r.train_length));
    else if (m.collapse_onset) collapses.push_back(absl::StrFormat("T_train %d at %d", r.train_length, *m.collapse_onset));
  }
  if (measured == 0) return "not measured";
  if (collapses.empty()) return absl::StrFormat("no collapse (%d of %d)", measured, measured);
  return "collapses: " + absl::StrJoin(collapses, ", ");
}

TextRow csv_row(const ComparedSweep& s, const SweepRunRecord& r) {
  const SweepArmRecord& b = r.arms.front();
  auto onset = [](const SweepArmRecord& a) { return a.collapse_onset ? std::to_string(*a.collapse_onset) : ""; };
  auto state = [](const SweepArmRecord& a) {
    return !a.collapse_determined ? "undetermined" : a.collapse_onset ? "collapse" : "none";
  };
  TextRow row = {s.label, s.arch, r.name, r.state, std::to_string(r.state_main), std::to_string(r.state_all),
                 std::to_string(r.parameters), std::to_string(r.train_length), state(b), onset(b),
                 format_number(b.peak_ratio, 4), format_number(b.loss_within, 4), format_number(b.loss_beyond, 4)};
  if (r.arms.size() > 1) {
    const SweepArmRecord& m = r.arms[1];
    row.insert(row.end(), {m.mitigations, state(m), onset(m), format_number(m.peak_ratio, 4),
                           format_number(m.loss_beyond, 4)});
  } else {
    row.insert(row.end(), {"none", "", "", "", ""});
  }
  return row;
}

LinePlot comparison_plot(const std::vector<ComparedSweep>& sweeps, int64_t train_length) {
  LinePlot p;
  p.title = absl::StrFormat("Loss by position, trained at %d tokens (each sweep's middle state size)", train_length);
  p.x_label = "position (tokens)";
  p.y_label = "loss (nats/token), smoothed";
  p.log_x = true;
  p.marker_x = static_cast<double>(train_length);
  p.marker_label = "training length";
  for (const ComparedSweep& s : sweeps) {
    const SweepRunRecord* r = compared_figure_run(s, train_length);
    if (!r) continue;
    const SweepArmRecord& a = r->arms.front();
    Series line{absl::StrFormat("%s %s (N_S %d): %s", s.label, r->state, r->state_main,
                                a.collapse_onset ? absl::StrFormat("collapse %d", *a.collapse_onset)
                                                 : std::string(a.collapse_determined ? "no collapse" : "undetermined")),
                {}};
    for (size_t k = 0; k < a.curve.size(); ++k) {
      line.points.push_back({(static_cast<double>(k) + 0.5) * static_cast<double>(r->bucket), a.curve[k]});
    }
    p.series.push_back(std::move(line));
  }
  return p;
}

}  // namespace

ComparedSweep load_compared_sweep(const std::string& label, const SweepSpec& spec, const std::string& source) {
  ComparedSweep s;
  s.label = label;
  s.source = source;
  s.arch = load_config(spec.base).model.arch;
  const std::string key = sweep_eval_key(resolve_sweep_eval(spec));
  for (const SweepRun& run : expand_sweep(spec)) {
    if (std::optional<SweepRunRecord> r = read_finished_run(spec, run, key)) {
      s.records.push_back(std::move(*r));
    } else {
      s.unfinished.push_back(run.name);
    }
  }
  SSM_USER_CHECK(!s.records.empty(), "sweep --compare: ", label, " (", source, ") has no finished run under ",
                 spec.out, "; run `ssmlab sweep ", source, "` first");
  s.analysis = analyse_sweep(s.records, spec.fit);
  return s;
}

int64_t default_compare_length(const std::vector<ComparedSweep>& sweeps) {
  for (int64_t length : all_lengths(sweeps)) {
    const bool everywhere = std::all_of(sweeps.begin(), sweeps.end(), [&](const ComparedSweep& s) {
      return std::any_of(s.records.begin(), s.records.end(),
                         [&](const SweepRunRecord& r) { return r.train_length == length; });
    });
    if (everywhere) return length;
  }
  SSM_USER_CHECK(false, "sweep --compare: the sweeps share no training length with finished runs; choose the "
                        "figure's with --compare-length");
  return 0;
}

const SweepRunRecord* compared_figure_run(const ComparedSweep& sweep, int64_t train_length) {
  std::vector<const SweepStateSummary*> states;
  for (const SweepStateSummary& st : sweep.analysis.states) states.push_back(&st);
  if (states.empty()) return nullptr;
  std::stable_sort(states.begin(), states.end(),
                   [](const SweepStateSummary* a, const SweepStateSummary* b) { return a->state_main < b->state_main; });
  return find_run(sweep, states[states.size() / 2]->state, train_length);
}

void write_sweep_comparison(const std::string& dir, const std::vector<ComparedSweep>& sweeps, int64_t figure_length) {
  SSM_USER_CHECK(!sweeps.empty(), "sweep --compare: no sweeps to compare");
  const std::vector<int64_t> lengths = all_lengths(sweeps);

  TextRow header = {"sweep", "state", "N_S", "parameters"};
  for (int64_t length : lengths) header.push_back(absl::StrFormat("T_train %d", length));
  header.insert(header.end(), {"T_forget", "mitigated arm"});
  std::vector<TextRow> rows, csv_rows;
  for (const ComparedSweep& s : sweeps) {
    for (const SweepStateSummary& st : s.analysis.states) {
      const SweepRunRecord* any = nullptr;
      TextRow row = {s.label, st.state, std::to_string(st.state_main), ""};
      for (int64_t length : lengths) {
        const SweepRunRecord* r = find_run(s, st.state, length);
        if (r) any = r;
        row.push_back(r ? verdict(r->arms.front()) : "–");
      }
      row[3] = any ? std::to_string(any->parameters) : "";
      row.insert(row.end(), {forget_cell(st), mitigated_summary(s, st.state)});
      rows.push_back(std::move(row));
    }
    for (const SweepRunRecord& r : s.records) csv_rows.push_back(csv_row(s, r));
  }

  fs::create_directories(dir);
  const std::string csv_path = (fs::path(dir) / "compare.csv").string();
  write_text_file(csv_path, csv_table({"sweep", "arch", "run", "state", "N_S_main", "N_S_all", "parameters",
                                       "T_train", "baseline", "onset", "peak_ratio", "loss_within", "loss_beyond",
                                       "mitigations", "mitigated", "mitigated_onset", "mitigated_peak_ratio",
                                       "mitigated_loss_beyond"},
                                      csv_rows));
  comparison_plot(sweeps, figure_length).save((fs::path(dir) / "compare_loss.svg").string());

  std::string md = "# Sweeps compared\n\n";
  for (const ComparedSweep& s : sweeps) {
    std::vector<std::string> arms;  // a window of T_train differs per run: every distinct one, in grid order
    for (const SweepRunRecord& r : s.records) {
      if (r.arms.size() > 1 && std::find(arms.begin(), arms.end(), r.arms[1].mitigations) == arms.end()) {
        arms.push_back(r.arms[1].mitigations);
      }
    }
    const std::string mitigations = arms.empty() ? "none" : absl::StrJoin(arms, " / ");
    md += absl::StrFormat("- **%s** (%s): `%s`, %d finished runs; mitigated arm: %s", s.label, s.arch, s.source,
                          s.records.size(), mitigations);
    if (!s.unfinished.empty()) md += "; **not finished**: " + absl::StrJoin(s.unfinished, ", ");
    md += "\n";
  }
  md += absl::StrFormat(
      "\nEach cell: where the baseline arm collapses (the first position past T_train whose smoothed loss "
      "exceeds the rule's factor times its maximum within T_train), or none, with the ratio of its peak "
      "beyond T_train to that maximum. N_S: the main recurrent state's elements (docs/architectures.md, "
      "state size). – : not run.\n\n%s\n![loss by position](compare_loss.svg)\n\nThe figure: each sweep's "
      "middle state size trained at %d tokens, baseline arm.\n",
      markdown_table(header, rows), figure_length);
  write_text_file((fs::path(dir) / "compare.md").string(), md);
}

}  // namespace ssm
