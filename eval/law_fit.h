// eval/law_fit.h — the two curve fits behind the capacity laws (docs/paper_protocols.md), on plain
// numbers: nothing here knows about models or runs.
//
//   linear        y = slope·x + intercept, ordinary least squares (closed form)
//   exponential   y = a·(b^x − 1) + c, nonlinear least squares: Levenberg–Marquardt on
//                 (a, log b, c), started from the best point of a scan over b (for a fixed b the
//                 model is linear in a and c, so each scan point is one small least-squares solve)
//   R²            1 − SS_res / SS_tot over the points fitted (NaN when every y is equal)
// The laws are fitted in the paper's units (x: state size in M elements, y: tokens in K), but the
// functions accept any units.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ssm {

struct LinearFit {
  double slope = 0, intercept = 0;
  double r2 = 0;        // NaN when every y is equal
  int64_t points = 0;
  double at(double x) const { return slope * x + intercept; }
};

struct ExponentialFit {
  double a = 0, b = 1, c = 0;
  double r2 = 0;        // NaN when every y is equal
  int64_t points = 0;
  int64_t iterations = 0;  // Levenberg–Marquardt steps taken
  bool converged = false;  // the sum of squares stopped falling (relative change < 1e-14)
  // false when the least-squares curve ran off to a step (b → ∞ or b → 0): values that are not
  // monotone in x have no best exponential, since a·(b^x − 1) + c is monotone. The coefficients
  // then mean nothing, and `note` says so.
  bool finite = true;
  // Empty, or why the coefficients deserve caution: the points leave a and b tied (nearly
  // linear data only pin a·ln b), or the fit hit its iteration limit.
  std::string note;
  double at(double x) const;
};

// a·(b^x − 1) + c.
double exponential_law(double a, double b, double c, double x);

// 1 − Σ(y − ŷ)² / Σ(y − ȳ)²; NaN when Σ(y − ȳ)² is 0. UserError on sizes that differ.
double r_squared(const std::vector<double>& y, const std::vector<double>& predicted);

// UserError (naming the fit) when the sizes differ, there are fewer than 2 points, a value is
// not finite, or every x is equal.
LinearFit fit_linear(const std::vector<double>& x, const std::vector<double>& y);

// UserError (naming the fit) when the sizes differ, there are fewer than 3 points, a value is
// not finite, or fewer than 3 distinct x values (the three coefficients need three).
ExponentialFit fit_exponential(const std::vector<double>& x, const std::vector<double>& y);

}  // namespace ssm
