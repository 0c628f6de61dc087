// tests/models/test_pretrained_strict.cpp — strict loading of public checkpoints: each bad directory
// is a good one (a tiny model in a publisher's layout) with one thing changed, and must be a
// UserError naming the file and the key or tensor — never a crash, a huge allocation, or a model
// that silently differs from the publisher's (train/pretrained_config.h).
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/philox.h"
#include "tests/support/pretrained_fixtures.h"
#include "tests/support/testing.h"
#include "train/pretrained.h"

using namespace ssm;
using namespace ssm::testing;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

const fs::path kWork = fs::temp_directory_path() / "ssmlab_test_pretrained_strict";

std::string hf_name(const std::string& n) {
  return n == "backbone.embedding.weight" ? std::string("backbone.embeddings.weight") : n;
}

// A good checkpoint of `kind` in `dir`; returns its config.json (also written) and its tensors.
struct Fixture {
  fs::path dir;
  json config;
  NamedTensors tensors;
  std::unique_ptr<LanguageModel> model;

  fs::path config_path() const { return dir / "config.json"; }
  // Rewrites the directory from `tensors` and `config` (after a test changed them).
  void write() const {
    write_tensors(dir, tensors);
    if (!config.is_null()) write_text(config_path(), config.dump());
  }
  Tensor& tensor(const std::string& name) {
    for (auto& [n, t] : tensors) {
      if (n == name) return t;
    }
    FAIL("no tensor ", name);
    return tensors.front().second;
  }
};

Fixture make_fixture(const std::string& kind) {
  Fixture f;
  f.dir = kWork / kind;
  if (kind == "hf-mamba") {
    f.model = tiny_model("mamba1", 24);
    f.config = {{"model_type", "mamba"}, {"hidden_size", 8}, {"num_hidden_layers", 2}, {"state_size", 16},
                {"expand", 2}, {"conv_kernel", 4}, {"time_step_rank", "auto"}, {"use_bias", false},
                {"use_conv_bias", true}, {"hidden_act", "silu"}};
  } else if (kind == "hf-mamba2") {
    f.model = tiny_model("mamba2", 24);
    f.config = {{"model_type", "mamba2"}, {"hidden_size", 8}, {"num_hidden_layers", 2}, {"state_size", 4},
                {"expand", 2},         {"conv_kernel", 4}, {"head_dim", 4},         {"n_groups", 1},
                {"num_heads", 4},      {"rms_norm", true}, {"tie_word_embeddings", true}};
  } else if (kind == "state-spaces") {
    f.model = tiny_model("mamba1", 24);
    f.config = {{"d_model", 8}, {"n_layer", 2}, {"vocab_size", 20}, {"d_intermediate", 0}, {"rms_norm", true},
                {"attn_layer_idx", json::array()}, {"ssm_cfg", json::object()}};
  } else if (kind == "state-spaces-2") {
    f.model = tiny_model("mamba2", 24);
    f.config = {{"d_model", 8}, {"n_layer", 2}, {"ssm_cfg", {{"layer", "Mamba2"}, {"d_state", 4}, {"headdim", 4}}}};
  } else if (kind == "fla") {
    f.model = tiny_model("hgrn2", 24);
    f.config = {{"model_type", "hgrn2"}, {"hidden_size", 8}, {"num_hidden_layers", 2}, {"expand_ratio", 4},
                {"attn", nullptr},       {"hidden_act", "swish"}, {"intermediate_size", 12}};
  } else if (kind == "hf-rwkv5") {
    f.model = tiny_model("rwkv5", 24);
    f.config = {{"model_type", "rwkv5"},         {"hidden_size", 8},        {"num_hidden_layers", 2},
                {"head_size", 4},                {"attention_hidden_size", 8}, {"intermediate_size", 12},
                {"head_size_divisor", 8},        {"tie_word_embeddings", false}};
  } else {  // rwkv5, rwkv6: official names and the converter's config.json
    f.model = tiny_model(kind, 24);
    f.config = {{"architecture", kind}, {"n_embd", 8}, {"n_layer", 2}, {"head_size", 4}, {"dim_ffn", 12},
                {"vocab_size", 24}};
  }
  for (auto& [name, t] : model_tensors(*f.model)) {
    const std::string stored = kind.starts_with("hf-mamba") ? hf_name(name)
                               : kind == "hf-rwkv5"        ? pretrained_tensor_name("hf-rwkv", name)
                                                           : name;
    f.tensors.emplace_back(stored, t);
  }
  f.write();
  return f;
}

std::string error_of(const fs::path& dir) {
  try {
    load_pretrained(dir.string());
  } catch (const UserError& e) {
    MESSAGE(std::string(e.what()));
    return e.what();
  }
  return "(no error)";
}

Tensor logits_of(LanguageModel& model) {
  autograd::NoGradGuard no_grad;
  Rng rng(3);
  std::vector<int64_t> ids(2 * 9);
  for (auto& id : ids) id = static_cast<int64_t>(rng.below(model.vocab_size()));
  return model.forward(Tensor::from_vector(ids, {2, 9}), nullptr);
}

// The checkpoint loads and computes what the model it was written from computes.
void check_loads(Fixture& f) {
  PretrainedInfo info;
  std::unique_ptr<LanguageModel> loaded;
  try {
    loaded = load_pretrained(f.dir.string(), &info);
  } catch (const UserError& e) {
    FAIL_CHECK("unexpected error: ", e.what());
    return;
  }
  CHECK_CLOSE(f.dir.filename().string(), logits_of(*loaded), logits_of(*f.model), 0.0);
}

}  // namespace

TEST_CASE("every fixture loads before it is damaged") {
  for (const char* kind : {"hf-mamba", "hf-mamba2", "state-spaces", "state-spaces-2", "fla", "rwkv5", "rwkv6", "hf-rwkv5"}) {
    CAPTURE(kind);
    Fixture f = make_fixture(kind);
    check_loads(f);
  }
}

TEST_CASE("zero, negative and huge sizes in config.json are refused naming the key") {
  const auto expect = [](const std::string& kind, const std::function<void(json&)>& edit, const std::string& needle) {
    Fixture f = make_fixture(kind);
    edit(f.config);
    f.write();
    CHECK(error_of(f.dir) == f.config_path().string() + ": " + needle);
  };
  expect("hf-mamba2", [](json& c) { c["head_dim"] = 0; }, "head_dim must be a positive integer, got 0");
  expect("hf-mamba2", [](json& c) { c["n_groups"] = 0; }, "n_groups must be a positive integer, got 0");
  expect("hf-mamba2", [](json& c) { c["state_size"] = -4; }, "state_size must be a positive integer, got -4");
  expect("fla", [](json& c) { c.erase("expand_ratio"); c["num_heads"] = 0; }, "num_heads must be a positive integer, got 0");
  expect("fla", [](json& c) { c["expand_ratio"] = 0; }, "expand_ratio must be a positive integer, got 0");
  expect("state-spaces-2", [](json& c) { c["ssm_cfg"]["d_state"] = 0; }, "ssm_cfg.d_state must be a positive integer, got 0");
  // Sizes come from the tensors; a config stating another one is refused before anything is allocated.
  expect("hf-mamba", [](json& c) { c["hidden_size"] = int64_t{1} << 62; },
         "hidden_size is 4611686018427387904, but the tensors say 8 (backbone.embeddings.weight (24, 8))");
  expect("state-spaces", [](json& c) { c["d_model"] = 1000000000; },
         "d_model is 1000000000, but the tensors say 8 (backbone.embedding.weight (24, 8))");
  expect("fla", [](json& c) { c["num_heads"] = 4; },
         "num_heads (4) * expand_ratio (4) must equal hidden_size (8): ssmlab's HGRN-2 forget gate is hidden_size wide");
}

TEST_CASE("tensors of the wrong rank or with a zero dimension are refused naming the tensor and its shape") {
  const auto expect = [](const std::string& kind, const std::string& name, const Shape& shape, const std::string& needle) {
    Fixture f = make_fixture(kind);
    f.tensor(name) = Tensor::zeros(shape);
    f.write();
    CHECK(error_of(f.dir) == (f.dir / "model.safetensors").string() + ": tensor '" + name + "' has shape " + needle);
  };
  expect("rwkv6", "blocks.0.att.time_faaaa", {4, 0}, "(4, 0); ssmlab reads it as 2 dimensions of at least 1 each");
  expect("rwkv5", "blocks.0.att.time_faaaa", {8}, "(8); ssmlab reads it as 2 dimensions of at least 1 each");
  expect("rwkv6", "emb.weight", {}, "(); ssmlab reads it as 2 dimensions of at least 1 each");
  expect("rwkv5", "blocks.0.ffn.key.weight", {96}, "(96); ssmlab reads it as 2 dimensions of at least 1 each");
  expect("hf-mamba", "backbone.embeddings.weight", {192}, "(192); ssmlab reads it as 2 dimensions of at least 1 each");
  expect("fla", "model.layers.0.mlp.gate_proj.weight", {96}, "(96); ssmlab reads it as 2 dimensions of at least 1 each");
  expect("fla", "model.embeddings.weight", {}, "(); ssmlab reads it as 2 dimensions of at least 1 each");
  expect("hf-mamba2", "backbone.layers.0.mixer.A_log", {4, 1}, "(4, 1); ssmlab reads it as 1 dimension of at least 1 each");
  expect("hf-mamba", "backbone.layers.0.mixer.conv1d.weight", {16, 4}, "(16, 4); ssmlab reads it as 3 dimensions of at least 1 each");
}

TEST_CASE("config.json of the wrong JSON type is an error naming the file and key") {
  Fixture f = make_fixture("hf-mamba");
  const std::string path = f.config_path().string();
  const auto expect_text = [&](const std::string& text, const std::string& needle) {
    write_text(f.config_path(), text);
    CHECK(error_of(f.dir) == path + ": " + needle);
  };
  const auto expect = [&](const std::function<void(json&)>& edit, const std::string& needle) {
    json c = f.config;
    edit(c);
    expect_text(c.dump(), needle);
  };
  expect_text("[1, 2]", "must be a JSON object of settings, got [1,2]");
  expect_text("null", "must be a JSON object of settings, got null");
  expect([](json& c) { c["model_type"] = 5; }, "model_type must be a string, got 5");
  expect([](json& c) { c["model_type"] = "llama"; },
         "model_type \"llama\" is not a family ssmlab loads (mamba, mamba2, rwkv5, rwkv6, hgrn2)");
  expect([](json& c) { c["expand"] = "2"; }, "expand must be a positive integer, got \"2\"");
  expect([](json& c) { c["expand"] = 2.5; }, "expand must be a positive integer, got 2.5");
  expect([](json& c) { c["use_bias"] = "no"; }, "use_bias must be true or false, got \"no\"");
  expect([](json& c) { c["layer_norm_epsilon"] = -1e-5; }, "layer_norm_epsilon must be a finite number > 0, got -1e-05");
  expect([](json& c) { c.erase("model_type"); c["ssm_cfg"] = json::array({1}); }, "ssm_cfg must be an object, got [1]");
  expect_text(R"({"model_type": "mamba", "model_type": "mamba2"})",
              "the file holds the key \"model_type\" twice in one object");
  expect_text(R"({"model_type": "mamba", "x": )" + std::string(100000, '[') + std::string(100000, ']') + "}",
              "the file nests deeper than 64 levels");
}

TEST_CASE("config features ssmlab does not implement are refused by name, not ignored") {
  const auto expect = [](const std::string& kind, const std::function<void(json&)>& edit, const std::string& needle) {
    Fixture f = make_fixture(kind);
    edit(f.config);
    f.write();
    CHECK(error_of(f.dir) == f.config_path().string() + ": " + needle +
                                 " is not implemented by ssmlab; refusing the checkpoint rather than loading a "
                                 "different model");
  };
  // Hugging Face Mamba / Mamba-2.
  expect("hf-mamba", [](json& c) { c["use_bias"] = true; }, "use_bias = true (biases on in_proj and out_proj)");
  expect("hf-mamba", [](json& c) { c["use_conv_bias"] = false; }, "use_conv_bias = false (a conv1d without bias)");
  expect("hf-mamba", [](json& c) { c["hidden_act"] = "gelu"; }, "hidden_act = \"gelu\" (an activation other than SiLU)");
  expect("hf-mamba2", [](json& c) { c["time_step_limit"] = {0.0, 0.1}; },
         "time_step_limit = [0.0,0.1] (a clamp of the time step Δ; ssmlab implements only (0, inf))");
  expect("hf-mamba2", [](json& c) { c["rms_norm"] = false; }, "rms_norm = false (norms other than RMSNorm)");
  expect("hf-mamba2", [](json& c) { c["tie_word_embeddings"] = false; },
         "tie_word_embeddings = false (a head of its own, but the file holds no lm_head.weight)");
  // state-spaces (mamba_ssm's MambaConfig and ssm_cfg).
  expect("state-spaces", [](json& c) { c["d_intermediate"] = 16; }, "d_intermediate = 16 (an MLP block after every mixer)");
  expect("state-spaces", [](json& c) { c["rms_norm"] = false; }, "rms_norm = false (LayerNorm instead of RMSNorm)");
  expect("state-spaces", [](json& c) { c["attn_layer_idx"] = json::array({1}); },
         "attn_layer_idx = [1] (attention layers among the Mamba layers)");
  expect("state-spaces", [](json& c) { c["ssm_cfg"]["bias"] = true; }, "ssm_cfg.bias = true (biases on in_proj and out_proj)");
  expect("state-spaces", [](json& c) { c["ssm_cfg"]["layer"] = "Mamba3"; },
         "ssm_cfg.layer = \"Mamba3\" (a mixer other than Mamba1 / Mamba2)");
  expect("state-spaces-2", [](json& c) { c["ssm_cfg"]["dt_limit"] = {0.001, 0.1}; },
         "ssm_cfg.dt_limit = [0.001,0.1] (a clamp of the time step Δ; ssmlab implements only (0, inf))");
  expect("state-spaces-2", [](json& c) { c["ssm_cfg"]["D_has_hdim"] = true; },
         "ssm_cfg.D_has_hdim = true (a skip D per channel instead of per head)");
  expect("state-spaces-2", [](json& c) { c["ssm_cfg"]["norm_before_gate"] = true; },
         "ssm_cfg.norm_before_gate = true (the gate applied after the norm)");
  expect("state-spaces-2", [](json& c) { c["ssm_cfg"]["rmsnorm"] = false; },
         "ssm_cfg.rmsnorm = false (no gated RMSNorm before out_proj)");
  // fla HGRN-2 and RWKV.
  expect("fla", [](json& c) { c["attn"] = {{"layers", {1}}, {"num_heads", 2}}; },
         "attn = an object of 2 keys (attention layers among the HGRN-2 layers)");
  expect("fla", [](json& c) { c["use_short_conv"] = true; }, "use_short_conv = true (a short convolution before the recurrence)");
  expect("fla", [](json& c) { c["hidden_act"] = "relu"; }, "hidden_act = \"relu\" (an MLP activation other than SwiGLU's)");
  expect("fla", [](json& c) { c["tie_word_embeddings"] = true; },
         "tie_word_embeddings = true (a head tied to the embedding; ssmlab loads lm_head.weight)");
  expect("rwkv6", [](json& c) { c["tie_word_embeddings"] = true; },
         "tie_word_embeddings = true (a head tied to the embedding; RWKV's head.weight is its own)");
  expect("hf-rwkv5", [](json& c) { c["head_size_divisor"] = 4; },
         "head_size_divisor = 4 (a GroupNorm input scale other than 1/8)");
}

TEST_CASE("what config.json states must match the tensors; the defaults it may state load") {
  SUBCASE("Python's bare Infinity in time_step_limit, and transformers 5's spelling, mean no clamp") {
    Fixture f = make_fixture("hf-mamba2");
    write_text(f.config_path(), f.config.dump().substr(0, f.config.dump().size() - 1) +
                                    R"(, "time_step_limit": [0.0, Infinity], "note": "Infinity"})");
    check_loads(f);
    f.config["time_step_limit"] = {0.0, {{"__float__", "Infinity"}}};
    f.write();
    check_loads(f);
  }
  SUBCASE("an RWKV config naming the other family") {
    Fixture f = make_fixture("rwkv6");
    f.config["architecture"] = "rwkv5";
    f.write();
    CHECK(error_of(f.dir) == f.config_path().string() +
                                 ": architecture is \"rwkv5\", but the tensors are rwkv6's (blocks.0.att.time_maa_x present)");
  }
  SUBCASE("transformers' RWKV config: sizes and family against the tensors") {
    Fixture f = make_fixture("hf-rwkv5");
    f.config["attention_hidden_size"] = 16;
    f.write();
    CHECK(error_of(f.dir) == f.config_path().string() +
                                 ": attention_hidden_size is 16, but the tensors say 8 (rwkv.embeddings.weight (24, 8))");
    f.config["attention_hidden_size"] = 8;
    f.config["model_type"] = "rwkv6";
    f.write();
    CHECK(error_of(f.dir) == f.config_path().string() + ": model_type is \"rwkv6\", but the tensors are rwkv5's "
                                                        "(rwkv.blocks.0.attention.time_maa_x absent)");
  }
  SUBCASE("layers stated and found differ") {
    Fixture f = make_fixture("state-spaces");
    f.config["n_layer"] = 1;
    f.write();
    CHECK(error_of(f.dir) == f.config_path().string() +
                                 ": n_layer is 1, but the tensors say 2 (2 backbone.layers.N.mixer.in_proj.weight)");
  }
}

// mamba_ssm writes ssm_cfg.dt_rank as "auto" (= ceil(d_model / 16)) or a number; it used to be
// ignored, so any rank but the automatic one was a shape error.
TEST_CASE("state-spaces ssm_cfg.dt_rank is read, \"auto\" or a number, and compared with the tensors") {
  Fixture f = make_fixture("state-spaces");
  f.model = tiny_model("mamba1", 24, [](ModelConfig& c) { c.dt_rank = 3; });
  f.tensors = model_tensors(*f.model);
  f.config["ssm_cfg"]["dt_rank"] = 3;
  f.write();
  PretrainedInfo info;
  CHECK_NOTHROW(load_pretrained(f.dir.string(), &info));
  CHECK(info.model.dt_rank == 3);
  check_loads(f);

  f.config["ssm_cfg"]["dt_rank"] = "auto";
  f.write();
  CHECK(error_of(f.dir) == f.config_path().string() + ": ssm_cfg.dt_rank is \"auto\" (ceil(d_model / 16) = 1), but the "
                                                      "tensors say 3 (backbone.layers.0.mixer.dt_proj.weight (16, 3))");
  f.config["ssm_cfg"]["dt_rank"] = 2;
  f.write();
  CHECK(error_of(f.dir) == f.config_path().string() +
                               ": ssm_cfg.dt_rank is 2, but the tensors say 3 (backbone.layers.0.mixer.dt_proj.weight (16, 3))");

  Fixture automatic = make_fixture("state-spaces");
  automatic.config["ssm_cfg"]["dt_rank"] = "auto";
  automatic.write();
  check_loads(automatic);
}

TEST_CASE("every tensor in the file is loaded, or the checkpoint is refused naming it") {
  const std::string unused = " has no place in ssmlab's ";
  SUBCASE("a bias ssmlab's Mamba has no place for") {
    Fixture f = make_fixture("hf-mamba");
    f.tensors.emplace_back("backbone.layers.0.mixer.in_proj.bias", Tensor::zeros({32}));
    f.write();
    CHECK(error_of(f.dir) == (f.dir / "model.safetensors").string() + ": tensor 'backbone.layers.0.mixer.in_proj.bias' (32)" +
                                 unused + "mamba1 (2 layers); refusing the checkpoint rather than loading it without "
                                          "that tensor");
  }
  SUBCASE("an MLP block without d_intermediate in the config") {
    Fixture f = make_fixture("state-spaces-2");
    f.tensors.emplace_back("backbone.layers.1.mlp.fc1.weight", Tensor::zeros({16, 8}));
    f.write();
    CHECK(error_of(f.dir).find("tensor 'backbone.layers.1.mlp.fc1.weight' (16, 8)" + unused + "mamba2") !=
          std::string::npos);
  }
  SUBCASE("a third layer that is only partly there") {
    Fixture f = make_fixture("fla");
    f.tensors.emplace_back("model.layers.2.mlp_norm.weight", Tensor::zeros({8}));
    f.write();
    CHECK(error_of(f.dir).find("tensor 'model.layers.2.mlp_norm.weight' (8)" + unused + "hgrn2 (2 layers)") !=
          std::string::npos);
  }
  SUBCASE("a shard holding a tensor its index does not list") {
    Fixture f = make_fixture("rwkv5");
    write_weights(*f.model, f.dir, [](const std::string& n) { return n; }, Dtype::f32, /*sharded=*/true);
    check_loads(f);
    const fs::path shard = f.dir / "model-00002-of-00002.safetensors";
    const SafetensorsFile original = load_safetensors(shard.string());
    NamedTensors tensors;
    for (const std::string& name : original.names()) tensors.emplace_back(name, original.get(name).clone_contiguous());
    tensors.emplace_back("blocks.0.att.extra", Tensor::zeros({2}));
    save_safetensors(shard.string(), tensors);
    CHECK(error_of(f.dir) == shard.string() + ": holds tensor 'blocks.0.att.extra', which " +
                                 (f.dir / "model.safetensors.index.json").string() + " does not give to this file");
  }
  SUBCASE("the one harmless extra: a Mamba head equal to the embedding") {
    Fixture f = make_fixture("hf-mamba2");
    f.tensors.emplace_back("lm_head.weight", f.tensor("backbone.embeddings.weight").clone_contiguous());
    f.write();
    check_loads(f);
  }
}
