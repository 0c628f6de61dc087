// eval/sweep_compare.h — `ssmlab sweep --compare`: finished sweeps side by side, e.g. one per
// architecture (the five-architecture forget sweep of docs/reproduction.md). Nothing is trained
// or measured: each sweep's finished runs are read back (runs not finished yet are listed, never
// guessed), analysed as `ssmlab sweep` analyses them, and written to one folder:
//   compare.md        one row per (sweep, state size): N_S, the verdict at every training length
//                     (collapse onset, or none, with the rule's peak ratio), T_forget, and the
//                     mitigated arm's verdicts; then the figure
//   compare.csv       one row per run: sweep, architecture, state, N_S, T_train, both arms
//   compare_loss.svg  smoothed loss by position, one curve per sweep: its middle state size (by
//                     N_S) at one training length, baseline arm
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "eval/sweep_analysis.h"  // defines: SweepAnalysis
#include "eval/sweep_record.h"    // defines: SweepRunRecord
#include "eval/sweep_spec.h"      // defines: SweepSpec

namespace ssm {

struct ComparedSweep {
  std::string label;                    // its name in the table and the legend, e.g. "Mamba-2"
  std::string source;                   // the sweep file
  std::string arch;                     // model.arch of its runs
  std::vector<SweepRunRecord> records;  // the finished runs, in grid order
  std::vector<std::string> unfinished;  // runs not trained, or not measured with the sweep's settings
  SweepAnalysis analysis;               // of the finished runs
};

// `spec` as `ssmlab sweep` would run it (file and flags). UserError naming the sweep when none of
// its runs is finished.
ComparedSweep load_compared_sweep(const std::string& label, const SweepSpec& spec, const std::string& source);

// The training length the figure plots when none is asked for: the shortest one at which every
// sweep has a finished run. UserError when the sweeps share none.
int64_t default_compare_length(const std::vector<ComparedSweep>& sweeps);

// The run of a sweep the figure plots at `train_length`: its middle state size by N_S (the upper
// middle of an even count); nullptr when that state has no finished run at that length.
const SweepRunRecord* compared_figure_run(const ComparedSweep& sweep, int64_t train_length);

// compare.md, compare.csv and compare_loss.svg in `dir` (created); the figure at `figure_length`.
void write_sweep_comparison(const std::string& dir, const std::vector<ComparedSweep>& sweeps,
                            int64_t figure_length);

}  // namespace ssm
