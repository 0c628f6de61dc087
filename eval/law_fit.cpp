// eval/law_fit.cpp — least squares for the linear and the exponential capacity law.
#include "eval/law_fit.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <set>

#include "core/error.h"  // defines: SSM_USER_CHECK

namespace ssm {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void check_points(const std::vector<double>& x, const std::vector<double>& y, size_t needed, const char* fit) {
  SSM_USER_CHECK(x.size() == y.size(), fit, " fit: ", x.size(), " x values but ", y.size(), " y values");
  SSM_USER_CHECK(x.size() >= needed, fit, " fit: needs at least ", needed, " points, got ", x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    SSM_USER_CHECK(std::isfinite(x[i]) && std::isfinite(y[i]), fit, " fit: point ", i, " is not finite (", x[i],
                   ", ", y[i], ")");
  }
  const std::set<double> distinct(x.begin(), x.end());
  SSM_USER_CHECK(distinct.size() >= needed, fit, " fit: needs at least ", needed, " distinct x values, got ",
                 distinct.size());
}

// Least squares of y on (g, 1): y ≈ a·g + c. Returns false when g is constant.
bool solve_two(const std::vector<double>& g, const std::vector<double>& y, double* a, double* c) {
  const double n = static_cast<double>(g.size());
  double mg = 0, my = 0;
  for (size_t i = 0; i < g.size(); ++i) mg += g[i] / n, my += y[i] / n;
  double sgg = 0, sgy = 0;
  for (size_t i = 0; i < g.size(); ++i) sgg += (g[i] - mg) * (g[i] - mg), sgy += (g[i] - mg) * (y[i] - my);
  if (!(sgg > 0) || !std::isfinite(sgg)) return false;
  *a = sgy / sgg;
  *c = my - *a * mg;
  return true;
}

// The exponential law with p = (a, t = ln b, c); expm1 keeps b^x − 1 accurate when t·x is small.
double model(const std::array<double, 3>& p, double x) { return p[0] * std::expm1(p[1] * x) + p[2]; }

double sum_squares(const std::array<double, 3>& p, const std::vector<double>& x, const std::vector<double>& y) {
  double s = 0;
  for (size_t i = 0; i < x.size(); ++i) s += (y[i] - model(p, x[i])) * (y[i] - model(p, x[i]));
  return std::isfinite(s) ? s : std::numeric_limits<double>::infinity();
}

// Solves the 3x3 system m·d = v by Gaussian elimination with partial pivoting; false if singular.
bool solve3(std::array<std::array<double, 3>, 3> m, std::array<double, 3> v, std::array<double, 3>* d) {
  for (int col = 0; col < 3; ++col) {
    int pivot = col;
    for (int r = col + 1; r < 3; ++r) {
      if (std::abs(m[r][col]) > std::abs(m[pivot][col])) pivot = r;
    }
    if (!(std::abs(m[pivot][col]) > 0)) return false;
    std::swap(m[col], m[pivot]);
    std::swap(v[col], v[pivot]);
    for (int r = col + 1; r < 3; ++r) {
      const double f = m[r][col] / m[col][col];
      for (int k = col; k < 3; ++k) m[r][k] -= f * m[col][k];
      v[r] -= f * v[col];
    }
  }
  for (int r = 2; r >= 0; --r) {
    double s = v[r];
    for (int k = r + 1; k < 3; ++k) s -= m[r][k] * (*d)[k];
    (*d)[r] = s / m[r][r];
  }
  return std::isfinite((*d)[0]) && std::isfinite((*d)[1]) && std::isfinite((*d)[2]);
}

// The start: scan t = ln b over ±[1e-4, 40] / max|x| (log-spaced), solve a and c for each, keep
// the smallest sum of squares. The law is linear in a and c, so this finds the right basin for
// any data the law can describe, whatever the units.
std::array<double, 3> scan_start(const std::vector<double>& x, const std::vector<double>& y) {
  double scale = 0;
  for (double v : x) scale = std::max(scale, std::abs(v));
  std::array<double, 3> best = {0, 0, 0};
  double best_ss = std::numeric_limits<double>::infinity();
  const int steps = 400;
  for (int sign : {1, -1}) {
    for (int k = 0; k < steps; ++k) {
      const double u = std::log(1e-4) + (std::log(40.0) - std::log(1e-4)) * k / (steps - 1);
      const double t = sign * std::exp(u) / scale;
      std::vector<double> g(x.size());
      for (size_t i = 0; i < x.size(); ++i) g[i] = std::expm1(t * x[i]);
      double a = 0, c = 0;
      if (!solve_two(g, y, &a, &c)) continue;
      const std::array<double, 3> p = {a, t, c};
      const double ss = sum_squares(p, x, y);
      if (ss < best_ss) best_ss = ss, best = p;
    }
  }
  return best;
}

}  // namespace

double exponential_law(double a, double b, double c, double x) { return a * (std::pow(b, x) - 1.0) + c; }

double ExponentialFit::at(double x) const { return exponential_law(a, b, c, x); }

double r_squared(const std::vector<double>& y, const std::vector<double>& predicted) {
  SSM_USER_CHECK(y.size() == predicted.size(), "R²: ", y.size(), " values but ", predicted.size(), " predictions");
  if (y.empty()) return kNaN;
  double mean = 0;
  for (double v : y) mean += v / static_cast<double>(y.size());
  double res = 0, tot = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    res += (y[i] - predicted[i]) * (y[i] - predicted[i]);
    tot += (y[i] - mean) * (y[i] - mean);
  }
  return tot > 0 ? 1.0 - res / tot : kNaN;
}

LinearFit fit_linear(const std::vector<double>& x, const std::vector<double>& y) {
  check_points(x, y, 2, "linear");
  LinearFit f;
  SSM_CHECK(solve_two(x, y, &f.slope, &f.intercept), "linear fit: x has no spread");
  std::vector<double> predicted;
  for (double v : x) predicted.push_back(f.at(v));
  f.r2 = r_squared(y, predicted);
  f.points = static_cast<int64_t>(x.size());
  return f;
}

ExponentialFit fit_exponential(const std::vector<double>& x, const std::vector<double>& y) {
  check_points(x, y, 3, "exponential");
  std::array<double, 3> p = scan_start(x, y);
  double ss = sum_squares(p, x, y);
  double scale_y = 0;
  for (double v : y) scale_y = std::max(scale_y, std::abs(v));
  const double tiny = 1e-28 * std::max(scale_y * scale_y, 1e-300) * static_cast<double>(x.size());

  // Levenberg–Marquardt: (JᵀJ + λ·diag(JᵀJ)) δ = Jᵀr, λ shrunk after a step that lowers the sum
  // of squares and grown after one that does not; it stops when the relative decrease is below
  // 1e-14 or no step (up to λ = 1e16) lowers it any more — both mean a minimum.
  ExponentialFit f;
  double lambda = 1e-3;
  const int64_t max_iterations = 500;
  for (f.iterations = 0; f.iterations < max_iterations && ss > tiny; ++f.iterations) {
    std::array<std::array<double, 3>, 3> jtj{};
    std::array<double, 3> jtr{};
    for (size_t i = 0; i < x.size(); ++i) {
      const double e = std::exp(p[1] * x[i]);
      const std::array<double, 3> j = {std::expm1(p[1] * x[i]), p[0] * x[i] * e, 1.0};
      const double r = y[i] - model(p, x[i]);
      for (int u = 0; u < 3; ++u) {
        jtr[u] += j[u] * r;
        for (int v = 0; v < 3; ++v) jtj[u][v] += j[u] * j[v];
      }
    }
    bool improved = false;
    while (lambda < 1e16) {
      std::array<std::array<double, 3>, 3> m = jtj;
      for (int u = 0; u < 3; ++u) m[u][u] += lambda * std::max(jtj[u][u], 1e-300);
      std::array<double, 3> d{};
      if (solve3(m, jtr, &d)) {
        const std::array<double, 3> q = {p[0] + d[0], p[1] + d[1], p[2] + d[2]};
        const double qs = sum_squares(q, x, y);
        if (qs < ss) {
          const double drop = (ss - qs) / ss;
          p = q, ss = qs, improved = true;
          lambda = std::max(lambda / 3, 1e-12);
          if (drop < 1e-14) f.converged = true;
          break;
        }
      }
      lambda *= 4;
    }
    if (!improved) f.converged = true;
    if (f.converged) break;
  }
  if (ss <= tiny) f.converged = true;
  f.a = p[0], f.b = std::exp(p[1]), f.c = p[2];
  f.points = static_cast<int64_t>(x.size());
  // b^x overflows for every x > 0 once |ln b| passes ~709: the curve has become a step at the
  // largest x (or the smallest), the way the fit resolves points that go down and then up.
  if (!std::isfinite(f.b) || f.b == 0.0 || !std::isfinite(f.a) || !std::isfinite(f.c)) {
    f.finite = false;
    f.note = "no finite fit: the least-squares curve runs off to a step (b → ∞ or 0), as it does when the values "
             "are not monotone in x, which a·(b^x − 1) + c always is";
    f.r2 = kNaN;
    return f;
  }
  std::vector<double> predicted;
  for (double v : x) predicted.push_back(f.at(v));
  f.r2 = r_squared(y, predicted);

  // a and b tie when b^x − 1 ≈ x·ln b over the points: the columns ∂/∂a and ∂/∂(ln b) of the
  // Jacobian are then nearly parallel, and only their product is determined.
  double saa = 0, stt = 0, sat = 0;
  for (double v : x) {
    const double ja = std::expm1(p[1] * v), jt = p[0] * v * std::exp(p[1] * v);
    saa += ja * ja, stt += jt * jt, sat += ja * jt;
  }
  const double cosine = saa > 0 && stt > 0 ? std::abs(sat) / std::sqrt(saa * stt) : 1.0;
  if (cosine > 1 - 1e-6) {
    f.note = "the points are nearly linear in x, so a and b are tied (only a·ln b is determined)";
  } else if (!f.converged) {
    f.note = "stopped at the iteration limit before converging";
  }
  return f;
}

}  // namespace ssm
