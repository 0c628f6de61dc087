// eval/sweep_figures.cpp — law plots and per-state loss curves.
#include "eval/sweep_figures.h"

#include <algorithm>
#include <set>
#include <string>

#include "absl/strings/str_format.h"  // defines: absl::StrFormat
#include "eval/capacity_laws.h"       // defines: paper::forget_law, paper::recall_law

namespace ssm {
namespace {

// 60 points of `law` over [0, the largest x of the points] (at least `fallback` when none).
template <typename Law>
Series curve(const std::string& name, const std::vector<std::pair<double, double>>& points, double fallback, Law law) {
  double hi = fallback;
  for (const auto& [x, y] : points) hi = std::max(hi, x);
  Series s{name, {}};
  for (int k = 0; k <= 60; ++k) {
    const double x = hi * k / 60.0;
    s.points.push_back({x, law(x)});
  }
  return s;
}

std::string state_label(const SweepAnalysis& a) {
  return a.fit.state == "all" ? "state size N_S, every state tensor (M elements)"
                              : "state size N_S, main recurrent state (M elements)";
}

std::vector<std::pair<double, double>> all_x(const SweepAnalysis& a) {
  std::vector<std::pair<double, double>> out;
  for (const SweepStateSummary& s : a.states) out.push_back({s.state_m(a.fit.state), 0.0});
  return out;
}

}  // namespace

LinePlot forget_law_plot(const SweepAnalysis& a) {
  LinePlot p;
  p.title = "T_forget against state size";
  p.x_label = state_label(a);
  p.y_label = "T_forget (K tokens)";
  Series measured{"measured T_forget", {}, true}, censored{"all collapsed (> longest tested)", {}, true};
  for (const SweepStateSummary& s : a.states) {
    if (s.t_forget) {
      measured.points.push_back({s.state_m(a.fit.state), static_cast<double>(*s.t_forget) / 1024});
    } else if (s.forget_censored) {
      censored.points.push_back({s.state_m(a.fit.state), static_cast<double>(s.lengths.back()) / 1024});
    }
  }
  p.series.push_back(measured);
  if (!censored.points.empty()) p.series.push_back(censored);
  const std::vector<std::pair<double, double>> xs = all_x(a);
  if (a.forget.linear) {
    const LinearFit f = *a.forget.linear;
    p.series.push_back(curve(absl::StrFormat("fit %.3g·N %+.3g", f.slope, f.intercept), xs, 0, [&](double x) {
      return f.at(x);
    }));
  }
  p.series.push_back(curve("paper 5.172·N − 4.469", xs, 1, paper::forget_law));
  return p;
}

LinePlot recall_law_plot(const SweepAnalysis& a) {
  LinePlot p;
  p.title = "T_recall against state size";
  p.x_label = state_label(a);
  p.y_label = "T_recall (K tokens)";
  Series measured{"measured T_recall", {}, true}, capped{"search maximum passed (lower bound)", {}, true};
  for (const SweepStateSummary& s : a.states) {
    if (s.t_recall <= 0) continue;
    (s.recall_capped ? capped : measured).points.push_back({s.state_m(a.fit.state), s.t_recall / 1024.0});
  }
  p.series.push_back(measured);
  if (!capped.points.empty()) p.series.push_back(capped);
  const std::vector<std::pair<double, double>> xs = all_x(a);
  if (a.recall.exponential) {
    const ExponentialFit f = *a.recall.exponential;
    p.series.push_back(curve(absl::StrFormat("fit %.3g·(%.4g^N − 1) %+.3g", f.a, f.b, f.c), xs, 0,
                             [&](double x) { return f.at(x); }));
  }
  p.series.push_back(curve("paper 4.756·(1.365^N − 1) − 0.742", xs, 1, paper::recall_law));
  return p;
}

LinePlot state_loss_plot(const std::vector<SweepRunRecord>& records, const std::string& state, size_t arm) {
  LinePlot p;
  p.x_label = "position (tokens)";
  p.y_label = "loss (nats/token), smoothed";
  p.log_x = true;
  // A mitigation that scales with the run (a window of T_train tokens) differs per curve: then the
  // title cannot name one, and each legend entry names its own.
  std::set<std::string> mitigations;
  for (const SweepRunRecord& r : records) {
    if (r.state == state && r.arms.size() > arm) mitigations.insert(r.arms[arm].mitigations);
  }
  const bool shared = mitigations.size() <= 1;
  std::string arm_name = "mitigated";
  if (arm == 0) arm_name = "no mitigation";
  else if (mitigations.size() == 1) arm_name = *mitigations.begin();
  p.title = absl::StrFormat("%s: loss by position (%s)", state, arm_name);
  for (const SweepRunRecord& r : records) {
    if (r.state != state || r.arms.size() <= arm) continue;
    const SweepArmRecord& a = r.arms[arm];
    Series s{absl::StrFormat("T_train %d%s: %s", r.train_length, shared ? "" : ", " + a.mitigations,
                             a.collapse_onset ? absl::StrFormat("collapse %d", *a.collapse_onset)
                                              : std::string(a.collapse_determined ? "no collapse" : "undetermined")),
             {}};
    for (size_t k = 0; k < a.curve.size(); ++k) {
      s.points.push_back({(static_cast<double>(k) + 0.5) * static_cast<double>(r.bucket), a.curve[k]});
    }
    p.series.push_back(std::move(s));
  }
  return p;
}

}  // namespace ssm
