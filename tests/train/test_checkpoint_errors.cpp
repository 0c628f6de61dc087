// tests/train/test_checkpoint_errors.cpp — ssmlab's own checkpoints loaded strictly: each bad
// checkpoint is a good one (written by a one-step training run) with one file changed, and must be
// a UserError naming the file and the key or tensor; a resume from it must stop before touching
// metrics.jsonl (train/checkpoint.h).
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/safetensors.h"
#include "tests/support/testing.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/trainer.h"

using namespace ssm;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

const fs::path kWork = fs::temp_directory_path() / "ssmlab_test_checkpoint_errors";

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

Config tiny_config(const fs::path& corpus, int64_t n_layer) {
  return parse_config(R"(
run: {seed: 3}
model: {d_model: 16, n_layer: )" + std::to_string(n_layer) + R"(, d_state: 8, headdim: 8, chunk_size: 8}
data:
  seq_len: 32
  batch_size: 2
  valid_fraction: 0.25
  sources:
    - {kind: text, path: )" + corpus.string() + R"(}
optim: {lr: 0.01}
train: {steps: 4, eval_every: 0, ckpt_every: 100}
)",
                      "<test>");
}

// A run directory holding a checkpoint after 2 of 4 steps (and its metrics.jsonl rows).
struct Run {
  fs::path dir;
  Config config;
  fs::path ckpt() const { return dir / "ckpt"; }
  fs::path state() const { return ckpt() / "trainer_state.json"; }
};

Run make_run(const std::string& name, int64_t n_layer = 1) {
  Run run;
  run.dir = kWork / name;
  fs::remove_all(run.dir);
  ssm::testing::write_tiny_corpus(run.dir / "corpus", "the cat sat on the mat. the dog ate the log.\n", 40);
  run.config = tiny_config(run.dir / "corpus", n_layer);
  train_model(run.config, {run.dir.string(), false, 2, true});
  return run;
}

std::string error_of(const std::function<void()>& load) {
  try {
    load();
  } catch (const UserError& e) {
    MESSAGE(std::string(e.what()));
    return e.what();
  }
  return "(no error)";
}

// Rewrites one tensor of a safetensors file (the others unchanged).
void replace_tensor(const fs::path& file, const std::string& name, const Tensor& value) {
  const SafetensorsFile original = load_safetensors(file.string());
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const std::string& n : original.names()) tensors.emplace_back(n, n == name ? value : original.get(n).clone_contiguous());
  if (!original.contains(name)) tensors.emplace_back(name, value);
  save_safetensors(file.string(), tensors, original.metadata());
}

}  // namespace

TEST_CASE("trainer_state.json of the wrong JSON type, or without an integer step, is refused naming file and key") {
  const Run run = make_run("state");
  REQUIRE(load_trainer_state(run.ckpt().string()).step == 2);
  const json good = json::parse(read_file(run.state()));
  const std::string prefix = run.state().string() + ": ";
  const auto expect_text = [&](const std::string& text, const std::string& needle) {
    write_file(run.state(), text);
    CHECK(error_of([&] { load_trainer_state(run.ckpt().string()); }) == prefix + needle);
  };
  const auto expect = [&](const std::function<void(json&)>& edit, const std::string& needle) {
    json meta = good;
    edit(meta);
    expect_text(meta.dump(), needle);
  };
  expect_text("[1, 2]", "must be a JSON object of the run's counters, got [1,2]");
  expect_text("null", "must be a JSON object of the run's counters, got null");
  write_file(run.state(), "{");
  CHECK(error_of([&] { load_trainer_state(run.ckpt().string()); }).find(prefix + "the file is not valid JSON (") == 0);
  const std::string step_rule = "\"step\" must be an integer in [0, 9007199254740992], got ";
  expect([](json& m) { m["step"] = "2"; }, step_rule + "\"2\"");
  expect([](json& m) { m["step"] = 2.5; }, step_rule + "2.5");
  expect([](json& m) { m["step"] = -1; }, step_rule + "-1");
  expect([](json& m) { m["step"] = 1e30; }, step_rule + "1e+30");
  expect([](json& m) { m["step"] = uint64_t{1} << 63; }, step_rule + "9223372036854775808");
  expect([](json& m) { m["step"] = UINT64_MAX; }, step_rule + "18446744073709551615");
  expect([](json& m) { m.erase("step"); },
         "missing \"step\"; without it the run cannot resume (and restarting at step 0 would discard its metrics)");
  expect([](json& m) { m["tokens_seen"] = nullptr; },
         "\"tokens_seen\" must be an integer in [0, 9007199254740992], got null");
  expect([](json& m) { m["optimizer_step"] = "8"; },
         "\"optimizer_step\" must be an integer in [0, 9007199254740992], got \"8\"");
  expect([](json& m) { m["elapsed_s"] = "soon"; }, "\"elapsed_s\" must be a finite number >= 0, got \"soon\"");
  expect([](json& m) { m["format_version"] = "1"; }, "unsupported checkpoint format version \"1\"");
  // The largest step allowed still loads.
  json edge = good;
  edge["step"] = uint64_t{1} << 53;
  write_file(run.state(), edge.dump());
  CHECK(load_trainer_state(run.ckpt().string()).step == int64_t{1} << 53);
}

TEST_CASE("a resume from a checkpoint without a step stops before metrics.jsonl is touched") {
  const Run run = make_run("resume_missing_step");
  const std::string metrics_before = read_file(run.dir / "metrics.jsonl");
  REQUIRE(metrics_before.find("\"step\":2") != std::string::npos);
  json meta = json::parse(read_file(run.state()));
  meta.erase("step");
  write_file(run.state(), meta.dump());
  CHECK(error_of([&] { train_model(run.config, {run.dir.string(), true, -1, true}); })
            .find(run.state().string() + ": missing \"step\"") == 0);
  CHECK(read_file(run.dir / "metrics.jsonl") == metrics_before);  // no restart at step 0, no truncation
}

TEST_CASE("a config.yaml that disagrees with the weights is refused naming the tensor and both shapes") {
  SUBCASE("a size that changes a shape") {
    const Run run = make_run("yaml_shape");
    std::string yaml = read_file(run.ckpt() / "config.yaml");
    REQUIRE(yaml.find("  d_state: 8\n") != std::string::npos);
    yaml.replace(yaml.find("  d_state: 8\n"), 12, "  d_state: 16\n");
    write_file(run.ckpt() / "config.yaml", yaml);
    CHECK(error_of([&] { load_model(run.ckpt().string()); }) ==
          (run.ckpt() / "model.safetensors").string() + ": tensor 'backbone.layers.0.mixer.in_proj.weight' has shape "
                                                         "(84, 16), the mamba2 model of config.yaml expects (100, 16)");
  }
  SUBCASE("fewer layers than the weights hold: the rest would be dropped silently") {
    const Run run = make_run("yaml_layers", 2);
    std::string yaml = read_file(run.ckpt() / "config.yaml");
    REQUIRE(yaml.find("  n_layer: 2\n") != std::string::npos);
    yaml.replace(yaml.find("  n_layer: 2\n"), 12, "  n_layer: 1\n");
    write_file(run.ckpt() / "config.yaml", yaml);
    CHECK(error_of([&] { load_model(run.ckpt().string()); }).find(
              (run.ckpt() / "model.safetensors").string() + ": tensor 'backbone.layers.1.") == 0);
    CHECK(error_of([&] { load_model(run.ckpt().string()); }).find(
              " has no place in the mamba2 model of config.yaml; the checkpoint's config.yaml does not describe these "
              "weights") != std::string::npos);
  }
  SUBCASE("another architecture") {
    const Run run = make_run("yaml_arch");
    std::string yaml = read_file(run.ckpt() / "config.yaml");
    yaml.replace(yaml.find("  arch: mamba2\n"), 15, "  arch: mamba1\n");
    yaml.replace(yaml.find("  headdim: 8\n"), 13, "");
    yaml.replace(yaml.find("  ngroups: 1\n"), 13, "");
    for (const char* key : {"  a_init_min: 1\n", "  a_init_max: 16\n", "  init: mamba_ssm\n"}) {
      yaml.replace(yaml.find(key), std::string(key).size(), "");
    }
    write_file(run.ckpt() / "config.yaml", yaml);
    CHECK(error_of([&] { load_model(run.ckpt().string()); }) ==
          (run.ckpt() / "model.safetensors").string() + ": holds mamba2 weights, but config.yaml describes a mamba1 model");
  }
}

TEST_CASE("an optimizer moment of the wrong shape, or one too many, is refused naming it") {
  const Run run = make_run("moments");
  const fs::path moments = run.ckpt() / "optimizer.safetensors";
  const std::string name = "exp_avg.backbone.layers.0.mixer.A_log";
  REQUIRE(load_safetensors(moments.string()).shape(name) == Shape{4});
  SUBCASE("wrong shape") {
    replace_tensor(moments, name, Tensor::zeros({2, 2}));
    CHECK(error_of([&] { train_model(run.config, {run.dir.string(), true, -1, true}); }) ==
          moments.string() + ": tensor '" + name + "' has shape (2, 2), the optimizer for that model expects (4)");
  }
  SUBCASE("a moment of no parameter") {
    replace_tensor(moments, "exp_avg.backbone.layers.7.mixer.D", Tensor::zeros({4}));
    CHECK(error_of([&] { train_model(run.config, {run.dir.string(), true, -1, true}); }) ==
          moments.string() + ": tensor 'exp_avg.backbone.layers.7.mixer.D' (4) has no place in the optimizer for that "
                             "model; the checkpoint's config.yaml does not describe these weights");
  }
  SUBCASE("the untouched checkpoint resumes") {
    CHECK(train_model(run.config, {run.dir.string(), true, -1, true}).first_step == 2);
  }
}
