// tests/models/test_pretrained.cpp — loading public-checkpoint layouts: an ssmlab model written out the
// way each family publishes it (names, config.json, shards, bf16) must load back into a model
// with identical logits; bad directories give a UserError naming the file and tensor (the strict
// checks of config keys and tensor shapes: test_pretrained_strict.cpp).
// (The golden tests check the same loader against files written by the reference libraries.)
#include <filesystem>
#include <fstream>

#include "autograd/grad_mode.h"
#include "core/safetensors.h"
#include "ops/ops.h"
#include "models/model_factory.h"
#include "tests/support/pretrained_fixtures.h"
#include "tests/support/model_fixtures.h"  // defines: perturb, random_tokens
#include "tests/support/testing.h"
#include "train/pretrained.h"

using namespace ssm;
using namespace ssm::testing;
namespace fs = std::filesystem;

namespace {

const fs::path kWork = fs::temp_directory_path() / "ssmlab_test_pretrained";

Tensor logits_of(LanguageModel& model) {
  autograd::NoGradGuard no_grad;
  return model.forward(testing::random_tokens(2, 9, model.vocab_size(), 3), nullptr);
}

std::string identity(const std::string& name) { return name; }

std::string error_of(const std::string& dir) {
  try {
    load_pretrained(dir);
  } catch (const UserError& e) {
    MESSAGE(std::string(e.what()));
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("each publisher's layout loads back to the same logits") {
  SUBCASE("state-spaces Mamba-2: config.json with ssm_cfg, tied head also saved") {
    auto model = tiny_model("mamba2", 24);
    const fs::path dir = kWork / "state_spaces";
    write_weights(*model, dir, identity);
    write_text(dir / "config.json", R"({"d_model": 8, "n_layer": 2, "vocab_size": 20, "pad_vocab_size_multiple": 8,
        "ssm_cfg": {"layer": "Mamba2", "d_state": 4, "headdim": 4}, "tie_embeddings": true})");
    PretrainedInfo info;
    auto loaded = load_pretrained(dir.string(), &info);
    CHECK(info.layout == "state-spaces");
    CHECK(info.model.arch == "mamba2");
    CHECK(info.vocab_size == 24);
    CHECK_CLOSE("state-spaces logits", logits_of(*loaded), logits_of(*model), 0.0);
  }
  SUBCASE("transformers Mamba-1: embeddings renamed, bf16 weights, two shards") {
    auto model = tiny_model("mamba1", 24);
    const fs::path dir = kWork / "hf_mamba";
    write_weights(*model, dir, [](const std::string& n) {
      return n == "backbone.embedding.weight" ? std::string("backbone.embeddings.weight") : n;
    }, Dtype::bf16, /*sharded=*/true);
    write_text(dir / "config.json", R"({"model_type": "mamba", "hidden_size": 8, "num_hidden_layers": 2,
        "state_size": 16, "expand": 2, "conv_kernel": 4, "time_step_rank": 1, "vocab_size": 24})");
    PretrainedInfo info;
    auto loaded = load_pretrained(dir.string(), &info);
    CHECK(info.layout == "hf-mamba");
    // bf16 storage rounds the weights: compare against the model rounded the same way.
    for (NamedParameter& p : model->named_parameters()) p.tensor.copy_from(p.tensor.detach().to(Dtype::bf16));
    CHECK_CLOSE("hf mamba logits", logits_of(*loaded), logits_of(*model), 0.0);
  }
  SUBCASE("RWKV-6 official names without any config: sizes from the tensor shapes") {
    auto model = tiny_model("rwkv6", 24);
    const fs::path dir = kWork / "rwkv6";
    write_weights(*model, dir, identity);
    PretrainedInfo info;
    auto loaded = load_pretrained(dir.string(), &info);
    CHECK(info.layout == "rwkv");
    CHECK(info.model.arch == "rwkv6");
    CHECK(info.model.headdim == 4);
    CHECK(info.model.lora_rank_mix == 2);
    CHECK(info.model.lora_rank_decay == 3);
    CHECK_CLOSE("rwkv6 logits", logits_of(*loaded), logits_of(*model), 0.0);
  }
  SUBCASE("transformers RWKV-5: rwkv. prefix and spelled-out names") {
    auto model = tiny_model("rwkv5", 24);
    const fs::path dir = kWork / "hf_rwkv5";
    write_weights(*model, dir, [](const std::string& name) {
      std::string n = name;
      if (n == "head.weight") return n;
      for (auto [from, to] : {std::pair<std::string, std::string>{"emb.", "embeddings."}, {".ln0.", ".pre_ln."},
                              {".att.", ".attention."}, {".ffn.", ".feed_forward."}, {"time_mix_k", "time_mix_key"},
                              {"time_mix_v", "time_mix_value"}, {"time_mix_r", "time_mix_receptance"},
                              {"time_mix_g", "time_mix_gate"}}) {
        if (const size_t at = n.find(from); at != std::string::npos) n.replace(at, from.size(), to);
      }
      return "rwkv." + n;
    });
    write_text(dir / "config.json", R"({"model_type": "rwkv5", "hidden_size": 8, "num_hidden_layers": 2})");
    PretrainedInfo info;
    auto loaded = load_pretrained(dir.string(), &info);
    CHECK(info.layout == "hf-rwkv");
    CHECK(info.model.arch == "rwkv5");
    CHECK_CLOSE("hf rwkv5 logits", logits_of(*loaded), logits_of(*model), 0.0);
  }
  SUBCASE("fla HGRN-2") {
    auto model = tiny_model("hgrn2", 24);
    const fs::path dir = kWork / "fla_hgrn2";
    write_weights(*model, dir, identity);
    write_text(dir / "config.json", R"({"model_type": "hgrn2", "hidden_size": 8, "num_hidden_layers": 2,
        "expand_ratio": 4, "norm_eps": 1e-6, "use_short_conv": false, "use_lower_bound": true})");
    PretrainedInfo info;
    auto loaded = load_pretrained(dir.string(), &info);
    CHECK(info.layout == "fla");
    CHECK(info.model.d_ffn == 12);
    CHECK_CLOSE("hgrn2 logits", logits_of(*loaded), logits_of(*model), 0.0);
  }
}

TEST_CASE("bad pretrained directories name the file and the tensor") {
  auto model = tiny_model("mamba1", 24);
  const fs::path dir = kWork / "bad";
  const std::string config = R"({"model_type": "mamba", "hidden_size": 8, "num_hidden_layers": 2,
      "state_size": 16, "expand": 2, "conv_kernel": 4, "vocab_size": 24})";
  SUBCASE("missing tensor") {
    write_weights(*model, dir, [](const std::string& n) { return n == "backbone.norm_f.weight" ? std::string("something.else") : n; });
    write_text(dir / "config.json", config);
    CHECK(error_of(dir.string()).find("missing tensor 'backbone.norm_f.weight'") != std::string::npos);
  }
  SUBCASE("wrong shape") {
    // Sizes are read off layer 0; layer 1's x_proj disagrees with them.
    NamedTensors tensors = model_tensors(*model);
    for (auto& [name, t] : tensors) {
      if (name == "backbone.layers.1.mixer.x_proj.weight") t = Tensor::zeros({t.size(0) + 1, t.size(1)});
    }
    write_tensors(dir, tensors);
    write_text(dir / "config.json", config);
    CHECK(error_of(dir.string()).find("mixer.x_proj.weight' has shape") != std::string::npos);
  }
  SUBCASE("a config size that disagrees with the tensors") {
    write_weights(*model, dir, identity);
    write_text(dir / "config.json", R"({"model_type": "mamba", "hidden_size": 8, "num_hidden_layers": 2,
        "state_size": 8, "expand": 2, "conv_kernel": 4})");
    CHECK(error_of(dir.string()) == (dir / "config.json").string() + ": state_size is 8, but the tensors say 16 "
                                    "(backbone.layers.0.mixer.A_log (16, 16))");
  }
  SUBCASE("an untied head") {
    fs::create_directories(dir);
    std::vector<std::pair<std::string, Tensor>> tensors{{"lm_head.weight", Tensor::zeros({24, 8})}};
    for (const NamedParameter& p : model->named_parameters()) tensors.emplace_back(p.name, p.tensor.detach());
    save_safetensors((dir / "model.safetensors").string(), tensors);
    write_text(dir / "config.json", config);
    CHECK(error_of(dir.string()).find("lm_head.weight differs from the embedding") != std::string::npos);
  }
  SUBCASE("not a checkpoint") {
    fs::remove_all(dir);
    fs::create_directories(dir);
    save_safetensors((dir / "model.safetensors").string(), {{"x", Tensor::zeros({2})}});
    CHECK(error_of(dir.string()).find("not a recognised checkpoint") != std::string::npos);
  }
  SUBCASE("no weights") {
    fs::remove_all(dir);
    fs::create_directories(dir);
    write_text(dir / "config.json", config);
    CHECK(error_of(dir.string()).find("has no model.safetensors") != std::string::npos);
  }
}
