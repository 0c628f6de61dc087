// eval/sweep_analysis.cpp — T_forget and T_recall per state size, and the two fits.
#include "eval/sweep_analysis.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"  // defines: absl::StrCat
#include "core/error.h"            // defines: SSM_USER_CHECK

namespace ssm {
namespace {

constexpr double kK = 1024.0;  // tokens per K, as the paper's 1K..256K lengths
constexpr double kM = 1e6;     // elements per M, as the paper's state sizes

// 1 collapsed, 0 passed, -1 undetermined. The paper's factor 2 reads the rule's own verdict.
int verdict(const SweepArmRecord& a, double factor) {
  if (!a.collapse_determined) return -1;
  if (factor == 2.0) return a.collapse_onset ? 1 : 0;
  return a.peak_ratio > factor ? 1 : 0;
}

SweepStateSummary summarise(const std::string& state, std::vector<const SweepRunRecord*> runs, double factor) {
  std::sort(runs.begin(), runs.end(),
            [](const SweepRunRecord* a, const SweepRunRecord* b) { return a->train_length < b->train_length; });
  SweepStateSummary s;
  s.state = state;
  s.state_main = runs.front()->state_main;
  s.state_all = runs.front()->state_all;
  bool any_determined = false, passed_before = false;
  for (const SweepRunRecord* r : runs) {
    SSM_USER_CHECK(r->state_main == s.state_main && r->state_all == s.state_all, "sweep: runs of state point '", state,
                   "' have different state sizes (", s.state_main, " and ", r->state_main,
                   " elements); give each size its own state point");
    const SweepArmRecord& base = r->arms.front();
    const int v = verdict(base, factor);
    s.lengths.push_back(r->train_length);
    s.collapsed.push_back(v);
    if (v >= 0) any_determined = true;
    if (v == 0 && !s.t_forget) s.t_forget = r->train_length;
    if (v == 0) passed_before = true;
    if (v == 1 && passed_before) s.forget_monotone = false;
    // The longest passing length wins; at a tie, a capped search (a lower bound) says more.
    const bool better = base.t_recall > s.t_recall ||
                        (base.t_recall == s.t_recall && base.recall_capped && !s.recall_capped);
    if (s.recall_run.empty() || better) {
      s.t_recall = base.t_recall;
      s.recall_capped = base.recall_capped;
      s.recall_run = r->name;
    }
  }
  s.forget_censored = any_determined && !s.t_forget;
  s.forget_upper_bound = s.t_forget && *s.t_forget == s.lengths.front();
  return s;
}

SweepLawFit fit_points(std::vector<std::pair<double, double>> points, bool anchor, bool linear, size_t left_out,
                       const std::string& left_out_why, size_t bounds, const std::string& bounds_why) {
  SweepLawFit f;
  if (anchor) points.insert(points.begin(), {0.0, 0.0});
  f.points = points;
  std::vector<double> x, y;
  for (const auto& [px, py] : points) x.push_back(px), y.push_back(py);
  const size_t distinct = std::set<double>(x.begin(), x.end()).size();
  const size_t needed = linear ? 2 : 3;
  std::vector<std::string> notes;
  if (left_out > 0) notes.push_back(absl::StrCat(left_out, " state size(s) left out: ", left_out_why));
  if (bounds > 0) notes.push_back(absl::StrCat(bounds, " point(s) ", bounds_why));
  if (distinct < needed) {
    notes.push_back(absl::StrCat("not fitted: ", distinct, " distinct state size(s) with a value, the law needs ",
                                 needed));
  } else {
    if (linear) {
      f.linear = fit_linear(x, y);
    } else {
      f.exponential = fit_exponential(x, y);
      if (!f.exponential->note.empty()) notes.push_back(f.exponential->note);
      if (!f.exponential->finite) f.exponential.reset();  // its note says why; the report says "not fitted"
    }
    if (distinct == needed && (linear || f.exponential)) {
      notes.push_back(absl::StrCat(needed, " points for ", needed,
                                   " coefficients: the curve passes through them, so R² = 1 says nothing"));
    }
  }
  for (size_t i = 0; i < notes.size(); ++i) f.note += (i ? "; " : "") + notes[i];
  return f;
}

}  // namespace

double SweepStateSummary::state_m(const std::string& measure) const {
  return static_cast<double>(measure == "all" ? state_all : state_main) / kM;
}

SweepAnalysis analyse_sweep(const std::vector<SweepRunRecord>& records, const SweepFitSpec& fit) {
  SweepAnalysis a;
  a.fit = fit;
  std::vector<std::string> order;
  std::map<std::string, std::vector<const SweepRunRecord*>> groups;
  for (const SweepRunRecord& r : records) {
    SSM_USER_CHECK(!r.arms.empty(), "sweep: run ", r.name, " has no measurement");
    if (groups.find(r.state) == groups.end()) order.push_back(r.state);
    groups[r.state].push_back(&r);
  }
  for (const std::string& state : order) a.states.push_back(summarise(state, groups[state], fit.collapse_factor));

  std::vector<std::pair<double, double>> forget, recall;
  size_t censored = 0, unusable_recall = 0, upper_bounds = 0;
  for (const SweepStateSummary& s : a.states) {
    upper_bounds += s.forget_upper_bound ? 1 : 0;
    if (s.t_forget) {
      forget.push_back({s.state_m(fit.state), static_cast<double>(*s.t_forget) / kK});
    } else {
      ++censored;
    }
    if (s.t_recall > 0 && !s.recall_capped) {
      recall.push_back({s.state_m(fit.state), static_cast<double>(s.t_recall) / kK});
    } else {
      ++unusable_recall;
    }
  }
  a.forget = fit_points(forget, fit.anchor, true, censored,
                        "every tested training length collapsed (T_forget above the longest) or undetermined",
                        upper_bounds, "passed at the shortest tested length: T_forget is at most that (an upper bound)");
  a.recall = fit_points(recall, fit.anchor, false, unusable_recall,
                        "no passkey length passed, or the search maximum passed (a lower bound)", 0, "");
  return a;
}

}  // namespace ssm
