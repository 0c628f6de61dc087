// eval/sweep_report.h — the report folder of `ssmlab sweep` (<out>/report by default):
//   report.md       the grid, every run's verdicts, T_forget and T_recall per state size, both
//                   fits next to the paper's coefficients with R², the figures, the protocol
//   runs.csv        one row per run: state sizes, training, baseline and mitigated verdicts
//   states.csv      one row per state size: N_S (main and all), tested lengths, T_forget, T_recall
//   fits.csv        law, coefficient, this sweep's value, the paper's value
//   sweep.json      all of the above, with each run's loss curves
//   t_forget.svg    T_forget against N_S: the measured points, this sweep's line, the paper's line
//   t_recall.svg    T_recall against N_S: the points, this sweep's curve, the paper's curve
//   loss_<state>.svg  smoothed loss by position, one curve per training length (baseline arm);
//                   mitigated_loss_<state>.svg the same for the mitigated arm, when there is one
#pragma once

#include <string>
#include <vector>

#include "eval/sweep_analysis.h"  // defines: SweepAnalysis
#include "eval/sweep_record.h"    // defines: SweepRunRecord
#include "eval/sweep_spec.h"      // defines: SweepSpec

namespace ssm {

// `eval` is the resolved evaluation (resolve_sweep_eval); `source` is a one-line description of
// the sweep (the file or "command-line flags").
void write_sweep_report(const std::string& dir, const SweepSpec& spec, const SweepEvalSpec& eval,
                        const std::string& source, const std::vector<SweepRunRecord>& records,
                        const SweepAnalysis& analysis);

// A state size's T_forget for a table cell: "2048", "<= 64" (the shortest length passed), "> 4096"
// (every length collapsed) or "undetermined", with "(non-monotone)" where that applies.
std::string forget_cell(const SweepStateSummary& s);

// The terminal summary: one row per state size (N_S, per-length verdicts, T_forget, T_recall),
// then one line per fit.
std::string sweep_summary_table(const SweepAnalysis& analysis);

}  // namespace ssm
