// eval/sweep_analysis.h — from a sweep's run records to the two capacity laws.
//
//   collapse       the paper's rule (loss past T_train above 2x its maximum within), or with
//                  fit.collapse_factor F != 2 a run's peak ratio above F (not the paper's rule)
//   T_forget(N_S)  the smallest tested T_train whose run does not collapse (docs/paper_protocols.md, T_forget: the model
//                  learns to forget iff T_train > T_forget; tested lengths stand in for the
//                  threshold, as the authors' powers of two do). When every tested length
//                  collapses it is only known to exceed the longest ("censored") and is left out
//                  of the fit; when the shortest tested length already passes, it is only known
//                  to be at most that (an upper bound, fitted but noted). A collapse at a longer T_train after a pass is flagged as
//                  non-monotone, and the smallest passing length is still reported.
//   T_recall(N_S)  the best T_recall over the state size's runs (docs/paper_protocols.md, T_recall: "searched over
//                  training lengths"). Runs where even the shortest prompt failed (0) and runs
//                  that passed the search's maximum (a lower bound) are left out of the fit.
//   fits           T_forget linear and T_recall exponential (eval/law_fit.h) in the paper's
//                  units, x = N_S in M elements, y in K tokens, over the state sizes that have a
//                  value, plus the (0, 0) anchor the authors used when asked for.
// Runs are grouped by state point; a state point's N_S is its runs' (they must agree).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "eval/law_fit.h"       // defines: LinearFit, ExponentialFit
#include "eval/sweep_record.h"  // defines: SweepRunRecord
#include "eval/sweep_spec.h"    // defines: SweepFitSpec

namespace ssm {

struct SweepStateSummary {
  std::string state;
  int64_t state_main = 0, state_all = 0;
  std::vector<int64_t> lengths;             // tested T_train, ascending
  std::vector<int> collapsed;               // per length: 1 collapsed, 0 passed, -1 undetermined
  std::optional<int64_t> t_forget;          // smallest passing T_train
  bool forget_censored = false;             // every determined length collapsed
  bool forget_monotone = true;              // no collapse at a longer T_train than a pass
  bool forget_upper_bound = false;          // the shortest tested length passed: T_forget <= it
  int64_t t_recall = 0;                     // best over the runs (0: none passed)
  bool recall_capped = false;               // the best is a lower bound
  std::string recall_run;                   // the run that gave it

  double state_m(const std::string& measure) const;  // N_S in M elements: "main" or "all"
};

struct SweepLawFit {
  std::vector<std::pair<double, double>> points;  // (N_S in M, T in K) fitted, anchor included
  std::optional<LinearFit> linear;                // the T_forget law
  std::optional<ExponentialFit> exponential;      // the T_recall law
  std::string note;  // why there is no fit, or what to keep in mind (R² of exactly fitted points)
};

struct SweepAnalysis {
  std::vector<SweepStateSummary> states;  // in order of first appearance
  SweepFitSpec fit;
  SweepLawFit forget, recall;
};

// UserError when two runs of one state point disagree on N_S.
SweepAnalysis analyse_sweep(const std::vector<SweepRunRecord>& records, const SweepFitSpec& fit);

}  // namespace ssm
