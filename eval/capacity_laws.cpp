// eval/capacity_laws.cpp — the paper's laws and digitised points (provenance: docs/paper_protocols.md).
#include "eval/capacity_laws.h"

#include "eval/law_fit.h"  // defines: exponential_law

namespace ssm::paper {

double recall_law(double state_m) { return exponential_law(kRecallA, kRecallB, kRecallC, state_m); }

// Fig 11 / v1 Fig 12-left. The smallest model sits at ≈1.1M in the figure (d512, 8 layers),
// though Table 2 lists 0.8M for the 6-layer model (docs/paper_protocols.md, state size).
const std::vector<std::pair<double, double>>& forget_points() {
  static const std::vector<std::pair<double, double>> points = {
      {0.0, 0.0}, {1.1, 1.0}, {1.6, 2.0}, {2.4, 8.0}, {4.8, 16.0}, {12.9, 64.0}};
  return points;
}

// v1 Fig 12-right ("Memory cap. (K tokens)"); the small points are ±2K.
const std::vector<std::pair<double, double>>& recall_points() {
  static const std::vector<std::pair<double, double>> points = {
      {0.0, 0.0}, {1.1, 1.0}, {1.6, 2.0}, {2.4, 4.0}, {4.8, 16.0}, {12.9, 256.0}};
  return points;
}

}  // namespace ssm::paper
