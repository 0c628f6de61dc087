// tests/models/test_mamba2.cpp — what only the Mamba-2 model has: parameter names and shapes as in the
// state-spaces checkpoints, its initialisation (dt_bias, A, D, which parameters skip weight decay)
// and the layout of its recurrent state. What holds for every architecture (counts by formula,
// chunked == recurrent == token-by-token, streaming, the observer, gradient checks) is checked for
// Mamba-2 too in tests/models/test_models.cpp.
#include <cmath>

#include "autograd/grad_mode.h"
#include "models/mamba2.h"
#include "models/model_factory.h"
#include "ops/ops.h"
#include "tests/support/model_fixtures.h"  // defines: tiny_model_config, random_tokens
#include "tests/support/testing.h"

using namespace ssm;
using testing::tiny_model_config;

TEST_CASE("parameter names and shapes follow the state-spaces checkpoints, vocab padded to 16") {
  Mamba2Model model(tiny_model_config("mamba2"), 20, 1);
  const int64_t D = 8, E = 16, H = 4, G = 2, N = 4, W = 4, V = 32;
  CHECK(model.vocab_size() == V);
  auto params = model.named_parameters();
  CHECK(params.front().name == "backbone.embedding.weight");
  CHECK(params[2].name == "backbone.layers.0.mixer.in_proj.weight");
  CHECK(params[2].tensor.shape() == Shape{2 * E + 2 * G * N + H, D});
  CHECK(params[3].tensor.shape() == Shape{E + 2 * G * N, 1, W});
  CHECK(params.back().name == "backbone.norm_f.weight");
}

TEST_CASE("initialisation: dt_bias inverts softplus into [1e-3, 0.1], D = 1, vectors skip weight decay") {
  Mamba2Model model(tiny_model_config("mamba2"), 20, 7);
  for (const NamedParameter& p : model.named_parameters()) {
    if (p.name.ends_with("dt_bias")) {
      for (double b : ops::softplus(p.tensor.detach()).to_vector<double>()) {
        CHECK(b >= 1e-3 * 0.999);
        CHECK(b <= 0.1 * 1.001);
      }
    } else if (p.name.ends_with("mixer.D")) {
      for (double d : p.tensor.to_vector<double>()) CHECK(d == 1.0);
    }
    CHECK(p.no_weight_decay == (p.tensor.dim() < 2));
  }
}

TEST_CASE("Mamba-2's A init: U(1, 16) by default, U(a_init_min, a_init_max) when given") {
  for (const auto& [lo, hi] : {std::pair<double, double>{1.0, 16.0}, {0.001, 0.1}, {0.5, 0.5}}) {
    ModelConfig c = tiny_model_config("mamba2");
    c.a_init_min = lo;
    c.a_init_max = hi;
    auto model = make_model(c, 20, 1);
    int heads = 0;
    for (const NamedParameter& p : model->named_parameters()) {
      if (!p.name.ends_with("mixer.A_log")) continue;
      for (double x : p.tensor.to_vector<double>()) {
        CHECK(std::exp(x) >= lo * (1 - 1e-6));
        CHECK(std::exp(x) <= hi * (1 + 1e-6));
        ++heads;
      }
    }
    CHECK(heads == 2 * 4);  // 2 layers x (2·8 / 4) heads
  }
  ModelConfig bad = tiny_model_config("mamba2");
  bad.a_init_min = 2;
  bad.a_init_max = 1;
  CHECK(validate_model_config(bad) == "model.a_init_min (2) must be positive and at most model.a_init_max (1)");
}

TEST_CASE("the observer sees each layer's ssm state as (B, H, P, N)") {
  autograd::NoGradGuard no_grad;
  Mamba2Model model(tiny_model_config("mamba2"), 20, 3, Dtype::f64);
  const int64_t B = 2;
  std::vector<Shape> seen;
  ForwardOptions options;
  options.observer = [&](int, const LayerState& st) { seen.push_back(st.at("ssm").shape()); };
  RecurrentState s = model.init_state(B, Device::cpu());
  model.forward(testing::random_tokens(B, 11, 20, 5), &s, options);
  CHECK(seen == std::vector<Shape>(2, Shape{B, 4, 4, 4}));  // 2 layers; H 4, P 4, N 4
}
