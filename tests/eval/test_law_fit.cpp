// tests/eval/test_law_fit.cpp — the capacity-law fits: ordinary least squares and the
// Levenberg–Marquardt fit of a·(b^x − 1) + c recover known coefficients from exact and from noisy
// synthetic points, refit the paper's digitised points to the paper's coefficients (with the R²
// those points really give), and refuse input they cannot fit.
#include <cmath>
#include <random>

#include "eval/capacity_laws.h"
#include "eval/law_fit.h"
#include "tests/support/testing.h"

using namespace ssm;

namespace {

// Deterministic noise: uniform in [-1, 1] from the standard-specified mt19937 (the library's
// distributions are implementation-defined).
struct Noise {
  std::mt19937 gen;
  explicit Noise(uint32_t seed) : gen(seed) {}
  double operator()() { return 2.0 * (static_cast<double>(gen()) / 4294967295.0) - 1.0; }
};

void split(const std::vector<std::pair<double, double>>& points, std::vector<double>* x, std::vector<double>* y) {
  for (const auto& [px, py] : points) x->push_back(px), y->push_back(py);
}

}  // namespace

TEST_CASE("linear fit: exact points give the line and R² = 1") {
  const std::vector<double> x = {0.5, 1, 2, 3.5, 7};
  std::vector<double> y;
  for (double v : x) y.push_back(2.5 * v - 3.25);
  const LinearFit f = fit_linear(x, y);
  CHECK(f.slope == doctest::Approx(2.5).epsilon(1e-12));
  CHECK(f.intercept == doctest::Approx(-3.25).epsilon(1e-12));
  CHECK(f.r2 == doctest::Approx(1.0).epsilon(1e-12));
  CHECK(f.points == 5);
  CHECK(f.at(10) == doctest::Approx(21.75));
}

TEST_CASE("linear fit: noisy points, 200 of them, recover the line within the noise") {
  Noise noise(7);
  std::vector<double> x, y;
  for (int i = 0; i < 200; ++i) {
    x.push_back(0.1 * i);
    y.push_back(-1.5 * x.back() + 4.0 + 0.5 * noise());
  }
  const LinearFit f = fit_linear(x, y);
  CHECK(f.slope == doctest::Approx(-1.5).epsilon(0.02));
  CHECK(f.intercept == doctest::Approx(4.0).epsilon(0.05));
  CHECK(f.r2 > 0.98);
  CHECK(f.r2 < 1.0);
}

TEST_CASE("linear fit: the paper's T_forget points give its coefficients, and R² 0.985 (not > 0.999)") {
  std::vector<double> x, y;
  split(paper::forget_points(), &x, &y);
  const LinearFit f = fit_linear(x, y);
  MESSAGE("refit: slope " << f.slope << " intercept " << f.intercept << " R² " << f.r2);
  CHECK(f.slope == doctest::Approx(paper::kForgetSlope).epsilon(0.005));
  CHECK(f.intercept == doctest::Approx(paper::kForgetIntercept).epsilon(0.005));
  CHECK(f.r2 == doctest::Approx(0.985).epsilon(0.001));
  CHECK(f.r2 < 0.999);
}

TEST_CASE("exponential fit: exact points give the coefficients back") {
  SUBCASE("the paper's law, x 0..13") {
    std::vector<double> x, y;
    for (int i = 0; i <= 13; ++i) x.push_back(i), y.push_back(paper::recall_law(i));
    const ExponentialFit f = fit_exponential(x, y);
    CHECK(f.converged);
    CHECK(f.a == doctest::Approx(paper::kRecallA).epsilon(1e-6));
    CHECK(f.b == doctest::Approx(paper::kRecallB).epsilon(1e-8));
    CHECK(f.c == doctest::Approx(paper::kRecallC).epsilon(1e-6));
    CHECK(f.r2 == doctest::Approx(1.0).epsilon(1e-10));
    CHECK(f.note.empty());
  }
  SUBCASE("decaying, b < 1, other units: a -200, b 0.5, c 300, x 0..5000 in steps of 500") {
    std::vector<double> x, y;
    for (int i = 0; i <= 10; ++i) x.push_back(500.0 * i), y.push_back(exponential_law(-200, std::pow(0.5, 1.0 / 1000), 300, x.back()));
    const ExponentialFit f = fit_exponential(x, y);
    CHECK(f.a == doctest::Approx(-200).epsilon(1e-6));
    CHECK(std::pow(f.b, 1000) == doctest::Approx(0.5).epsilon(1e-6));
    CHECK(f.c == doctest::Approx(300).epsilon(1e-6));
  }
}

TEST_CASE("exponential fit: noisy points (uniform noise ±0.3 on y from 2 to 300) recover the coefficients") {
  Noise noise(11);
  std::vector<double> x, y;
  for (int i = 0; i < 40; ++i) {
    x.push_back(0.25 * i);
    y.push_back(exponential_law(3.0, 1.6, 2.0, x.back()) + 0.3 * noise());
  }
  const ExponentialFit f = fit_exponential(x, y);
  MESSAGE("a " << f.a << " b " << f.b << " c " << f.c << " R² " << f.r2);
  CHECK(f.converged);
  CHECK(f.a == doctest::Approx(3.0).epsilon(0.02));
  CHECK(f.b == doctest::Approx(1.6).epsilon(0.005));
  CHECK(f.c == doctest::Approx(2.0).epsilon(0.1));
  CHECK(f.r2 > 0.99);
  CHECK(f.r2 < 1.0);
}

TEST_CASE("exponential fit: the paper's T_recall points give its coefficients") {
  std::vector<double> x, y;
  split(paper::recall_points(), &x, &y);
  const ExponentialFit f = fit_exponential(x, y);
  MESSAGE("refit: a " << f.a << " b " << f.b << " c " << f.c << " R² " << f.r2);
  CHECK(f.converged);
  CHECK(f.a == doctest::Approx(paper::kRecallA).epsilon(0.01));
  CHECK(f.b == doctest::Approx(paper::kRecallB).epsilon(0.002));
  CHECK(f.c == doctest::Approx(paper::kRecallC).epsilon(0.01));
  CHECK(f.r2 > 0.9999);
  // The published curve through the same points: 1.2, 2.3, 4.5, 15.7 and 257.8K (docs/paper_protocols.md, T_recall).
  CHECK(paper::recall_law(12.9) == doctest::Approx(257.8).epsilon(0.001));
  CHECK(paper::recall_law(4.8) == doctest::Approx(15.68).epsilon(0.001));
}

TEST_CASE("exponential fit: nearly linear points are fitted, and flagged as leaving a and b tied") {
  // Tiny states: b^x − 1 ≈ x·ln b over x in [0, 0.1], so only a·ln b is determined.
  std::vector<double> x, y;
  for (int i = 0; i <= 5; ++i) x.push_back(0.02 * i), y.push_back(0.1 + 8.0 * x.back());
  const ExponentialFit f = fit_exponential(x, y);
  CHECK(f.r2 == doctest::Approx(1.0).epsilon(1e-6));
  CHECK(f.at(0.05) == doctest::Approx(0.5).epsilon(1e-4));
  CHECK(f.note.find("tied") != std::string::npos);
}

TEST_CASE("exponential fit: points that fall and then rise have no finite fit, and say so") {
  // T_recall of three state sizes where the middle one was trained least well (K tokens against
  // N_S in M): the monotone law cannot follow; least squares runs off to a step at the last point.
  const ExponentialFit f = fit_exponential({0.002048, 0.008192, 0.032768}, {1.104, 0.544, 3.056});
  CHECK_FALSE(f.finite);
  CHECK(f.note.find("no finite fit") != std::string::npos);
  CHECK(std::isnan(f.r2));
  // A monotone set of the same size stays finite.
  const ExponentialFit g = fit_exponential({0.002048, 0.008192, 0.032768}, {0.544, 1.104, 3.056});
  CHECK(g.finite);
  CHECK(g.at(0.032768) == doctest::Approx(3.056).epsilon(1e-6));
}

TEST_CASE("R² is NaN when every y is equal, and the fits refuse what they cannot fit") {
  CHECK(std::isnan(r_squared({2, 2, 2}, {1, 2, 3})));
  CHECK(r_squared({1, 2, 3}, {1, 2, 3}) == 1.0);
  CHECK_THROWS_WITH_AS(fit_linear({1}, {1}), "linear fit: needs at least 2 points, got 1", UserError);
  CHECK_THROWS_WITH_AS(fit_linear({1, 2}, {1}), "linear fit: 2 x values but 1 y values", UserError);
  CHECK_THROWS_WITH_AS(fit_linear({3, 3, 3}, {1, 2, 3}), "linear fit: needs at least 2 distinct x values, got 1",
                       UserError);
  CHECK_THROWS_AS(fit_linear({1, NAN}, {1, 2}), UserError);
  CHECK_THROWS_WITH_AS(fit_exponential({1, 2}, {1, 2}), "exponential fit: needs at least 3 points, got 2", UserError);
  CHECK_THROWS_WITH_AS(fit_exponential({1, 2, 2}, {1, 2, 3}),
                       "exponential fit: needs at least 3 distinct x values, got 2", UserError);
}
