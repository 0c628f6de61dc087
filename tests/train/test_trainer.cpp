// tests/train/test_trainer.cpp — the training loop: it learns, it resumes exactly, checkpoints are
// atomic and validated, schedules have the right shape.
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/safetensors.h"
#include "models/mamba2.h"
#include "tests/support/testing.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/optimizer.h"
#include "train/text/tokenizer.h"
#include "train/trainer.h"

using namespace ssm;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) { return testing::empty_temp_dir("trainer_" + name); }

// A tiny corpus with real structure (repeated sentences), so a tiny model can learn it fast.
fs::path write_corpus(const fs::path& dir) { return testing::write_sentence_corpus(dir / "corpus", 4, 60); }

Config tiny_config(const fs::path& corpus, int64_t steps) {
  std::string yaml = R"(
run: {seed: 3}
model: {d_model: 16, n_layer: 1, d_state: 8, headdim: 8, chunk_size: 8}
data:
  seq_len: 32
  batch_size: 2
  valid_fraction: 0.25
  sources:
    - {kind: text, path: )" + corpus.string() + R"(}
optim: {lr: 0.01, min_lr: 0.001, warmup_steps: 2}
train: {steps: )" + std::to_string(steps) + R"(, eval_every: 0, ckpt_every: 100}
)";
  return parse_config(yaml, "<test>");
}

std::string slurp_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<float> parameters_of(const std::string& ckpt) {
  std::vector<float> all;
  SafetensorsFile f = load_safetensors(ckpt + "/model.safetensors");
  for (const std::string& name : f.names()) {
    std::vector<float> v = f.get(name).to_vector<float>();
    all.insert(all.end(), v.begin(), v.end());
  }
  return all;
}

}  // namespace

TEST_CASE("training lowers the loss on a small corpus") {
  fs::path dir = fresh_dir("learns");
  Config cfg = tiny_config(write_corpus(dir), 40);
  TrainOptions opt{(dir / "run").string(), false, -1, true};
  TrainSummary s = train_model(cfg, opt);
  REQUIRE(s.losses.size() == 40);
  MESSAGE("loss " << s.losses.front() << " -> " << s.losses.back());
  CHECK(s.losses.back() < 0.6 * s.losses.front());
  CHECK(fs::exists(dir / "run" / "ckpt" / "model.safetensors"));
  CHECK(fs::exists(dir / "run" / "metrics.jsonl"));
}

TEST_CASE("a checkpoint carries its tokenizer: it decodes its ids after the original file is gone") {
  fs::path dir = fresh_dir("tokenizer");
  // A tokenizer file of the run's own, deleted after training: only the checkpoint's copy remains.
  const fs::path source = fs::path(SSMLAB_SOURCE_DIR) / "tests" / "data" / "tokenizers" / "gpt_neox" / "tokenizer.json";
  fs::copy_file(source, dir / "tok.json");
  Config cfg = tiny_config(write_corpus(dir), 2);
  cfg.data.tokenizer = (dir / "tok.json").string();
  TrainOptions opt{(dir / "run").string(), false, -1, true};
  train_model(cfg, opt);
  const std::string ckpt = (dir / "run" / "ckpt").string();
  CHECK(slurp_file(ckpt + "/tokenizer.json") == slurp_file(source.string()));
  fs::remove(dir / "tok.json");
  Config loaded;
  const std::unique_ptr<LanguageModel> model = load_model(ckpt, &loaded);
  CHECK(loaded.data.tokenizer == ckpt + "/tokenizer.json");
  const std::unique_ptr<Tokenizer> tokenizer = make_tokenizer(loaded.data.tokenizer);
  CHECK(tokenizer->vocab_size() == make_tokenizer(source.string())->vocab_size());
  CHECK(tokenizer->decode(tokenizer->encode("In the beginning")) == "In the beginning");
  // A byte-tokenizer run ships no file: "byte" in config.yaml says it all.
  Config bytes = tiny_config(write_corpus(dir), 1);
  train_model(bytes, {(dir / "bytes").string(), false, -1, true});
  CHECK_FALSE(fs::exists(dir / "bytes" / "ckpt" / "tokenizer.json"));
  CHECK(read_checkpoint_config((dir / "bytes" / "ckpt").string()).data.tokenizer == "byte");
}

TEST_CASE("resume from a checkpoint reproduces the uninterrupted run exactly") {
  fs::path dir = fresh_dir("resume");
  Config cfg = tiny_config(write_corpus(dir), 8);
  TrainSummary whole = train_model(cfg, {(dir / "whole").string(), false, -1, true});

  TrainSummary first = train_model(cfg, {(dir / "split").string(), false, 3, true});
  CHECK(first.last_step == 3);
  TrainSummary rest = train_model(cfg, {(dir / "split").string(), true, -1, true});
  CHECK(rest.first_step == 3);
  std::vector<double> joined = first.losses;
  joined.insert(joined.end(), rest.losses.begin(), rest.losses.end());
  REQUIRE(joined.size() == whole.losses.size());
  for (size_t i = 0; i < joined.size(); ++i) CHECK(joined[i] == whole.losses[i]);  // bit-exact
  CHECK(parameters_of((dir / "split" / "ckpt").string()) == parameters_of((dir / "whole" / "ckpt").string()));

  // metrics.jsonl of the resumed run has exactly one row per step.
  std::ifstream in(dir / "split" / "metrics.jsonl");
  int rows = 0;
  for (std::string line; std::getline(in, line);) rows += line.find("\"loss\"") != std::string::npos;
  CHECK(rows == 8);
}

TEST_CASE("checkpoint errors are clear user errors") {
  fs::path dir = fresh_dir("ckpt_errors");
  Config cfg = tiny_config(write_corpus(dir), 1);
  train_model(cfg, {(dir / "run").string(), false, -1, true});
  const std::string ckpt = (dir / "run" / "ckpt").string();
  CHECK_NOTHROW(load_model(ckpt));
  CHECK_THROWS_WITH_AS(load_model((dir / "nope").string()), doctest::Contains("does not exist"), UserError);

  SUBCASE("truncated weights") {
    fs::resize_file(ckpt + "/model.safetensors", fs::file_size(ckpt + "/model.safetensors") / 2);
    CHECK_THROWS_AS(load_model(ckpt), UserError);
  }
  SUBCASE("missing file") {
    fs::remove(ckpt + "/trainer_state.json");
    CHECK_THROWS_WITH_AS(load_model(ckpt), doctest::Contains("missing trainer_state.json"), UserError);
  }
  SUBCASE("an interrupted write leaves the previous checkpoint intact") {
    // A stale .tmp directory (a crash mid-write) is ignored by readers and replaced by writers.
    fs::create_directories(ckpt + ".tmp");
    CHECK_NOTHROW(load_model(ckpt));
    Mamba2Model model(cfg.model, 258, 1);
    save_checkpoint(ckpt, model, nullptr, cfg, {});
    CHECK_FALSE(fs::exists(ckpt + ".tmp"));
    CHECK_NOTHROW(load_model(ckpt));
  }
}

TEST_CASE("learning-rate schedules") {
  OptimConfig o;
  o.lr = 1.0;
  o.min_lr = 0.1;
  o.warmup_steps = 10;
  SUBCASE("warm-up is linear from lr/warmup") {
    CHECK(learning_rate(o, 0, 100) == doctest::Approx(0.1));
    CHECK(learning_rate(o, 9, 100) == doctest::Approx(1.0));
  }
  SUBCASE("cosine ends at min_lr and is halfway at the middle") {
    o.schedule = "cosine";
    CHECK(learning_rate(o, 10, 110) == doctest::Approx(1.0));
    CHECK(learning_rate(o, 60, 110) == doctest::Approx(0.55));
    CHECK(learning_rate(o, 110, 110) == doctest::Approx(0.1));
  }
  SUBCASE("wsd holds the peak, then decays linearly over the last 10%") {
    o.schedule = "wsd";
    o.decay_fraction = 0.1;
    CHECK(learning_rate(o, 50, 100) == doctest::Approx(1.0));
    CHECK(learning_rate(o, 89, 100) == doctest::Approx(1.0));
    CHECK(learning_rate(o, 94, 100) == doctest::Approx(0.55));
    CHECK(learning_rate(o, 99, 100) == doctest::Approx(0.1));
  }
}

TEST_CASE("AdamW: one step matches the closed form; no-decay parameters do not decay") {
  Tensor w = Tensor::from_vector<float>({1.0f, -2.0f}, {2});
  Tensor b = Tensor::from_vector<float>({0.5f}, {1});
  w.set_requires_grad(true);
  b.set_requires_grad(true);
  OptimConfig o;
  o.weight_decay = 0.5;
  AdamW opt({{"w", w, false}, {"b", b, true}}, o);
  w.set_grad(Tensor::from_vector<float>({0.1f, 0.2f}, {2}));
  b.set_grad(Tensor::from_vector<float>({0.0f}, {1}));
  opt.step(0.01);
  // First step: m̂ = g, v̂ = g², so the update is lr·(sign(g)·g/(|g|+eps) + wd·w).
  std::vector<float> wv = w.to_vector<float>();
  CHECK(wv[0] == doctest::Approx(1.0 - 0.01 * (1.0 + 0.5 * 1.0)).epsilon(1e-5));
  CHECK(wv[1] == doctest::Approx(-2.0 - 0.01 * (1.0 + 0.5 * -2.0)).epsilon(1e-5));
  CHECK(b.to_vector<float>()[0] == 0.5f);  // zero gradient and no decay: unchanged
  w.set_grad(Tensor::from_vector<float>({30.0f, 40.0f}, {2}));
  CHECK(opt.clip_grad_norm(1.0) == doctest::Approx(50.0));
  CHECK(std::hypot(w.grad().to_vector<float>()[0], w.grad().to_vector<float>()[1]) == doctest::Approx(1.0).epsilon(1e-4));
}
