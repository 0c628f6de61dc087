// eval/capacity_laws.h — the paper's two capacity laws and the points they were fitted to
// (docs/paper_protocols.md), in the paper's units: state size N_S in millions of elements, lengths in
// thousands of tokens (K = 1024). What a sweep's fits are compared with; nothing here fits.
//
//   T_forget[K] = 5.172·N_S[M] − 4.469                  (claimed R² > 0.999)
//   T_recall[K] = 4.756·(1.365^{N_S[M]} − 1) − 0.742    (claimed R² > 0.999)
// The points are digitised from the paper's figures (±3% of the axis range; docs/paper_protocols.md),
// including the authors' (0, 0) anchor. Refitting the T_forget points gives R² ≈ 0.985, not the
// claimed 0.999 (docs/paper_protocols.md, T_forget).
#pragma once

#include <utility>
#include <vector>

namespace ssm::paper {

constexpr double kForgetSlope = 5.172;      // K tokens per M elements
constexpr double kForgetIntercept = -4.469;  // K tokens
constexpr double kRecallA = 4.756;           // K tokens
constexpr double kRecallB = 1.365;           // per M elements
constexpr double kRecallC = -0.742;          // K tokens

inline double forget_law(double state_m) { return kForgetSlope * state_m + kForgetIntercept; }
double recall_law(double state_m);

// (N_S in M, T in K), the (0, 0) anchor first.
const std::vector<std::pair<double, double>>& forget_points();
const std::vector<std::pair<double, double>>& recall_points();

}  // namespace ssm::paper
