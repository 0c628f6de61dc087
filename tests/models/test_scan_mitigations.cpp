// tests/models/test_scan_mitigations.cpp — the paper's mitigations as exact transformations of the scans:
// RRI against a hand-written recurrence, the sliding window against a fresh scan over only the
// window's tokens, streaming with windows, and whole models (a window longer than the input
// changes nothing; windowed streaming equals one call), and probes that report the mitigated inputs.
#include <cmath>
#include <map>

#include "autograd/grad_mode.h"
#include "models/mitigated_scan.h"
#include "models/model_factory.h"
#include "ops/ops.h"
#include "tests/support/model_fixtures.h"  // defines: tiny_model_config, perturb, random_tokens
#include "tests/support/scan_inputs.h"     // defines: make_ssd_inputs, make_gla_inputs, make_selective_scan_inputs
#include "tests/support/testing.h"

using namespace ssm;
using testing::GlaInputs;
using testing::SsdInputs;

namespace {

// Inputs of each family's scan over T tokens (batch 2). GLA's log-decays are shifted by -1.5 (about
// -0.22 a step, weaker than the op tests' -1): the tokens a window drops still weigh on the full
// scan's output, so dropping them makes a clear difference.
SsdInputs ssd_inputs(int64_t T, uint64_t seed) { return testing::make_ssd_inputs({2, T, 3, 2, 1, 4}, seed); }
GlaInputs gla_inputs(int64_t T, uint64_t seed) {
  return testing::make_gla_inputs({2, T, 2, 3, 4}, seed, ops::GlaReadout::pre_update_bonus, Dtype::f64, -1.5);
}

// Rows [begin, end) along time.
Tensor rows(const Tensor& t, int64_t begin, int64_t end) { return ops::slice(t, 1, begin, end); }
Tensor last_row(const Tensor& t) { return rows(t, t.size(1) - 1, t.size(1)); }

}  // namespace

TEST_CASE("RRI on the SSD equals the hand-written recurrence h = λα·h + γΔ·B·x") {
  autograd::NoGradGuard no_grad;
  const SsdInputs in = ssd_inputs(6, 10);
  ScanMitigations c;
  c.retention_scale = 0.9;
  c.insertion_scale = 0.75;
  const Tensor y = mitigated_ssd(in.x, in.dt, in.A, in.B, in.C, c, nullptr, "ssm", ops::ScanImpl::chunked, 4).y;
  // The definition, one step at a time: S ∈ R^{P×N} per (batch, head), B and C shared (G = 1).
  const auto x = in.x.to_vector<double>(), dt = in.dt.to_vector<double>(), A = in.A.to_vector<double>();
  const auto B = in.B.to_vector<double>(), C = in.C.to_vector<double>(), got = y.to_vector<double>();
  double max_err = 0;
  for (int b = 0; b < 2; ++b) {
    for (int h = 0; h < 3; ++h) {
      std::vector<double> S(2 * 4, 0.0);
      for (int t = 0; t < 6; ++t) {
        const double delta = dt[(b * 6 + t) * 3 + h], alpha = 0.9 * std::exp(delta * A[h]);
        for (int p = 0; p < 2; ++p) {
          double out = 0;
          for (int n = 0; n < 4; ++n) {
            double& s = S[p * 4 + n];
            s = alpha * s + 0.75 * delta * B[(b * 6 + t) * 4 + n] * x[((b * 6 + t) * 3 + h) * 2 + p];
            out += C[(b * 6 + t) * 4 + n] * s;
          }
          max_err = std::max(max_err, std::abs(out - got[((b * 6 + t) * 3 + h) * 2 + p]));
        }
      }
    }
  }
  CHECK(max_err < 1e-12);
}

TEST_CASE("RRI on GLA: log-decay + log λ and keys × γ, both readouts") {
  autograd::NoGradGuard no_grad;
  const GlaInputs in = gla_inputs(7, 20);
  ScanMitigations c;
  c.retention_scale = 0.95;
  c.insertion_scale = 0.5;
  for (auto readout : {ops::GlaReadout::post_update, ops::GlaReadout::pre_update_bonus}) {
    const bool bonus = readout == ops::GlaReadout::pre_update_bonus;
    const Tensor u = bonus ? in.u : Tensor();
    const Tensor got = mitigated_gla(in.q, in.k, in.v, in.g, u, readout, c, nullptr, "s", ops::ScanImpl::recurrent, 4).o;
    const Tensor want = ops::gla(in.q, in.k * 0.5, in.v, in.g + std::log(0.95), u, Tensor(), readout,
                                 ops::ScanImpl::recurrent).o;
    CHECK_CLOSE(bonus ? "RRI gla pre-update" : "RRI gla post-update", got, want, 1e-14);
  }
}

TEST_CASE("sliding window == a fresh scan over only the window's tokens") {
  autograd::NoGradGuard no_grad;
  const int64_t T = 23, r = 5;
  ScanMitigations window;
  window.window = r;
  SUBCASE("SSD (Mamba-2), with RRI on top") {
    const SsdInputs in = ssd_inputs(T, 30);
    window.retention_scale = 0.97;
    window.insertion_scale = 0.8;
    ScanMitigations rri = window;
    rri.window = 0;
    const Tensor y = mitigated_ssd(in.x, in.dt, in.A, in.B, in.C, window, nullptr, "ssm", ops::ScanImpl::chunked, 4).y;
    for (int64_t t = 0; t < T; ++t) {
      const int64_t begin = std::max<int64_t>(0, t - r + 1);
      const Tensor fresh = mitigated_ssd(rows(in.x, begin, t + 1), rows(in.dt, begin, t + 1), in.A,
                                          rows(in.B, begin, t + 1), rows(in.C, begin, t + 1), rri, nullptr, "ssm",
                                          ops::ScanImpl::recurrent, 4).y;
      CHECK_CLOSE("ssd window t=" + std::to_string(t), rows(y, t, t + 1), last_row(fresh), 1e-10);
    }
  }
  SUBCASE("GLA post-update (HGRN-2): the last r tokens") {
    const GlaInputs in = gla_inputs(T, 40);
    const Tensor o = mitigated_gla(in.q, in.k, in.v, in.g, Tensor(), ops::GlaReadout::post_update, window, nullptr,
                                    "s", ops::ScanImpl::chunked, 4).o;
    for (int64_t t = 0; t < T; ++t) {
      const int64_t begin = std::max<int64_t>(0, t - r + 1);
      const Tensor fresh = ops::gla(rows(in.q, begin, t + 1), rows(in.k, begin, t + 1), rows(in.v, begin, t + 1),
                                    rows(in.g, begin, t + 1), Tensor(), Tensor(), ops::GlaReadout::post_update,
                                    ops::ScanImpl::recurrent).o;
      CHECK_CLOSE("gla post window t=" + std::to_string(t), rows(o, t, t + 1), last_row(fresh), 1e-10);
    }
  }
  SUBCASE("GLA pre-update with bonus (RWKV): the r tokens before, plus the current one's bonus") {
    const GlaInputs in = gla_inputs(T, 50);
    const Tensor o = mitigated_gla(in.q, in.k, in.v, in.g, in.u, ops::GlaReadout::pre_update_bonus, window, nullptr,
                                    "s", ops::ScanImpl::chunked, 4).o;
    for (int64_t t = 0; t < T; ++t) {
      const int64_t begin = std::max<int64_t>(0, t - r);
      const Tensor fresh = ops::gla(rows(in.q, begin, t + 1), rows(in.k, begin, t + 1), rows(in.v, begin, t + 1),
                                    rows(in.g, begin, t + 1), in.u, Tensor(), ops::GlaReadout::pre_update_bonus,
                                    ops::ScanImpl::recurrent).o;
      CHECK_CLOSE("gla bonus window t=" + std::to_string(t), rows(o, t, t + 1), last_row(fresh), 1e-10);
    }
  }
  SUBCASE("selective scan (Mamba-1), through its GLA form") {
    autograd::NoGradGuard guard;
    const testing::SelectiveScanInputs in = testing::make_selective_scan_inputs({2, T, 3, 4}, 60);
    const Tensor y =
        mitigated_selective_scan(in.x, in.dt, in.A, in.B, in.C, window, nullptr, "ssm", ops::ScanImpl::chunked, 4).y;
    for (int64_t t = 0; t < T; ++t) {
      const int64_t begin = std::max<int64_t>(0, t - r + 1);
      const Tensor fresh = ops::selective_scan(rows(in.x, begin, t + 1), rows(in.dt, begin, t + 1), in.A,
                                               rows(in.B, begin, t + 1), rows(in.C, begin, t + 1)).y;
      CHECK_CLOSE("selective window t=" + std::to_string(t), rows(y, t, t + 1), last_row(fresh), 1e-10);
    }
  }
}

TEST_CASE("windowed scans stream: pieces with the state carried == one call") {
  autograd::NoGradGuard no_grad;
  const int64_t T = 29;
  ScanMitigations c;
  c.window = 6;
  c.retention_scale = 0.99;
  const GlaInputs in = gla_inputs(T, 70);
  for (auto readout : {ops::GlaReadout::post_update, ops::GlaReadout::pre_update_bonus}) {
    const Tensor u = readout == ops::GlaReadout::pre_update_bonus ? in.u : Tensor();
    LayerState whole{{"s", Tensor::zeros({2, 2, 3, 4}, Dtype::f64)}};
    const Tensor all = mitigated_gla(in.q, in.k, in.v, in.g, u, readout, c, &whole, "s", ops::ScanImpl::chunked, 4).o;
    LayerState pieces{{"s", Tensor::zeros({2, 2, 3, 4}, Dtype::f64)}};
    std::vector<Tensor> outs;
    for (auto [begin, end] : {std::pair<int64_t, int64_t>{0, 4}, {4, 5}, {5, 19}, {19, T}}) {
      outs.push_back(mitigated_gla(rows(in.q, begin, end), rows(in.k, begin, end), rows(in.v, begin, end),
                                    rows(in.g, begin, end), u, readout, c, &pieces, "s", ops::ScanImpl::chunked, 4).o);
    }
    CHECK_CLOSE("streamed windowed output", ops::concat(outs, 1), all, 1e-12);
    CHECK_CLOSE("streamed final state", pieces.at("s"), whole.at("s"), 1e-12);
    CHECK_CLOSE("streamed lagged state", pieces.at("window.lag"), whole.at("window.lag"), 1e-12);
  }
}

TEST_CASE("whole models: controls are no-ops when they should be, and stream") {
  autograd::NoGradGuard no_grad;
  for (const std::string arch : {"mamba1", "mamba2", "rwkv5", "rwkv6", "hgrn2"}) {
    SUBCASE(arch.c_str()) {
      auto model = make_model(testing::tiny_model_config(arch), 20, 9, Dtype::f64);
      testing::perturb(*model, 90);
      const Tensor tokens = testing::random_tokens(2, 17, 20, 3);
      const Tensor plain = model->forward(tokens, nullptr);

      ForwardOptions long_window;
      long_window.mitigations.window = 17;  // covers every token: nothing ever leaves it
      CHECK_CLOSE(arch + " window >= T", model->forward(tokens, nullptr, long_window), plain, 1e-11);

      ForwardOptions identity_rri;
      identity_rri.mitigations.retention_scale = 1.0;
      identity_rri.mitigations.insertion_scale = 1.0;
      CHECK_CLOSE(arch + " RRI λ=γ=1", model->forward(tokens, nullptr, identity_rri), plain, 1e-12);

      ForwardOptions windowed;
      windowed.mitigations.window = 5;
      windowed.mitigations.retention_scale = 0.99;
      RecurrentState whole = model->init_state(2, Device::cpu());
      const Tensor all = model->forward(tokens, &whole, windowed);
      CHECK(ops::sum_all(ops::square(all - plain)).item() > 1e-8);  // the window does change the output
      RecurrentState pieces = model->init_state(2, Device::cpu());
      const Tensor a = model->forward(ops::slice(tokens, 1, 0, 6), &pieces, windowed);
      const Tensor b = model->forward(ops::slice(tokens, 1, 6, 17), &pieces, windowed);
      CHECK_CLOSE(arch + " windowed streaming", ops::concat({a, b}, 1), all, 1e-11);
    }
  }
}

TEST_CASE("controls that do not apply, or are out of range, are clear errors") {
  ModelConfig cfg = default_model_config("rwkv6");
  cfg.d_model = 8;
  cfg.n_layer = 2;
  cfg.headdim = 4;
  cfg.lora_rank_mix = cfg.lora_rank_decay = 2;
  auto model = make_model(cfg, 20, 1);
  ForwardOptions options;
  options.mitigations.delta_scale = 0.5;
  CHECK_THROWS_WITH_AS(model->forward(Tensor::zeros({1, 3}, Dtype::i64), nullptr, options),
                       doctest::Contains("Δ-scaling applies to Mamba only: rwkv6 has no Δ"), UserError);
  ScanMitigations bad;
  bad.retention_scale = 1.5;
  CHECK_THROWS_WITH_AS(check_scan_mitigations(bad, *model), doctest::Contains("λ must be in (0, 1]"), UserError);
  CHECK(ScanMitigations{0.9999, 0.75, 1.0, 8192}.describe() == "RRI λ=0.9999 γ=0.75, window 8192");
}

TEST_CASE("probes report the inputs the mitigated scan uses: c·Δ, log λ + log-decay, γ·B and γ·k") {
  autograd::NoGradGuard no_grad;
  const double lambda = 0.9, gamma = 0.8, c = 0.5;
  for (const std::string arch : {"mamba1", "mamba2", "rwkv5", "rwkv6", "hgrn2"}) {
    SUBCASE(arch.c_str()) {
      ModelConfig cfg = default_model_config(arch);
      cfg.d_model = 8;
      cfg.n_layer = 1;
      cfg.headdim = 4;
      cfg.d_state = 4;
      cfg.d_ffn = 12;
      cfg.chunk_size = 4;
      cfg.lora_rank_mix = cfg.lora_rank_decay = 2;
      auto model = make_model(cfg, 20, 9, Dtype::f64);
      const Tensor tokens = Tensor::from_vector(std::vector<int64_t>{3, 1, 4, 1, 5, 9, 2, 6, 5}, {1, 9});
      // One layer: its probes depend on the tokens alone, so the two runs differ by the controls only.
      auto probes = [&](const ScanMitigations& controls) {
        std::map<std::string, std::vector<double>> seen;
        ForwardOptions options;
        options.mitigations = controls;
        options.probe = [&](int, const std::string& name, const Tensor& v) { seen[name] = v.to_vector<double>(); };
        model->forward(tokens, nullptr, options);
        return seen;
      };
      ScanMitigations controls;
      controls.retention_scale = lambda;
      controls.insertion_scale = gamma;
      if (model->has_delta()) controls.delta_scale = c;
      const auto plain = probes({}), mitigated = probes(controls);
      REQUIRE(plain.size() == mitigated.size());
      REQUIRE(plain.count("log_decay"));
      for (const auto& [name, before] : plain) {
        CAPTURE(name);
        const std::vector<double>& after = mitigated.at(name);
        REQUIRE(after.size() == before.size());
        double max_err = 0;
        for (size_t i = 0; i < before.size(); ++i) {
          double want = before[i];  // C, x, q, r, v: untouched
          if (name == "dt") want = c * before[i];
          if (name == "log_decay") want = (model->has_delta() ? c : 1.0) * before[i] + std::log(lambda);
          if (name == "B" || name == "k") want = gamma * before[i];
          max_err = std::max(max_err, std::abs(after[i] - want));
        }
        CHECK(max_err < 1e-12);
      }
    }
  }
}
