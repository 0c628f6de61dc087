// tests/eval/test_state_stats.cpp — state statistics against hand computations: the per-head moments
// of the state, α_t and the first token's retention α_{1:t} from the layer's own log-decays (with
// RRI's λ and a window), Δ/B/x chunk statistics, snapshot times, and the outlier and histogram
// helpers on hand-made snapshots.
#include <cmath>
#include <numeric>

#include "autograd/grad_mode.h"
#include "eval/inference.h"
#include "eval/state_stats.h"
#include "eval/state_stream.h"
#include "tests/support/eval_fixtures.h"
#include "tests/support/testing.h"

using namespace ssm;
using namespace ssm::testing;

namespace {

// One probe tensor of a plain forward over `tokens`, as doubles.
std::vector<double> probe_values(Mamba2Model& model, const std::vector<TokenId>& tokens, const std::string& want) {
  autograd::NoGradGuard no_grad;
  std::vector<double> out;
  ForwardOptions options;
  options.probe = [&](int layer, const std::string& name, const Tensor& v) {
    if (layer == 0 && name == want) out = v.to_vector<double>();
  };
  model.forward(token_batch(tokens, 0, tokens.size(), Device::cpu()), nullptr, options);
  return out;
}

}  // namespace

TEST_CASE("state moments: one row per reading, layer and head, equal to the state's own numbers") {
  Mamba2Model model = tiny_mamba2(2);
  const std::vector<TokenId> tokens = some_text(50);
  StateStatsOptions o;
  o.chunk = 16;
  const StateStatsResult r = measure_state_statistics(model, tokens, o, Mitigations{}, Device::cpu());
  REQUIRE(r.moments.size() == 4 * 2 * 4);  // readings at 16, 32, 48, 50
  CHECK(r.moments.front().position == 16);
  CHECK(r.moments.back().position == 50);
  // The last readings against the final state of a plain stream.
  StateStream stream(model, Device::cpu(), Mitigations{}, 16);
  stream.feed(tokens);
  for (int64_t l = 0; l < 2; ++l) {
    const std::vector<double> h = stream.state().layers[l].at("ssm").to_vector<double>();
    for (int64_t hd = 0; hd < 4; ++hd) {
      double sum = 0, sq = 0;
      for (int64_t i = hd * 64; i < (hd + 1) * 64; ++i) sum += h[i], sq += h[i] * h[i];
      const double mean = sum / 64, var = (sq - 64 * mean * mean) / 63;
      const StateMoments& m = r.moments[static_cast<size_t>(3 * 8 + l * 4 + hd)];
      REQUIRE(m.layer == l);
      REQUIRE(m.head == hd);
      CHECK(m.mean == doctest::Approx(mean));
      CHECK(m.variance == doctest::Approx(var));
      CHECK(m.rms == doctest::Approx(std::sqrt(sq / 64)));
      CHECK(m.frobenius == doctest::Approx(std::sqrt(sq)));
    }
  }
}

TEST_CASE("retention: α_t chunk means and α_{1:t} = exp(Σ_{j=2..t} log α_j), with RRI's λ and a window") {
  Mamba2Model model = tiny_mamba2(1);
  const std::vector<TokenId> tokens = some_text(48);
  const std::vector<double> ld = probe_values(model, tokens, "log_decay");  // (1, 48, 4): Δ·A
  REQUIRE(ld.size() == 48 * 4);
  for (double lambda : {1.0, 0.99}) {
    for (int64_t window : {0, 20}) {
      CAPTURE(lambda);
      CAPTURE(window);
      Mitigations m;
      m.scan.retention_scale = lambda;
      m.scan.window = window;
      StateStatsOptions o;
      o.chunk = 16;
      const StateStatsResult r = measure_state_statistics(model, tokens, o, m, Device::cpu());
      REQUIRE(r.retention.size() == 3 * 4);
      for (const RetentionPoint& p : r.retention) {
        double log_first = 0, alpha = 0;
        for (int64_t t = 1; t < p.position; ++t) log_first += ld[t * 4 + p.head] + std::log(lambda);
        for (int64_t t = p.position - 16; t < p.position; ++t) alpha += std::exp(ld[t * 4 + p.head]) * lambda / 16;
        const double first = (window > 0 && p.position > window) ? 0.0 : std::exp(log_first);
        CHECK(p.first_token == doctest::Approx(first).epsilon(1e-5));
        CHECK(p.alpha == doctest::Approx(alpha).epsilon(1e-5));
      }
    }
  }
}

TEST_CASE("inputs: Δ, B and x chunk means per head (Δ scaled by c), variances unbiased") {
  Mamba2Model model = tiny_mamba2(1);
  const std::vector<TokenId> tokens = some_text(32);
  const std::vector<double> dt = probe_values(model, tokens, "dt"), B = probe_values(model, tokens, "B");
  Mitigations m;
  m.scan.delta_scale = 0.5;
  StateStatsOptions o;
  o.chunk = 16;
  o.heads = {1, 3};
  const StateStatsResult r = measure_state_statistics(model, tokens, o, m, Device::cpu());
  int checked = 0;
  for (const InputMoments& in : r.inputs) {
    if (in.name == "dt") {
      CHECK((in.group == 1 || in.group == 3));
      double mean = 0, sq = 0;
      for (int64_t t = in.position - 16; t < in.position; ++t) mean += 0.5 * dt[t * 4 + in.group] / 16;
      for (int64_t t = in.position - 16; t < in.position; ++t) sq += std::pow(0.5 * dt[t * 4 + in.group] - mean, 2);
      CHECK(in.mean == doctest::Approx(mean));
      CHECK(in.variance == doctest::Approx(sq / 15));
      ++checked;
    }
    if (in.name == "B") {
      CHECK(in.group == 0);  // one group, shared by all heads
      double mean = 0;
      for (int64_t i = (in.position - 16) * 8; i < in.position * 8; ++i) mean += B[i] / 128;
      CHECK(in.mean == doctest::Approx(mean));
      ++checked;
    }
  }
  CHECK(checked == 2 * 2 + 2);  // dt for 2 heads and B once, at 2 readings
  int x_rows = 0;
  for (const InputMoments& in : r.inputs) x_rows += in.name == "x";
  CHECK(x_rows == 2 * 2);
}

TEST_CASE("outlier snapshots: at the first reading past the training length and at the end") {
  Mamba2Model model = tiny_mamba2(2);
  StateStatsOptions o;
  o.chunk = 16;
  o.train_length = 40;
  o.top_k = 3;
  o.layers = {1};
  o.heads = {0, 2};
  const StateStatsResult r = measure_state_statistics(model, some_text(100), o, Mitigations{}, Device::cpu());
  CHECK(r.before_position == 48);
  CHECK(r.after_position == 100);
  CHECK(r.outliers.size() == 2 * 3);
  REQUIRE(r.histograms.size() == 2);
  CHECK(std::accumulate(r.histograms[0].before.begin(), r.histograms[0].before.end(), int64_t{0}) == 64);
  CHECK(r.outliers[0].where.rfind("p=", 0) == 0);
  CHECK(r.moments.size() == 7 * 2);  // 7 readings, one layer, two heads
  o.layers = {2};
  CHECK_THROWS_WITH_AS(measure_state_statistics(model, some_text(100), o, Mitigations{}, Device::cpu()),
                       doctest::Contains("--layers: layer 2 does not exist"), UserError);
}

TEST_CASE("top growth, growth share and the joint histogram on hand-made snapshots") {
  const std::vector<double> before = {1, -1, 0.5, 0, 2}, after = {1, -4, 0.5, 3, -2.5};
  // |h| growth: 0, 3, 0, 3, 0.5 -> elements 1 and 3 (tie: lower index first), then 4.
  CHECK(top_growth(before, after, 3) == std::vector<int64_t>{1, 3, 4});
  CHECK(top_growth(before, after, 10).size() == 5);
  // ‖after‖² − ‖before‖² = 32.5 − 6.25 = 26.25; elements 1 and 3 carry 15 + 9 = 24.
  CHECK(growth_share(before, after, {1, 3}) == doctest::Approx(24.0 / 26.25));
  CHECK(std::isnan(growth_share(after, before, {1})));  // the norm shrank
  const HeadHistogram h = joint_histogram(before, after, 4);  // range [-4, 3], bins of 1.75
  CHECK(h.edges.front() == -4);
  CHECK(h.edges.back() == 3);
  // Bins [-4, -2.25), [-2.25, -0.5), [-0.5, 1.25), [1.25, 3] (the last one closed).
  CHECK(h.before == std::vector<int64_t>{0, 1, 3, 1});  // -1 | 1, 0.5, 0 | 2
  CHECK(h.after == std::vector<int64_t>{2, 0, 2, 1});   // -4, -2.5 | 1, 0.5 | 3
}
