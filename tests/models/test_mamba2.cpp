// tests/models/test_mamba2.cpp — the Mamba-2 model: parameter names and counts, chunked == recurrent ==
// token-by-token, streaming with a carried state equals one call, and f64 gradient checks.
#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "core/philox.h"
#include "models/mamba2.h"
#include "ops/ops.h"
#include "tests/support/testing.h"

using namespace ssm;

namespace {

ModelConfig tiny_config() {
  ModelConfig cfg;
  cfg.d_model = 8;
  cfg.n_layer = 2;
  cfg.d_state = 4;
  cfg.headdim = 4;  // E = 16, H = 4
  cfg.expand = 2;
  cfg.ngroups = 2;
  cfg.chunk_size = 4;
  cfg.pad_vocab_multiple = 16;
  return cfg;
}

Tensor random_tokens(int64_t B, int64_t T, int64_t vocab, uint64_t seed) {
  Rng rng(seed);
  std::vector<int64_t> ids(B * T);
  for (auto& id : ids) id = static_cast<int64_t>(rng.below(vocab));
  return Tensor::from_vector(ids, {B, T});
}

}  // namespace

TEST_CASE("parameter names follow the state-spaces checkpoints and counts follow docs/architectures.md") {
  const ModelConfig cfg = tiny_config();
  Mamba2Model model(cfg, 20, 1);
  const int64_t D = 8, E = 16, H = 4, G = 2, N = 4, W = 4, V = 32, L = 2;
  // Per layer: D·(2E+2GN+H) + (E+2GN)(W+1) + 3H + E + E·D + D; plus V·D + D.
  const int64_t per_layer = D * (2 * E + 2 * G * N + H) + (E + 2 * G * N) * (W + 1) + 3 * H + E + E * D + D;
  CHECK(model.vocab_size() == V);
  CHECK(model.num_parameters() == L * per_layer + V * D + D);
  auto params = model.named_parameters();
  CHECK(params.front().name == "backbone.embedding.weight");
  CHECK(params[2].name == "backbone.layers.0.mixer.in_proj.weight");
  CHECK(params[2].tensor.shape() == Shape{2 * E + 2 * G * N + H, D});
  CHECK(params[3].tensor.shape() == Shape{E + 2 * G * N, 1, W});
  CHECK(params.back().name == "backbone.norm_f.weight");
}

TEST_CASE("initialisation: dt_bias inverts softplus into [1e-3, 0.1], A in [1, 16], D = 1") {
  Mamba2Model model(tiny_config(), 20, 7);
  for (const NamedParameter& p : model.named_parameters()) {
    if (p.name.ends_with("dt_bias")) {
      for (double b : ops::softplus(p.tensor.detach()).to_vector<double>()) {
        CHECK(b >= 1e-3 * 0.999);
        CHECK(b <= 0.1 * 1.001);
      }
    } else if (p.name.ends_with("A_log")) {
      for (double a : p.tensor.to_vector<double>()) {
        CHECK(std::exp(a) >= 1.0);
        CHECK(std::exp(a) <= 16.0);
      }
    } else if (p.name.ends_with("mixer.D")) {
      for (double d : p.tensor.to_vector<double>()) CHECK(d == 1.0);
    }
    CHECK(p.no_weight_decay == (p.tensor.dim() < 2));
  }
}

TEST_CASE("chunked == recurrent == token-by-token, and streamed == whole") {
  autograd::NoGradGuard no_grad;
  Mamba2Model model(tiny_config(), 20, 3, Dtype::f64);
  const int64_t B = 2, T = 11;
  Tensor tokens = random_tokens(B, T, 20, 5);

  model.set_scan_impl(ops::ScanImpl::chunked);
  RecurrentState s_chunked = model.init_state(B, Device::cpu());
  Tensor chunked = model.forward(tokens, &s_chunked);

  model.set_scan_impl(ops::ScanImpl::recurrent);
  RecurrentState s_rec = model.init_state(B, Device::cpu());
  Tensor recurrent = model.forward(tokens, &s_rec);
  model.set_scan_impl(ops::ScanImpl::chunked);
  CHECK_CLOSE("logits chunked vs recurrent", chunked, recurrent, 1e-12);
  CHECK_CLOSE("final ssm state", s_chunked.layers[1].at("ssm"), s_rec.layers[1].at("ssm"), 1e-12);

  SUBCASE("step mode") {
    RecurrentState s = model.init_state(B, Device::cpu());
    std::vector<Tensor> steps;
    for (int64_t t = 0; t < T; ++t) {
      steps.push_back(ops::unsqueeze(model.step(ops::squeeze(ops::slice(tokens, 1, t, t + 1), 1), s), 1));
    }
    CHECK_CLOSE("logits step vs full", ops::concat(steps, 1), chunked, 1e-12);
    CHECK_CLOSE("conv state step vs full", s.layers[0].at("conv"), s_chunked.layers[0].at("conv"), 1e-12);
  }
  SUBCASE("streamed in pieces 5 + 1 + 5") {
    RecurrentState s = model.init_state(B, Device::cpu());
    Tensor a = model.forward(ops::slice(tokens, 1, 0, 5), &s);
    Tensor b = model.forward(ops::slice(tokens, 1, 5, 6), &s);
    Tensor c = model.forward(ops::slice(tokens, 1, 6, T), &s);
    CHECK_CLOSE("logits streamed vs whole", ops::concat({a, b, c}, 1), chunked, 1e-12);
    CHECK_CLOSE("state streamed vs whole", s.layers[1].at("ssm"), s_chunked.layers[1].at("ssm"), 1e-12);
  }
  SUBCASE("the observer sees every layer's new state") {
    int calls = 0;
    RecurrentState s = model.init_state(B, Device::cpu());
    ForwardOptions options;
    options.observer = [&](int layer, const LayerState& st) {
      CHECK(st.at("ssm").shape() == Shape{B, 4, 4, 4});
      CHECK(layer == calls);
      ++calls;
    };
    model.forward(tokens, &s, options);
    CHECK(calls == 2);
  }
}

TEST_CASE("f64 gradient check of the whole model through its parameters and carried state") {
  ModelConfig cfg = tiny_config();
  cfg.d_model = 4;
  cfg.n_layer = 1;
  cfg.headdim = 2;  // E = 8, H = 4
  cfg.d_state = 3;
  cfg.chunk_size = 3;
  Mamba2Model model(cfg, 10, 11, Dtype::f64);
  Tensor tokens = random_tokens(1, 5, 10, 13);
  std::vector<Tensor> inputs;
  for (const NamedParameter& p : model.named_parameters()) inputs.push_back(p.tensor);
  RecurrentState start = model.init_state(1, Device::cpu());
  Tensor h0 = testing::leaf64(start.layers[0].at("ssm").shape(), 17, 0.5);
  inputs.push_back(h0);
  auto fn = [&](const std::vector<Tensor>& in) {
    RecurrentState s = model.init_state(1, Device::cpu());
    s.layers[0]["ssm"] = in.back();
    Tensor logits = model.forward(tokens, &s);
    return std::vector<Tensor>{logits, s.layers[0].at("ssm")};
  };
  autograd::GradcheckOptions opt;
  opt.atol = 1e-6;
  opt.rtol = 1e-4;
  CHECK_GRADCHECK(fn, inputs, opt);
}
