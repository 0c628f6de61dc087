// tests/cli/test_cli.cpp — the `ssmlab` front doors end to end, and every kind of bad input giving
// one clear line on stderr and exit code 2.

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/cli_runner.h"
#include "tests/support/testing.h"

namespace fs = std::filesystem;
using ssm::testing::run_ssmlab;
using ssm::testing::RunResult;
using ssm::testing::slurp;

namespace {

const fs::path kWork = fs::temp_directory_path() / "ssmlab_test_cli";

RunResult run(const std::string& args) { return run_ssmlab(args, kWork); }

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

std::string tiny_yaml(const std::string& corpus, const std::string& extra = "") {
  return "model: {d_model: 16, n_layer: 1, d_state: 8, headdim: 8, chunk_size: 16}\n"
         "data:\n  seq_len: 64\n  batch_size: 2\n  sources:\n    - {kind: text, path: " + corpus + "}\n"
         "train: {steps: 3, eval_every: 0, ckpt_every: 10}\n" + extra;
}

void check_user_error(const std::string& args, const std::string& needle) {
  ssm::testing::check_user_error(args, needle, kWork);
}

struct Workspace {
  Workspace() {
    fs::remove_all(kWork);
    fs::create_directories(kWork);
    std::string text;
    for (int i = 0; i < 200; ++i) text += "In the beginning was the word, and the word was with the text. ";
    write(kWork / "corpus" / "a.txt", text);
    write(kWork / "corpus" / "b.txt", text);
    write(kWork / "corpus" / "c.txt", text);
  }
  std::string corpus() const { return (kWork / "corpus").string(); }
};

}  // namespace

TEST_CASE("ssmlab train, info and capacity run end to end on a tiny config") {
  Workspace ws;
  write(kWork / "tiny.yaml", tiny_yaml(ws.corpus()));
  const std::string run_dir = (kWork / "run").string();
  RunResult train = run("train " + (kWork / "tiny.yaml").string() + " --run-dir " + run_dir + " --quiet");
  INFO(train.err);
  REQUIRE(train.exit_code == 0);
  CHECK(train.out.find("checkpoint:") != std::string::npos);
  CHECK(fs::exists(run_dir + "/ckpt/model.safetensors"));

  RunResult info = run("info --model " + run_dir + "/ckpt");
  CHECK(info.exit_code == 0);
  CHECK(info.out.find("mamba2") != std::string::npos);

  RunResult cap = run("capacity --model " + run_dir + "/ckpt --out " + run_dir + "/cap --max-length 512 "
                      "--samples 2 --data " + ws.corpus() + "/a.txt --length 600 --docs 1 --quiet");
  INFO(cap.err);
  CHECK(cap.exit_code == 0);
  CHECK(fs::exists(run_dir + "/cap/report.md"));
  CHECK(fs::exists(run_dir + "/cap/baseline/passkey_heatmap.svg"));
  CHECK(fs::exists(run_dir + "/cap/position_loss.svg"));
  CHECK(fs::exists(run_dir + "/cap/state_norm.svg"));
}

TEST_CASE("info and capacity read a public-checkpoint layout (config.json + model.safetensors)") {
  Workspace ws;
  write(kWork / "tiny.yaml", tiny_yaml(ws.corpus()));
  const std::string run_dir = (kWork / "run_pub").string();
  REQUIRE(run("train " + (kWork / "tiny.yaml").string() + " --run-dir " + run_dir + " --quiet").exit_code == 0);
  // The trained weights as state-spaces publishes Mamba-2: reference names plus config.json.
  const fs::path pub = kWork / "public_mamba2";
  fs::create_directories(pub);
  fs::copy_file(run_dir + "/ckpt/model.safetensors", pub / "model.safetensors");
  write(pub / "config.json", R"({"d_model": 16, "n_layer": 1, "vocab_size": 258, "pad_vocab_size_multiple": 16,
      "ssm_cfg": {"layer": "Mamba2", "d_state": 8, "headdim": 8}})");
  check_user_error("info --model " + pub.string(), "ships no tokenizer");
  RunResult info = run("info --model " + pub.string() + " --tokenizer byte");
  INFO(info.err);
  CHECK(info.exit_code == 0);
  CHECK(info.out.find("state-spaces layout, mamba2") != std::string::npos);
  CHECK(info.out.find("sequences of 8192 tokens") != std::string::npos);  // the publisher's, as the paper assumes
  RunResult cap = run("capacity --model " + pub.string() + " --tokenizer byte --train-length 64 --out " +
                      (kWork / "pub_cap").string() + " --max-length 256 --samples 1 --data " + ws.corpus() +
                      "/a.txt --length 300 --docs 1 --quiet");
  INFO(cap.err);
  CHECK(cap.exit_code == 0);
  CHECK(fs::exists(kWork / "pub_cap" / "report.md"));
  check_user_error("capacity --model " + pub.string() + " --tokenizer byte", "pass --data PATH");
}

TEST_CASE("every architecture's small config trains and measures its capacity") {
  Workspace ws;
  for (const char* name : {"mamba1_s16", "mamba2_s128", "rwkv5_h32", "rwkv6_h32", "hgrn2_h32"}) {
    SUBCASE(name) {
      const std::string config = std::string(SSMLAB_SOURCE_DIR) + "/configs/" + name + ".yaml";
      const std::string run_dir = (kWork / name).string();
      // The shipped config, shrunk to seconds: a few short steps on the workspace corpus.
      RunResult train = run("train " + config + " --run-dir " + run_dir + " --quiet --set train.steps=2" +
                            " --set train.eval_every=0 --set data.seq_len=64 --set data.batch_size=2" +
                            " --set 'data.sources=[{kind: text, path: " + ws.corpus() + "}]'");
      INFO(train.err);
      REQUIRE(train.exit_code == 0);
      // With a mitigation every architecture accepts, so both arms run on each.
      RunResult cap = run("capacity --model " + run_dir + "/ckpt --out " + run_dir + "/cap --max-length 256 "
                          "--samples 1 --data " + ws.corpus() + "/a.txt --length 300 --docs 1 --rri --quiet");
      INFO(cap.err);
      CHECK(cap.exit_code == 0);
      CHECK(fs::exists(run_dir + "/cap/report.md"));
      CHECK(fs::exists(run_dir + "/cap/state_norm.svg"));
      CHECK(fs::exists(run_dir + "/cap/mitigated/L0_state_norm.svg"));
    }
  }
}

TEST_CASE("bad inputs: one line on stderr and exit code 2") {
  Workspace ws;
  SUBCASE("missing config") { check_user_error("train " + (kWork / "none.yaml").string(), "cannot read config"); }
  SUBCASE("unknown key") {
    write(kWork / "bad.yaml", tiny_yaml(ws.corpus(), "optim: {lrr: 0.1}\n"));
    check_user_error("train " + (kWork / "bad.yaml").string(), "unknown key 'optim.lrr'");
  }
  SUBCASE("wrong type") {
    write(kWork / "bad.yaml", tiny_yaml(ws.corpus(), "optim: {lr: fast}\n"));
    check_user_error("train " + (kWork / "bad.yaml").string(), "'optim.lr' must be");
  }
  SUBCASE("non-existent corpus path") {
    write(kWork / "bad.yaml", tiny_yaml((kWork / "no_such_corpus").string()));
    check_user_error("train " + (kWork / "bad.yaml").string(), "does not exist");
  }
  SUBCASE("validation requested but nothing held out: refused before the first step") {
    write(kWork / "noval.yaml",
          "model: {d_model: 16, n_layer: 1, d_state: 8, headdim: 8, chunk_size: 16}\n"
          "data:\n  seq_len: 64\n  batch_size: 2\n  valid_fraction: 0.0\n  sources:\n"
          "    - {kind: text, path: " + ws.corpus() + "}\n"
          "train: {steps: 3, eval_every: 1}\n");
    check_user_error("train " + (kWork / "noval.yaml").string() + " --run-dir " + (kWork / "noval").string(),
                     "no validation data");
    CHECK_FALSE(fs::exists(kWork / "noval" / "metrics.jsonl"));
  }
  SUBCASE("missing checkpoint") {
    check_user_error("capacity --model " + (kWork / "no_ckpt").string(), "does not exist");
    check_user_error("info --model " + (kWork / "no_ckpt").string(), "does not exist");
  }
  SUBCASE("truncated checkpoint") {
    write(kWork / "tiny.yaml", tiny_yaml(ws.corpus()));
    const std::string run_dir = (kWork / "run_trunc").string();
    REQUIRE(run("train " + (kWork / "tiny.yaml").string() + " --run-dir " + run_dir + " --quiet").exit_code == 0);
    const fs::path weights = run_dir + "/ckpt/model.safetensors";
    fs::resize_file(weights, fs::file_size(weights) - 100);
    check_user_error("info --model " + run_dir + "/ckpt", "model.safetensors");
  }
  SUBCASE("corrupt or truncated corpus files") {
    const auto yaml_for = [&](const std::string& source) {
      return "model: {d_model: 16, n_layer: 1, d_state: 8, headdim: 8, chunk_size: 16}\n"
             "data:\n  seq_len: 64\n  batch_size: 2\n  sources:\n    - " + source + "\n"
             "train: {steps: 2, eval_every: 0}\n";
    };
    // A token file cut short: the header promises more tokens than the file holds.
    std::string tokens = "SSMLTOK1";
    // version 1, width 2, count 100, separator 256, vocabulary 258; then 50 bytes, not 200.
    for (unsigned char b : {1, 0, 0, 0, 2, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 2, 1, 0, 0}) {
      tokens += static_cast<char>(b);
    }
    tokens += std::string(50, 'a');
    write(kWork / "cut.tok", tokens);
    write(kWork / "tok.yaml", yaml_for("{kind: tokens, path: " + (kWork / "cut.tok").string() + "}"));
    check_user_error("train " + (kWork / "tok.yaml").string(), "truncated or corrupt token file");
    write(kWork / "magic.tok", std::string(64, 'x'));
    write(kWork / "magic.yaml", yaml_for("{kind: tokens, path: " + (kWork / "magic.tok").string() + "}"));
    check_user_error("train " + (kWork / "magic.yaml").string(), "not an ssmlab token file");
    // A JSON Lines file whose last line was cut off.
    write(kWork / "cut.jsonl", "{\"text\": \"one\"}\n{\"text\": \"tw");
    write(kWork / "jsonl.yaml", yaml_for("{kind: jsonl, path: " + (kWork / "cut.jsonl").string() + "}"));
    check_user_error("train " + (kWork / "jsonl.yaml").string(), "line 2: not valid JSON");
  }
  SUBCASE("unknown option and unknown command") {
    check_user_error("train x.yaml --frobnicate 3", "unknown option '--frobnicate'");
    check_user_error("frobnicate", "unknown command 'frobnicate'");
  }
}
