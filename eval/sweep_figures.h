// eval/sweep_figures.h — the figures of a sweep report (eval/sweep_report.h): the two laws
// against state size, and the loss-by-position curves of each state size's runs.
#pragma once

#include <string>
#include <vector>

#include "eval/plots.h"           // defines: LinePlot
#include "eval/sweep_analysis.h"  // defines: SweepAnalysis
#include "eval/sweep_record.h"    // defines: SweepRunRecord

namespace ssm {

// T_forget (K tokens) against N_S (M elements): measured points, censored states at the longest
// tested length (a lower bound), this sweep's fitted line and the paper's line over the same range.
LinePlot forget_law_plot(const SweepAnalysis& analysis);
// T_recall likewise, with the exponential curves.
LinePlot recall_law_plot(const SweepAnalysis& analysis);
// Smoothed loss against position (log x) for every run of `state`, arm `arm` (0 baseline,
// 1 mitigated); runs without that arm are left out.
LinePlot state_loss_plot(const std::vector<SweepRunRecord>& records, const std::string& state, size_t arm);

}  // namespace ssm
