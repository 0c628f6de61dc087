// eval/state_outliers.cpp — which elements of a head's state carry its growth, and the
// two-time histogram of paper Fig. 6. Pure functions of two snapshots.
#include "eval/state_stats.h"  // defines: top_growth, growth_share, joint_histogram, HeadHistogram

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"  // defines: SSM_CHECK

namespace ssm {

std::vector<int64_t> top_growth(const std::vector<double>& before, const std::vector<double>& after, int64_t k) {
  SSM_CHECK(before.size() == after.size(), "top_growth: snapshots of ", before.size(), " and ", after.size(),
            " elements");
  std::vector<int64_t> order(before.size());
  std::iota(order.begin(), order.end(), 0);
  auto growth = [&](int64_t i) { return std::fabs(after[i]) - std::fabs(before[i]); };
  const size_t n = std::min(order.size(), static_cast<size_t>(std::max<int64_t>(k, 0)));
  // Ties go to the lower index, so the ranking is deterministic.
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n), order.end(),
                    [&](int64_t a, int64_t b) { return growth(a) != growth(b) ? growth(a) > growth(b) : a < b; });
  order.resize(n);
  return order;
}

double growth_share(const std::vector<double>& before, const std::vector<double>& after,
                    const std::vector<int64_t>& top) {
  double total = 0, part = 0;
  for (size_t i = 0; i < before.size(); ++i) total += after[i] * after[i] - before[i] * before[i];
  for (int64_t i : top) part += after[i] * after[i] - before[i] * before[i];
  return total > 0 ? part / total : std::nan("");
}

HeadHistogram joint_histogram(const std::vector<double>& before, const std::vector<double>& after, int64_t bins) {
  SSM_CHECK(bins > 0, "joint_histogram: bins must be positive");
  HeadHistogram h{};
  double lo = INFINITY, hi = -INFINITY;
  for (const auto* v : {&before, &after}) {
    for (double x : *v) lo = std::min(lo, x), hi = std::max(hi, x);
  }
  if (!std::isfinite(lo)) lo = 0, hi = 1;  // no elements
  if (hi == lo) hi = lo + 1;               // a constant state still gets a visible bin
  for (int64_t b = 0; b <= bins; ++b) h.edges.push_back(lo + (hi - lo) * static_cast<double>(b) / static_cast<double>(bins));
  h.before.assign(static_cast<size_t>(bins), 0);
  h.after.assign(static_cast<size_t>(bins), 0);
  auto bin_of = [&](double x) {
    return std::clamp<int64_t>(static_cast<int64_t>((x - lo) / (hi - lo) * static_cast<double>(bins)), 0, bins - 1);
  };
  for (double x : before) ++h.before[static_cast<size_t>(bin_of(x))];
  for (double x : after) ++h.after[static_cast<size_t>(bin_of(x))];
  return h;
}

}  // namespace ssm
