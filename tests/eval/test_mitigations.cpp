// tests/eval/test_mitigations.cpp — every mitigation, through the evaluation path (StateStream and a
// real Mamba-2 layer), against the recurrence written out by hand from the layer's own Δ, B, x:
//   RRI            h = λ·exp(ΔA)·h + γ·Δ·B·x
//   Δ-scaling      h = exp(cΔA)·h + cΔ·B·x
//   sliding window the read-out state after T tokens == a fresh recurrence over the last r only
//   state norm     every k tokens h ← h·τ/‖h‖ only where ‖h‖ > τ (and never the inverse)
// A one-layer model makes the hand recurrence exact: the layer's inputs depend on the tokens only.
// The window's read-out and RRI are also checked on Mamba-1, RWKV-5/6 and HGRN-2 states.
#include <cmath>
#include <functional>
#include <map>

#include "autograd/grad_mode.h"
#include "eval/inference.h"
#include "eval/mitigations.h"
#include "eval/state_stream.h"
#include "tests/support/eval_fixtures.h"
#include "tests/support/model_fixtures.h"  // defines: tiny_model_config
#include "models/model_factory.h"
#include "ops/ops.h"
#include "tests/support/testing.h"

using namespace ssm;
using namespace ssm::testing;

namespace {

constexpr int64_t kT = 40;

// The layer's internals on `tokens` without any control: Δ (T,H), B (T,N), x (T,H,P), A (H).
struct Probes {
  std::vector<double> dt, B, x, A;
  int64_t H = 0, P = 0, N = 0;
};

Probes capture(Mamba2Model& model, const std::vector<TokenId>& tokens) {
  autograd::NoGradGuard no_grad;
  Probes p;
  ForwardOptions options;
  options.probe = [&](int, const std::string& name, const Tensor& v) {
    if (name == "dt") p.dt = v.to_vector<double>(), p.H = v.size(2);
    if (name == "B") p.B = v.to_vector<double>(), p.N = v.size(3);
    if (name == "x") p.x = v.to_vector<double>(), p.P = v.size(3);
  };
  model.forward(token_batch(tokens, 0, tokens.size(), Device::cpu()), nullptr, options);
  for (const NamedParameter& param : model.named_parameters()) {
    if (param.name.find("A_log") != std::string::npos) {
      for (double a : param.tensor.to_vector<double>()) p.A.push_back(-std::exp(a));
    }
  }
  return p;
}

// h (H, P, N) after tokens [from, to) from zero: h = λ·exp(cΔA)·h + γ·cΔ·B·x, then `after(t, h)`
// once token t (1-based count) is in.
std::vector<double> recur(const Probes& p, int64_t from, int64_t to, double lambda, double gamma, double c,
                          const std::function<void(int64_t, std::vector<double>&)>& after = {}) {
  std::vector<double> h(static_cast<size_t>(p.H * p.P * p.N), 0.0);
  for (int64_t t = from; t < to; ++t) {
    for (int64_t hd = 0; hd < p.H; ++hd) {
      const double delta = c * p.dt[t * p.H + hd], alpha = lambda * std::exp(delta * p.A[hd]);
      for (int64_t i = 0; i < p.P; ++i) {
        for (int64_t n = 0; n < p.N; ++n) {
          double& s = h[(hd * p.P + i) * p.N + n];
          s = alpha * s + gamma * delta * p.B[t * p.N + n] * p.x[(t * p.H + hd) * p.P + i];
        }
      }
    }
    if (after) after(t + 1, h);
  }
  return h;
}

double head_norm(const std::vector<double>& h, int64_t head, int64_t per_head) {
  double s = 0;
  for (int64_t i = head * per_head; i < (head + 1) * per_head; ++i) s += h[i] * h[i];
  return std::sqrt(s);
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

// The stream's main state after all of `tokens`, fed in calls of `chunk` tokens.
std::vector<double> streamed_state(Mamba2Model& model, const std::vector<TokenId>& tokens, const Mitigations& m,
                                   int64_t chunk, bool readout = false) {
  StateStream stream(model, Device::cpu(), m, chunk);
  stream.feed(tokens);
  const LayerState& layer = stream.state().layers[0];
  return (readout ? readout_state(model, layer, 0, m.scan) : layer.at("ssm")).to_vector<double>();
}

}  // namespace

TEST_CASE("RRI and Δ-scaling through a stream equal the hand-written recurrence") {
  Mamba2Model model = tiny_mamba2(1);
  const std::vector<TokenId> tokens = some_text(kT);
  const Probes p = capture(model, tokens);
  REQUIRE(p.A.size() == static_cast<size_t>(p.H));
  struct Case {
    const char* name;
    double lambda, gamma, c;
  };
  for (const Case& k : {Case{"none", 1, 1, 1}, Case{"RRI 0.9,0.75", 0.9, 0.75, 1}, Case{"RRI paper", 0.9999, 0.75, 1},
                        Case{"delta x0.5", 1, 1, 0.5}, Case{"RRI + delta", 0.95, 0.5, 2}}) {
    SUBCASE(k.name) {
      Mitigations m;
      m.scan.retention_scale = k.lambda;
      m.scan.insertion_scale = k.gamma;
      m.scan.delta_scale = k.c;
      const std::vector<double> want = recur(p, 0, kT, k.lambda, k.gamma, k.c);
      const std::vector<double> got = streamed_state(model, tokens, m, 16);
      CHECK(max_abs_diff(got, want) < 1e-5);
      if (m.scan.any()) CHECK(max_abs_diff(got, recur(p, 0, kT, 1, 1, 1)) > 1e-3);  // the control did act
    }
  }
}

TEST_CASE("the window's read-out state is a fresh recurrence over the last r tokens only") {
  Mamba2Model model = tiny_mamba2(1);
  const std::vector<TokenId> tokens = some_text(kT);
  const Probes p = capture(model, tokens);
  for (int64_t r : {5, 12, 39}) {
    for (double lambda : {1.0, 0.9}) {
      CAPTURE(r);
      CAPTURE(lambda);
      Mitigations m;
      m.scan.window = r;
      m.scan.retention_scale = lambda;
      const std::vector<double> got = streamed_state(model, tokens, m, 7, /*readout=*/true);
      CHECK(max_abs_diff(got, recur(p, kT - r, kT, lambda, 1, 1)) < 1e-5);
      // The carried state itself is still the full one.
      CHECK(max_abs_diff(streamed_state(model, tokens, m, 7), recur(p, 0, kT, lambda, 1, 1)) < 1e-5);
    }
  }
  Mitigations longer;
  longer.scan.window = 100;  // longer than the input: the window changes nothing
  CHECK(max_abs_diff(streamed_state(model, tokens, longer, 9, true), recur(p, 0, kT, 1, 1, 1)) < 1e-5);
}

TEST_CASE("state norm: h <- h·τ/‖h‖ every k tokens, only for heads above τ") {
  Mamba2Model model = tiny_mamba2(1);
  const std::vector<TokenId> tokens = some_text(kT);
  const Probes p = capture(model, tokens);
  const int64_t per_head = p.P * p.N, every = 8;
  const std::vector<double> plain = recur(p, 0, kT, 1, 1, 1);
  Mitigations m;
  m.state_norm = true;
  m.norm_every = every;
  // Head 0 gets a threshold it exceeds; head 1 one it never reaches; the others a middle one.
  std::vector<double> tau(static_cast<size_t>(p.H), 0.3 * head_norm(plain, 0, per_head));
  tau[0] = 0.1 * head_norm(plain, 0, per_head);
  tau[1] = 1e9;
  m.thresholds.tau = {tau};
  int64_t hand_rescales = 0;
  const std::vector<double> want = recur(p, 0, kT, 1, 1, 1, [&](int64_t t, std::vector<double>& h) {
    if (t % every != 0) return;
    for (int64_t hd = 0; hd < p.H; ++hd) {
      const double norm = head_norm(h, hd, per_head);
      if (norm <= tau[hd]) continue;
      ++hand_rescales;
      for (int64_t i = hd * per_head; i < (hd + 1) * per_head; ++i) h[i] *= tau[hd] / norm;
    }
  });
  REQUIRE(hand_rescales > 0);
  for (int64_t chunk : {3, 8, 64}) {  // the schedule follows positions, not the callers' chunks
    CAPTURE(chunk);
    StateStream stream(model, Device::cpu(), m, chunk);
    stream.feed(tokens);
    const std::vector<double> got = stream.state().layers[0].at("ssm").to_vector<double>();
    CHECK(max_abs_diff(got, want) < 1e-5);
    CHECK(stream.rescaled_heads() == hand_rescales);
    // The direction: a rescaled head ends at or below τ (the inverted scale ‖h‖/τ would push it
    // further up); 40 tokens end on the schedule.
    CHECK(head_norm(got, 0, per_head) <= tau[0] * (1 + 1e-6));
    CHECK(max_abs_diff(std::vector<double>(got.begin() + per_head, got.begin() + 2 * per_head),
                       std::vector<double>(plain.begin() + per_head, plain.begin() + 2 * per_head)) < 1e-6);
  }
}

TEST_CASE("apply_state_norm on a hand-made state: above τ scaled to τ, at or below τ untouched") {
  // Two heads of 2x2: norms 5 (3,4,0,0) and 1 (1,0,0,0); τ = 2 for both.
  RecurrentState state;
  state.layers.push_back({{"ssm", Tensor::from_vector<double>({3, 4, 0, 0, 1, 0, 0, 0}, {1, 2, 2, 2})}});
  StateNormThresholds th{{{2.0, 2.0}}};
  CHECK(apply_state_norm(state, "ssm", th) == 1);
  const std::vector<double> want = {1.2, 1.6, 0, 0, 1, 0, 0, 0}, got = state.layers[0].at("ssm").to_vector<double>();
  for (size_t i = 0; i < want.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-15));
  // Exactly at τ: nothing changes.
  th.tau = {{2.0, 1.0}};
  CHECK(apply_state_norm(state, "ssm", th) == 0);
  CHECK(state.layers[0].at("ssm").to_vector<double>()[0] == doctest::Approx(1.2));
}

TEST_CASE("state-norm thresholds are the final head norms after the reference input") {
  Mamba2Model model = tiny_mamba2(2);
  const std::vector<TokenId> reference = some_text(50);
  Mitigations m;
  m.state_norm = true;
  prepare_state_norm(m, model, reference, Device::cpu(), 16);
  REQUIRE(m.thresholds.tau.size() == 2);
  autograd::NoGradGuard no_grad;
  RecurrentState state = model.init_state(1, Device::cpu());
  model.forward(token_batch(reference, 0, reference.size(), Device::cpu()), &state);
  for (size_t l = 0; l < 2; ++l) {
    const std::vector<double> h = state.layers[l].at("ssm").to_vector<double>();
    REQUIRE(m.thresholds.tau[l].size() == 4);
    for (int64_t hd = 0; hd < 4; ++hd) CHECK(m.thresholds.tau[l][hd] == doctest::Approx(head_norm(h, hd, 64)));
  }
  Mitigations off;  // without the flag nothing is recorded
  prepare_state_norm(off, model, reference, Device::cpu());
  CHECK(off.thresholds.empty());
}

TEST_CASE("mitigations describe themselves and refuse what cannot work") {
  Mamba2Model model = tiny_mamba2(1);
  ModelConfig rwkv6 = default_model_config("rwkv6");
  rwkv6.d_model = 8;
  rwkv6.n_layer = 1;
  rwkv6.headdim = 4;
  rwkv6.lora_rank_mix = rwkv6.lora_rank_decay = 2;
  Mitigations m;
  CHECK(m.describe() == "none");
  CHECK_FALSE(m.any());
  m.scan.retention_scale = 0.9999;
  m.scan.insertion_scale = 0.75;
  m.state_norm = true;
  CHECK(m.describe() == "RRI λ=0.9999 γ=0.75, state norm (every 128 tokens)");
  CHECK_NOTHROW(check_mitigations(m, model));
  m.scan.window = 64;
  CHECK_THROWS_WITH_AS(check_mitigations(m, model), doctest::Contains("do not combine"), UserError);
  Mitigations d;
  d.scan.delta_scale = 0.5;
  CHECK_THROWS_WITH_AS(check_mitigations(d, *make_model(rwkv6, 20, 1)), doctest::Contains("Mamba only"), UserError);
  Mitigations unprepared;
  unprepared.state_norm = true;
  CHECK_THROWS_AS(StateStream(model, Device::cpu(), unprepared), Error);
}

TEST_CASE("a stream keeps its own copy of the mitigations: neither a temporary's end nor a later change reaches it") {
  // Regression: StateStream held a reference to its Mitigations, and callers pass temporaries
  // (StateStream(model, device, Mitigations{}, chunk)): every feed then read a dead object
  // (stack-use-after-scope under ASan, in test_position_loss and test_state_stats).
  Mamba2Model model = tiny_mamba2(1);
  const std::vector<TokenId> tokens = some_text(kT);
  Mitigations m;
  m.state_norm = true;
  m.norm_every = 8;
  m.thresholds.tau = {std::vector<double>(static_cast<size_t>(capture(model, tokens).H), 1e-9)};  // all above τ
  StateStream reference(model, Device::cpu(), m, 16);
  reference.feed(tokens);
  REQUIRE(reference.rescaled_heads() > 0);
  const std::vector<double> want = reference.state().layers[0].at("ssm").to_vector<double>();

  // Changed after the stream was made: a stream that only referred to it would stop normalising.
  Mitigations changed = m;
  StateStream stream(model, Device::cpu(), changed, 16);
  changed.state_norm = false;
  changed.thresholds.tau.clear();
  stream.feed(tokens);
  CHECK(stream.rescaled_heads() == reference.rescaled_heads());
  CHECK(stream.state().layers[0].at("ssm").to_vector<double>() == want);

  // A temporary, gone before the first feed.
  StateStream from_temporary(model, Device::cpu(), Mitigations(m), 16);
  from_temporary.feed(tokens);
  CHECK(from_temporary.rescaled_heads() == reference.rescaled_heads());
  CHECK(from_temporary.state().layers[0].at("ssm").to_vector<double>() == want);
}

TEST_CASE("every architecture: the window's read-out state and RRI against the hand recurrence") {
  // One layer, f64. The hand recurrence reads the layer's own probes: GLA families
  // S = λ·exp(g)·S + γ·k vᵀ per head (K x V); Mamba-1 h = λ·exp(ΔA)·h + γ·Δ·B·x per channel (N).
  const int64_t T = 17, r = 5;
  const double lambda = 0.9, gamma = 0.8;
  for (const std::string arch : {"mamba1", "rwkv5", "rwkv6", "hgrn2"}) {
    SUBCASE(arch.c_str()) {
      ModelConfig cfg = tiny_model_config(arch);
      cfg.n_layer = 1;
      auto model = make_model(cfg, 258, 11, Dtype::f64);
      const std::vector<TokenId> tokens = some_text(T);
      std::map<std::string, std::vector<double>> probe;
      std::map<std::string, Shape> shape;
      {
        autograd::NoGradGuard no_grad;
        ForwardOptions options;
        options.probe = [&](int, const std::string& name, const Tensor& v) {
          probe[name] = v.to_vector<double>();
          shape[name] = v.shape();
        };
        model->forward(token_batch(tokens, 0, T, Device::cpu()), nullptr, options);
      }
      const bool mamba = arch == "mamba1";
      // State layout: GLA (H, K, V); Mamba-1 (E, N).
      const int64_t H = mamba ? shape["dt"][2] : shape["k"][2], K = mamba ? shape["B"][2] : shape["k"][3];
      const int64_t V = mamba ? 1 : shape["v"][3];
      auto hand = [&](int64_t from) {
        std::vector<double> S(static_cast<size_t>(H * K * V), 0.0);
        for (int64_t t = from; t < T; ++t) {
          for (int64_t h = 0; h < H; ++h) {
            for (int64_t k = 0; k < K; ++k) {
              const double decay = lambda * std::exp(probe["log_decay"][(t * H + h) * K + k]);
              for (int64_t v = 0; v < V; ++v) {
                const double in = mamba ? probe["dt"][t * H + h] * probe["B"][t * K + k] * probe["x"][t * H + h]
                                        : probe["k"][(t * H + h) * K + k] * probe["v"][(t * H + h) * V + v];
                double& s = S[(h * K + k) * V + v];
                s = decay * s + gamma * in;
              }
            }
          }
        }
        return S;
      };
      Mitigations m;
      m.scan.window = r;
      m.scan.retention_scale = lambda;
      m.scan.insertion_scale = gamma;
      StateStream stream(*model, Device::cpu(), m, 6);
      stream.feed(tokens);
      const LayerState& layer = stream.state().layers[0];
      const std::string key = model->recurrent_state_name();
      CHECK(max_abs_diff(layer.at(key).to_vector<double>(), hand(0)) < 1e-10);  // the full state
      CHECK(max_abs_diff(readout_state(*model, layer, 0, m.scan).to_vector<double>(), hand(T - r)) < 1e-10);
      CHECK(max_abs_diff(hand(0), hand(T - r)) > 1e-6);  // the window did remove something
    }
  }
}
