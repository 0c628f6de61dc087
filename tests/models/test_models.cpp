// tests/models/test_models.cpp — every architecture through the LanguageModel interface: parameter counts
// (tiny configs and the public checkpoints' shapes), chunked == recurrent == token-by-token,
// streamed with a carried state == one call, the state observer, and f64 gradient checks through
// the parameters and a carried state. Parameters are perturbed first: the reference inits zero
// whole branches (RWKV's output matrices, HGRN-2's lower bounds), which would hide mistakes.
// Also each architecture's state facts: N_S (main and all), whether it has a Δ, its state's axes.
#include <set>

#include "autograd/grad_mode.h"
#include "models/init.h"
#include "models/model_factory.h"
#include "ops/ops.h"
#include "tests/support/model_fixtures.h"  // defines: tiny_model_config, random_tokens, perturb
#include "tests/support/testing.h"

using namespace ssm;
using testing::perturb;
using testing::random_tokens;
using testing::tiny_model_config;

namespace {

const std::vector<std::string> kArchs = {"mamba1", "mamba2", "rwkv5", "rwkv6", "hgrn2"};

void check_states_close(const std::string& what, const RecurrentState& a, const RecurrentState& b, double tol) {
  REQUIRE(a.layers.size() == b.layers.size());
  for (size_t l = 0; l < a.layers.size(); ++l) {
    for (const auto& [name, t] : a.layers[l]) {
      CHECK_CLOSE(what + " layer " + std::to_string(l) + " " + name, t, b.layers[l].at(name), tol);
    }
  }
}

struct PublicShape {
  const char* name;
  const char* arch;
  int64_t d_model, n_layer, vocab;
  int64_t params;  // docs/architectures.md, parameter counts of the public sizes
};

}  // namespace

TEST_CASE("parameter counts of the public checkpoints' shapes equal docs/architectures.md") {
  const PublicShape shapes[] = {
      {"mamba-130m", "mamba1", 768, 24, 50277, 129'135'360},
      {"mamba-370m", "mamba1", 1024, 48, 50277, 371'516'416},
      {"mamba-790m", "mamba1", 1536, 48, 50277, 793'204'224},
      {"mamba-1.4b", "mamba1", 2048, 48, 50277, 1'372'178'432},
      {"mamba-2.8b", "mamba1", 2560, 64, 50277, 2'768'345'600},
      {"mamba2-130m", "mamba2", 768, 24, 50277, 128'989'632},
      {"mamba2-370m", "mamba2", 1024, 48, 50277, 368'346'624},
      {"mamba2-780m", "mamba2", 1536, 48, 50277, 780'161'280},
      {"mamba2-1.3b", "mamba2", 2048, 48, 50277, 1'343'757'312},
      {"mamba2-2.7b", "mamba2", 2560, 64, 50277, 2'702'599'680},
      {"rwkv5-0.4b", "rwkv5", 1024, 24, 65536, 461'721'600},
      {"rwkv5-1b5", "rwkv5", 2048, 24, 65536, 1'577'754'624},
      {"rwkv5-3b", "rwkv5", 2560, 32, 65536, 3'062'999'040},
      {"rwkv5-7b", "rwkv5", 4096, 32, 65536, 7'518'044'160},
      {"rwkv6-1b6", "rwkv6", 2048, 24, 65536, 1'599'873'024},
      {"rwkv6-3b", "rwkv6", 2560, 32, 65536, 3'099'863'040},
      {"rwkv6-7b", "rwkv6", 4096, 32, 65536, 7'635'746'816},
      {"rwkv6-14b", "rwkv6", 4096, 61, 65536, 14'069'088'256},
      {"hgrn2-1.3b", "hgrn2", 2048, 24, 32000, 1'364'396'032},
      {"hgrn2-2.7b", "hgrn2", 2560, 32, 32000, 2'701'724'160},
  };
  for (const PublicShape& s : shapes) {
    ModelConfig cfg = default_model_config(s.arch);
    cfg.d_model = s.d_model;
    cfg.n_layer = s.n_layer;
    if (cfg.arch != "mamba1" && cfg.arch != "mamba2") cfg.pad_vocab_multiple = 1;
    // Uninitialised storage: the 14B model costs address space, not memory or time.
    auto model = make_model(cfg, s.vocab, 1, Dtype::f32, /*initialize=*/false);
    INFO(s.name);
    CHECK(model->num_parameters() == s.params);
  }
}

TEST_CASE("parameter names are unique and each architecture's counts follow its formula") {
  for (const std::string& arch : kArchs) {
    SUBCASE(arch.c_str()) {
      const ModelConfig c = tiny_model_config(arch);
      auto model = make_model(c, 20, 1);
      std::set<std::string> names;
      for (const NamedParameter& p : model->named_parameters()) {
        CHECK(names.insert(p.name).second);
        CHECK(p.tensor.requires_grad());
      }
      const int64_t D = 8, V = model->vocab_size(), L = c.n_layer;
      int64_t expected = 0;
      if (arch == "mamba1") {  // E 16, N 4, W 4, R 1
        const int64_t E = 16, N = 4, W = 4, R = 1;
        expected = L * (2 * E * D + E * (W + 1) + E * (R + 2 * N) + R * E + E + E * N + E + D * E + D) + V * D + D;
      } else if (arch == "rwkv5" || arch == "rwkv6") {  // H 2, K 4, F 12
        const int64_t F = 12;
        const int64_t lora = arch == "rwkv6" ? D * 5 * 2 + 5 * 2 * D + D * 3 + 3 * D : 0;
        const int64_t mixes = arch == "rwkv6" ? 6 * D : 4 * D;
        expected = L * (4 * D + mixes + lora + 2 * D + 5 * D * D + 2 * D + 2 * D + F * D + D * D + D * F) +
                   2 * V * D + 4 * D;
      } else if (arch == "hgrn2") {  // F 12
        const int64_t F = 12;
        expected = L * (D + 4 * D * D + D + D + 3 * F * D) + 2 * V * D + L * D + D;
      } else {  // mamba2: E 16, H 4, G 2, N 4, W 4
        const int64_t E = 16, H = 4, G = 2, N = 4, W = 4;
        expected = L * (D * (2 * E + 2 * G * N + H) + (E + 2 * G * N) * (W + 1) + 3 * H + E + E * D + D) + V * D + D;
      }
      CHECK(model->num_parameters() == expected);
    }
  }
}

TEST_CASE("each architecture's state facts: N_S main and all, Δ, the main state's axes") {
  struct Facts {
    std::string arch;
    int64_t main_elements, all_elements;
    bool delta;
    std::vector<std::string> axes;
  };
  // The tiny configs (D 8, W 4) by hand, per layer: Mamba-1 E·N + conv (W−1)·E; Mamba-2 H·P·N +
  // conv (W−1)·(E + 2GN); RWKV H·K·K + two token shifts of D; HGRN-2 H·K·K alone.
  const Facts facts[] = {
      {"mamba1", 2 * 16 * 4, 2 * (16 * 4 + 3 * 16), true, {"n"}},
      {"mamba2", 2 * 4 * 4 * 4, 2 * (4 * 4 * 4 + 3 * (16 + 2 * 2 * 4)), true, {"p", "n"}},
      {"rwkv5", 2 * 2 * 4 * 4, 2 * (2 * 4 * 4 + 2 * 8), false, {"k", "v"}},
      {"rwkv6", 2 * 2 * 4 * 4, 2 * (2 * 4 * 4 + 2 * 8), false, {"k", "v"}},
      {"hgrn2", 3 * 2 * 4 * 4, 3 * 2 * 4 * 4, false, {"k", "v"}},
  };
  for (const Facts& f : facts) {
    SUBCASE(f.arch.c_str()) {
      auto model = make_model(tiny_model_config(f.arch), 20, 1);
      CHECK(model->main_state_elements() == f.main_elements);
      CHECK(model->all_state_elements() == f.all_elements);
      CHECK(model->has_delta() == f.delta);
      CHECK(model->state_axis_names() == f.axes);
      const Tensor h = model->init_state(1, Device::cpu()).layers.at(0).at(model->recurrent_state_name());
      CHECK(static_cast<int64_t>(model->state_axis_names().size()) == h.dim() - 2);  // after (batch, head)
    }
  }
}

TEST_CASE("N_S of the public checkpoints' shapes (docs/architectures.md#state-size)") {
  struct Sizes {
    const char* name;
    std::string arch;
    int64_t d_model, n_layer, main_elements, all_elements;
  };
  // Mamba-1 E·N = 32·d, conv 3·2d; Mamba-2 2·d·N = 256·d, conv 3·(2d + 2N) (docs/paper_protocols.md's
  // 12.583M and 12.915M for 370m); RWKV 64·d, token shifts 2·d; HGRN-2 128·d. All per layer.
  const Sizes sizes[] = {
      {"mamba-130m", "mamba1", 768, 24, 589'824, 700'416},
      {"mamba2-370m", "mamba2", 1024, 48, 12'582'912, 12'914'688},
      {"rwkv6-1b6", "rwkv6", 2048, 24, 3'145'728, 3'244'032},
      {"hgrn2-1.3b", "hgrn2", 2048, 24, 6'291'456, 6'291'456},
  };
  for (const Sizes& s : sizes) {
    ModelConfig cfg = default_model_config(s.arch);
    cfg.d_model = s.d_model;
    cfg.n_layer = s.n_layer;
    auto model = make_model(cfg, 50277, 1, Dtype::f32, /*initialize=*/false);
    INFO(s.name);
    CHECK(model->main_state_elements() == s.main_elements);
    CHECK(model->all_state_elements() == s.all_elements);
  }
}

TEST_CASE("chunked == recurrent == token-by-token, streamed == whole, observer sees each layer") {
  autograd::NoGradGuard no_grad;
  const int64_t B = 2, T = 11;
  for (const std::string& arch : kArchs) {
    SUBCASE(arch.c_str()) {
      auto model = make_model(tiny_model_config(arch), 20, 3, Dtype::f64);
      perturb(*model, 100);
      Tensor tokens = random_tokens(B, T, 20, 5);

      model->set_scan_impl(ops::ScanImpl::chunked);
      RecurrentState s_chunked = model->init_state(B, Device::cpu());
      Tensor chunked = model->forward(tokens, &s_chunked);
      model->set_scan_impl(ops::ScanImpl::recurrent);
      RecurrentState s_rec = model->init_state(B, Device::cpu());
      Tensor recurrent = model->forward(tokens, &s_rec);
      model->set_scan_impl(ops::ScanImpl::chunked);
      CHECK_CLOSE(arch + " logits chunked vs recurrent", chunked, recurrent, 1e-12);
      check_states_close(arch + " state chunked vs recurrent", s_chunked, s_rec, 1e-12);
      // Without a state the model starts from zeros: the same logits.
      CHECK_CLOSE(arch + " logits without a state", model->forward(tokens, nullptr), chunked, 1e-12);

      RecurrentState s_step = model->init_state(B, Device::cpu());
      std::vector<Tensor> steps;
      for (int64_t t = 0; t < T; ++t) {
        steps.push_back(ops::unsqueeze(model->step(ops::squeeze(ops::slice(tokens, 1, t, t + 1), 1), s_step), 1));
      }
      CHECK_CLOSE(arch + " logits step vs full", ops::concat(steps, 1), chunked, 1e-12);
      check_states_close(arch + " state step vs full", s_step, s_chunked, 1e-12);

      RecurrentState s_stream = model->init_state(B, Device::cpu());
      Tensor a = model->forward(ops::slice(tokens, 1, 0, 5), &s_stream);
      Tensor b = model->forward(ops::slice(tokens, 1, 5, 6), &s_stream);
      Tensor c = model->forward(ops::slice(tokens, 1, 6, T), &s_stream);
      CHECK_CLOSE(arch + " logits streamed vs whole", ops::concat({a, b, c}, 1), chunked, 1e-12);
      check_states_close(arch + " state streamed vs whole", s_stream, s_chunked, 1e-12);

      int calls = 0;
      ForwardOptions options;
      options.observer = [&](int layer, const LayerState& st) {
        CHECK(layer == calls++);
        CHECK(!st.empty());
      };
      RecurrentState s_obs = model->init_state(B, Device::cpu());
      model->forward(tokens, &s_obs, options);
      CHECK(calls == model->num_layers());
    }
  }
}

TEST_CASE("f64 gradient check of every model through its parameters and a carried state") {
  for (const std::string& arch : kArchs) {
    SUBCASE(arch.c_str()) {
      ModelConfig cfg = tiny_model_config(arch);
      cfg.d_model = 4;
      cfg.n_layer = arch == "hgrn2" ? 2 : 1;
      cfg.chunk_size = 3;
      if (arch == "mamba2") {
        cfg.headdim = 2;  // E = 8, H = 4, P = 2
        cfg.d_state = 3;  // N = 3 differs from every other size, so an index that mixes N up fails
      }
      if (arch != "mamba1" && arch != "mamba2") {
        cfg.headdim = 2;
        cfg.d_ffn = 6;
      }
      if (arch == "rwkv6") cfg.lora_rank_mix = cfg.lora_rank_decay = 2;
      auto model = make_model(cfg, 10, 11, Dtype::f64);
      perturb(*model, 200);
      Tensor tokens = random_tokens(1, 5, 10, 13);
      std::vector<Tensor> inputs;
      for (const NamedParameter& p : model->named_parameters()) inputs.push_back(p.tensor);
      // Every state tensor of the last layer enters as a leaf, so its gradient is checked too.
      const LayerState start = model->init_state(1, Device::cpu()).layers.back();
      std::vector<std::string> state_names;
      uint64_t seed = 17;
      for (const auto& [name, t] : start) {
        state_names.push_back(name);
        inputs.push_back(testing::leaf64(t.shape(), seed++, 0.5));
      }
      const size_t n_params = inputs.size() - state_names.size();
      auto fn = [&](const std::vector<Tensor>& in) {
        RecurrentState s = model->init_state(1, Device::cpu());
        for (size_t k = 0; k < state_names.size(); ++k) s.layers.back()[state_names[k]] = in[n_params + k];
        std::vector<Tensor> out{model->forward(tokens, &s)};
        for (const std::string& name : state_names) out.push_back(s.layers.back().at(name));
        return out;
      };
      autograd::GradcheckOptions opt;
      opt.atol = 1e-6;
      opt.rtol = 1e-4;
      CHECK_GRADCHECK(fn, inputs, opt);
    }
  }
}

TEST_CASE("reference inits: RWKV's lerps, decays and zero output; HGRN-2 bounds; Mamba-1's S4D A") {
  for (const std::string& arch : {std::string("mamba1"), std::string("rwkv5"), std::string("rwkv6"),
                                  std::string("hgrn2")}) {
    SUBCASE(arch.c_str()) {
      auto model = make_model(tiny_model_config(arch), 20, 1);
      for (const NamedParameter& p : model->named_parameters()) {
        const std::vector<double> v = p.tensor.to_vector<double>();
        if (p.name.find("time_mix") != std::string::npos || p.name.find("time_maa_") != std::string::npos) {
          if (p.name.find("_w1") != std::string::npos) {
            for (double x : v) CHECK(x == 0.0);
          } else if (p.name.find("_w2") == std::string::npos) {
            for (double x : v) CHECK((x >= -0.3 && x <= 1.3));  // v5 μ_v and v6 1-μ_v carry ±0.3·r01
          }
        } else if (p.name.ends_with("att.time_decay")) {
          for (double x : v) CHECK((x >= -6.0 && x <= -1.0));
        } else if (p.name.ends_with("att.output.weight") || p.name.ends_with("ffn.value.weight")) {
          for (double x : v) CHECK(x == 0.0);
        } else if (p.name == "model.lower_bounds") {
          for (double x : v) CHECK(x == 0.0);
        } else if (p.name.ends_with("mixer.A_log")) {
          for (size_t i = 0; i < v.size(); ++i) CHECK(std::exp(v[i]) == doctest::Approx(double(i % 4 + 1)));
        }
      }
    }
  }
}

TEST_CASE("orthogonal init: QᵀQ = gain²·I for tall and wide matrices") {
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{12, 5}, {5, 12}, {7, 7}}) {
    ParameterFactory init(3, Dtype::f64, true);
    Tensor q = init.orthogonal(rows, cols, 0.5, 0, 0).detach();
    const bool tall = rows >= cols;
    Tensor gram = tall ? ops::matmul(ops::transpose(q, 0, 1), q) : ops::matmul(q, ops::transpose(q, 0, 1));
    const int64_t n = std::min(rows, cols);
    std::vector<double> g = gram.to_vector<double>();
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < n; ++j) CHECK(g[i * n + j] == doctest::Approx(i == j ? 0.25 : 0.0).epsilon(1e-12));
    }
  }
}
