// tests/cli/test_cli_eval.cpp — the evaluation front doors end to end on a tiny trained checkpoint:
// `ssmlab passkey`, `ppl`, `states` and `capacity` (with each mitigation), the files they write and
// the numbers in capacity's report.md, ppl's unrounded per-token losses; --help documents the
// mitigations' formulas and what --tokenizer takes; bad inputs give one line on stderr and exit
// code 2.

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/cli_runner.h"
#include "tests/support/testing.h"

namespace fs = std::filesystem;
using ssm::testing::count_lines;
using ssm::testing::run_ssmlab;
using ssm::testing::RunResult;
using ssm::testing::slurp;

namespace {

const fs::path kWork = fs::temp_directory_path() / "ssmlab_test_cli_eval";

RunResult run(const std::string& args) { return run_ssmlab(args, kWork); }

// A tiny Mamba-2 trained for a few steps (seq_len 64), made once per test run.
std::string checkpoint() {
  static const std::string ckpt = [] {
    fs::remove_all(kWork);
    ssm::testing::write_tiny_corpus(kWork / "corpus", "In the beginning was the word, and the word was with the text. ",
                                    200);
    std::ofstream(kWork / "tiny.yaml")
        << "model: {d_model: 16, n_layer: 2, d_state: 8, headdim: 8, chunk_size: 16}\n"
           "data:\n  seq_len: 64\n  batch_size: 2\n  sources:\n    - {kind: text, path: "
        << (kWork / "corpus").string() << "}\ntrain: {steps: 3, eval_every: 0, ckpt_every: 10}\n";
    const RunResult r = run("train " + (kWork / "tiny.yaml").string() + " --run-dir " + (kWork / "run").string() +
                            " --quiet");
    REQUIRE(r.exit_code == 0);
    return (kWork / "run" / "ckpt").string();
  }();
  return ckpt;
}

void check_ok(const RunResult& r, const std::string& what) {
  INFO(what << "\nstderr: " << r.err);
  CHECK(r.exit_code == 0);
}

void check_user_error(const std::string& args, const std::string& needle) {
  ssm::testing::check_user_error(args, needle, kWork);
}

}  // namespace

TEST_CASE("ssmlab passkey: the grid, its files and table, with and without mitigations") {
  const std::string model = checkpoint(), out = (kWork / "pk").string();
  const RunResult r = run("passkey --model " + model + " --lengths 256,320 --samples 4 --depth-bins 2 --last-r 128 "
                          "--out " + out);
  check_ok(r, "passkey");
  CHECK(r.out.find("length  accuracy  last 128") != std::string::npos);
  CHECK(count_lines(slurp(out + "/passkey_samples.csv")) == 1 + 8);
  CHECK(count_lines(slurp(out + "/passkey_accuracy.csv")) == 1 + 2);
  for (const char* f : {"passkey_heatmap.svg", "passkey_last_r.svg", "passkey.json"}) CHECK(fs::exists(out + "/" + f));
  const nlohmann::json j = nlohmann::json::parse(slurp(out + "/passkey.json"));
  CHECK(j["lengths"] == nlohmann::json({256, 320}));
  CHECK(j["grid_depth_bins_by_length"].size() == 2);
  check_ok(run("passkey --model " + model + " --lengths 256 --samples 2 --rri --state-norm --quiet --out " + out),
           "passkey --rri --state-norm");
  check_ok(run("passkey --model " + model + " --lengths 256 --samples 2 --window 128 --delta-scale 0.5 --quiet --out " +
               out),
           "passkey --window --delta-scale");
}

TEST_CASE("ssmlab ppl: loss by position on a prompt or a corpus, with the collapse verdict") {
  const std::string model = checkpoint(), out = (kWork / "ppl").string();
  const RunResult r = run("ppl --model " + model + " --prompt newlines --length 2K --bucket 64 --out " + out);
  check_ok(r, "ppl --prompt newlines");
  CHECK(r.out.find("state collapse: ") != std::string::npos);
  CHECK(r.out.find("1 sequence(s) of 2048 tokens") != std::string::npos);
  CHECK(count_lines(slurp(out + "/position_loss.csv")) == 1 + 32);  // 2047 predictions in buckets of 64
  const nlohmann::json j = nlohmann::json::parse(slurp(out + "/position_loss.json"));
  CHECK(j["train_length"] == 64);
  CHECK(r.out.find(j["verdict"].get<std::string>()) != std::string::npos);
  CHECK(fs::exists(out + "/position_loss.svg"));

  std::ofstream(kWork / "docs.jsonl") << "{\"text\": \"" << std::string(700, 'a') << "\"}\n{\"text\": \""
                                      << std::string(900, 'b') << "\"}\n";
  const RunResult c = run("ppl --model " + model + " --data " + (kWork / "docs.jsonl").string() +
                          " --length 512 --docs 2 --window 64 --out " + out);
  check_ok(c, "ppl --data jsonl --window");
  CHECK(c.out.find("2 sequence(s) of 512 tokens") != std::string::npos);
  CHECK(c.out.find("mitigations: window 64") != std::string::npos);
  check_ok(run("ppl --model " + model + " --length 1K --docs 1 --state-norm --norm-reference document --quiet --out " +
               out),
           "ppl on held-out documents with the state norm");
}

TEST_CASE("ssmlab ppl --arm: several mitigations on one figure and one table, each arm as if run alone") {
  const std::string model = checkpoint(), out = (kWork / "ppl_arms").string(), alone = (kWork / "ppl_alone").string();
  const std::string text = " --prompt newlines --length 1K --bucket 64";
  const RunResult r = run("ppl --model " + model + text + " --arm none --arm window=32 --arm rri=0.99,0.5+delta-scale=0.5" +
                          " --arm state-norm --out " + out);
  check_ok(r, "ppl --arm x4");
  for (const char* arm : {"none", "window_32", "rri_0.99_0.5_delta-scale_0.5", "state-norm"}) {
    INFO(arm);
    CHECK(r.out.find(arm) != std::string::npos);  // the table on the terminal
    CHECK(fs::exists(out + "/" + arm + "/position_loss.csv"));
    CHECK(slurp(out + "/position_loss.svg").find(std::string(">") + arm + "<") != std::string::npos);  // legend
  }
  CHECK(count_lines(slurp(out + "/arms.csv")) == 1 + 4);
  CHECK(slurp(out + "/report.md").find("| window_32 | window 32 |") != std::string::npos);
  const nlohmann::json arms = nlohmann::json::parse(slurp(out + "/arms.json"));
  REQUIRE(arms.size() == 4);
  CHECK(arms[0]["mitigations"] == "none");
  CHECK(arms[1]["loss_beyond_train_length"] != arms[0]["loss_beyond_train_length"]);  // the window acts

  // An arm gives what the same flags give alone.
  check_ok(run("ppl --model " + model + text + " --window 32 --quiet --out " + alone), "ppl --window 32 alone");
  const nlohmann::json single = nlohmann::json::parse(slurp(alone + "/position_loss.json"));
  CHECK(arms[1]["loss_beyond_train_length"] == single["loss_beyond_train_length"]);
  CHECK(arms[1]["verdict"] == single["verdict"]);

  const std::string m = "ppl --model " + model + text + " --out " + out + "_bad";
  check_user_error(m + " --arm bogus", "--arm 'bogus': unknown mitigation 'bogus'");
  check_user_error(m + " --arm window", "--arm 'window': window needs a value");
  check_user_error(m + " --arm rri=2,1", "--arm 'rri=2,1': --rri: λ must be in (0, 1]");
  check_user_error(m + " --arm none --arm none", "--arm 'none' is given twice");
  check_user_error(m + " --arm none --window 32", "--arm and --window exclude each other");
  check_user_error(m + " --arm none --arm rri --per-token x.csv", "--per-token writes the losses of one arm");
}

// Splits a CSV line (no quoting: numbers only).
std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> out(1);
  for (char c : line) {
    if (c == ',') {
      out.emplace_back();
    } else {
      out.back().push_back(c);
    }
  }
  return out;
}

TEST_CASE("ssmlab ppl --per-token: every position's loss unrounded; bucket means are position_loss.csv's") {
  const std::string model = checkpoint(), out = (kWork / "ppl_tokens").string();
  const std::string file = (kWork / "per_token.csv").string();
  std::ofstream(kWork / "two_docs.jsonl") << "{\"text\": \"" << std::string(400, 'a') << "\"}\n{\"text\": \""
                                           << std::string(350, 'b') << "\"}\n";
  const RunResult r = run("ppl --model " + model + " --data " + (kWork / "two_docs.jsonl").string() +
                          " --length 300 --docs 2 --bucket 64 --chunk 50 --per-token " + file + " --out " + out);
  check_ok(r, "ppl --per-token");
  CHECK(r.out.find("per-token losses: " + file) != std::string::npos);
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  CHECK(line == "sequence,position,token,target,loss");
  std::vector<std::vector<std::string>> rows;
  while (std::getline(in, line)) rows.push_back(csv_fields(line));
  REQUIRE(rows.size() == 2 * 299);  // every position but the last (only a target) of both sequences
  std::vector<double> sum(5, 0.0), count(5, 0.0);
  for (size_t i = 0; i < rows.size(); ++i) {
    REQUIRE(rows[i].size() == 5);
    const int64_t position = static_cast<int64_t>(i % 299);
    CHECK(std::stoll(rows[i][0]) == static_cast<int64_t>(i / 299));
    CHECK(std::stoll(rows[i][1]) == position);
    if (position + 1 < 299) CHECK(rows[i][3] == rows[i + 1][2]);  // the target is the next row's token
    const double loss = std::stod(rows[i][4]);
    char again[32];
    std::snprintf(again, sizeof(again), "%.17g", loss);
    CHECK(rows[i][4] == again);  // all 17 digits, not a rounded value
    sum[static_cast<size_t>(position / 64)] += loss;
    count[static_cast<size_t>(position / 64)] += 1;
  }
  // position_loss.csv: the same losses bucketed over both sequences, 6 significant digits.
  std::ifstream curve(out + "/position_loss.csv");
  std::getline(curve, line);
  for (size_t k = 0; k < 5; ++k) {
    REQUIRE(std::getline(curve, line));
    CAPTURE(line);
    CHECK(sum[k] / count[k] == doctest::Approx(std::stod(csv_fields(line)[2])).epsilon(1e-5));
  }
  CHECK_FALSE(std::getline(curve, line));
}

TEST_CASE("ssmlab states: per-layer, per-head files for the selection") {
  const std::string model = checkpoint(), out = (kWork / "states").string();
  const RunResult r = run("states --model " + model + " --length 512 --layers 1 --heads 0:1 --delta-scale 0.5 --out " +
                          out);
  check_ok(r, "states");
  CHECK(r.out.find("1 layer(s) x 2 head(s)") != std::string::npos);
  CHECK(count_lines(slurp(out + "/state_moments.csv")) == 1 + 4 * 2);  // readings at 128..512
  for (const char* f : {"retention.csv", "inputs.csv", "outliers.csv", "histograms.csv", "states.json",
                        "L1_state_mean.svg", "L1_state_variance.svg", "L1_state_norm.svg", "L1_retention.svg",
                        "L1_first_token_retention.svg", "L1_dt.svg", "L1_B.svg", "L1_x.svg", "L1_histogram.svg"}) {
    CHECK_MESSAGE(fs::exists(out + "/" + f), f);
  }
  CHECK_FALSE(fs::exists(out + "/L0_state_mean.svg"));
}

TEST_CASE("ssmlab capacity: a complete report whose report.md carries the numbers") {
  const std::string model = checkpoint(), out = (kWork / "cap").string();
  const RunResult r = run("capacity --model " + model + " --max-length 512 --samples 2 --length 1K --docs 2 "
                          "--state-norm --out " + out);
  check_ok(r, "capacity --state-norm");
  CHECK(r.out.find("T_forget verdict") != std::string::npos);
  const std::string md = slurp(out + "/report.md");
  const nlohmann::json summary = nlohmann::json::parse(slurp(out + "/summary.json"));
  REQUIRE(summary["arms"].size() == 2);
  for (const auto& arm : summary["arms"]) {
    CHECK(md.find(arm["recall_verdict"].get<std::string>()) != std::string::npos);
    CHECK(md.find(arm["loss"]["verdict"].get<std::string>()) != std::string::npos);
    for (const char* f : {"passkey_heatmap.svg", "position_loss.csv", "state_moments.csv", "L0_state_norm.svg"}) {
      CHECK(fs::exists(out + "/" + arm["name"].get<std::string>() + "/" + f));
    }
  }
  CHECK(summary["arms"][1]["mitigations"] == "state norm (every 128 tokens)");
  CHECK(md.find("Training length: **64** tokens") != std::string::npos);
  for (const char* f : {"comparison.csv", "passkey_accuracy.svg", "position_loss.svg", "state_norm.svg",
                        "first_token_retention.svg"}) {
    CHECK_MESSAGE(fs::exists(out + "/" + f), f);
  }
}

TEST_CASE("--help documents each mitigation with its formula") {
  for (const char* cmd : {"passkey", "ppl", "states", "capacity", "generate"}) {
    const RunResult r = run(std::string(cmd) + " --help");
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("h_t = λ·α_t·h_{t-1} + γ·B̄_t·x_t") != std::string::npos);
    CHECK(r.out.find("0.9999,0.75") != std::string::npos);
    CHECK(r.out.find("Δ_t <- C·Δ_t") != std::string::npos);
    CHECK(r.out.find("h_t - α_{t-R+1:t}·h_{t-R}") != std::string::npos);
    CHECK(r.out.find("h <- h·τ/‖h‖_F where ‖h‖_F > τ") != std::string::npos);
  }
}

TEST_CASE("--help of every command that takes --tokenizer says that byte works as well as a file") {
  for (const char* cmd : {"info", "passkey", "ppl", "states", "capacity", "generate"}) {
    CAPTURE(cmd);
    const RunResult r = run(std::string(cmd) + " --help");
    CHECK(r.exit_code == 0);
    const size_t at = r.out.find("--tokenizer");
    REQUIRE(at != std::string::npos);
    CHECK(r.out.substr(at, r.out.find("--", at + 2) - at).find("byte (one id per byte") != std::string::npos);
  }
  CHECK(run("ppl --help").out.find("--per-token VALUE") != std::string::npos);
}

TEST_CASE("ssmlab generate: the prompt and its continuation on stdout, the speed on stderr; seeds repeat") {
  const std::string m = "--model " + checkpoint();
  const RunResult greedy = run("generate " + m + " --prompt 'In the beginning' --max-new-tokens 24");
  check_ok(greedy, "greedy");
  CHECK(greedy.out.rfind("In the beginning", 0) == 0);
  CHECK(greedy.out.size() > std::string("In the beginning\n").size());
  CHECK(greedy.err.find("new tokens at") != std::string::npos);
  CHECK(greedy.err.find("greedy") != std::string::npos);

  const std::string sampled = "generate " + m + " --prompt 'In the' --max-new-tokens 40 --ignore-eos --temperature 1.2 "
                              "--top-k 50 --top-p 0.95 --quiet";
  const RunResult a = run(sampled + " --seed 5"), b = run(sampled + " --seed 5"), c = run(sampled + " --seed 6");
  check_ok(a, "sampled");
  CHECK(a.err.empty());  // --quiet: no speed line
  CHECK(a.out == b.out);
  CHECK(a.out != c.out);
  CHECK(a.out.rfind("In the", 0) != 0);  // --quiet: the continuation only

  std::ofstream(kWork / "prompt.txt") << "and the word was";
  const RunResult file = run("generate " + m + " --prompt-file " + (kWork / "prompt.txt").string() +
                             " --max-new-tokens 8 --window 32");
  check_ok(file, "--prompt-file with a window");
  CHECK(file.out.rfind("and the word was", 0) == 0);
  CHECK(file.err.find("mitigations: window 32") != std::string::npos);
}

TEST_CASE("ssmlab export: the files and the call that loads them; info reads the export") {
  const std::string out = (kWork / "export_hf").string();
  fs::remove_all(out);
  const RunResult r = run("export --model " + checkpoint() + " --to hf --out " + out);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("model.safetensors, config.json, tokenizer.json, tokenizer_config.json, README.md") !=
        std::string::npos);
  CHECK(r.out.find("transformers.Mamba2ForCausalLM.from_pretrained(DIR)") != std::string::npos);
  const RunResult info = run("info --model " + out);
  CHECK(info.exit_code == 0);
  CHECK(info.out.find("hf-mamba layout, mamba2") != std::string::npos);
  check_user_error("export --model " + checkpoint() + " --to hf --out " + out, "is not an empty directory");
  check_user_error("export --model " + checkpoint() + " --to tflite --out " + out + "2", "unknown target 'tflite'");
  check_user_error("export --model " + checkpoint() + " --out " + out + "2", "needs --to");
  check_user_error("export --model " + out + " --to hf --out " + out + "2", "not an ssmlab checkpoint");
}

TEST_CASE("ssmlab --version names the version, the commit, the build type and the backends") {
  const RunResult r = run("--version");
  CHECK(r.exit_code == 0);
  CHECK(r.out.rfind("ssmlab 0.1.0 (commit ", 0) == 0);
  CHECK(r.out.find(" build)") != std::string::npos);
  CHECK(r.out.find("backends: CPU") != std::string::npos);
  CHECK(r.out.find("data parallel: MPI ") != std::string::npos);
  // The machine has no GPU: the device line says the CPU is used, and why.
  CHECK(r.out.find("\ndevice: CPU only (") != std::string::npos);
  CHECK(count_lines(r.out) == 4);
}

TEST_CASE("bad inputs to the evaluation commands: one line on stderr and exit code 2") {
  const std::string m = "--model " + checkpoint();
  std::ofstream(kWork / "bad.jsonl") << "{\"text\": \"fine\"}\n{broken\n";
  check_user_error("ppl --prompt newlines", "--model DIR is required");
  check_user_error("passkey " + m + " --rri 1.5,0.5", "--rri");
  check_user_error("passkey " + m + " --rri abc", "--rri: expected LAMBDA,GAMMA");
  check_user_error("ppl " + m + " --delta-scale 0", "--delta-scale");
  check_user_error("ppl " + m + " --window 1X", "--window");
  check_user_error("ppl " + m + " --state-norm --window 64", "do not combine");
  check_user_error("passkey " + m + " --lengths 1K:", "--lengths");
  check_user_error("passkey " + m + " --lengths 100", "too short");
  check_user_error("passkey " + m + " --bos", "no BOS");
  check_user_error("passkey " + m + " --samples x", "--samples");
  check_user_error("states " + m + " --layers 7", "--layers: layer 7 does not exist");
  check_user_error("states " + m + " --heads x", "--heads");
  check_user_error("states " + m + " --docs 2", "--docs must be 1");
  check_user_error("ppl " + m + " --prompt lines", "allowed: newlines, capital");
  check_user_error("ppl " + m + " --data " + (kWork / "missing").string(), "does not exist");
  check_user_error("ppl " + m + " --data " + (kWork / "bad.jsonl").string(), "line 2");
  check_user_error("ppl " + m + " --data x --prompt newlines", "exclude each other");
  check_user_error("ppl " + m + " --state-norm --norm-reference " + (kWork / "missing").string(), "does not exist");
  check_user_error("capacity " + m + " --start-length 300 --max-length 200", "--max-length");
  check_user_error("capacity " + m + " --frobnicate", "unknown option '--frobnicate'");
  check_user_error("passkey " + m + " extra", "no positional arguments");
  check_user_error("ppl " + m + " --per-token " + (kWork / "missing" / "losses.csv").string(),
                   "--per-token: cannot write");
  check_user_error("ppl " + m + " --per-token " + kWork.string(), "--per-token: cannot write");
  check_user_error("generate " + m, "exactly one of --prompt and --prompt-file");
  check_user_error("generate " + m + " --prompt a --prompt-file b", "exactly one of --prompt and --prompt-file");
  check_user_error("generate " + m + " --prompt-file " + (kWork / "missing").string(), "cannot read --prompt-file");
  check_user_error("generate " + m + " --prompt a --temperature -1", "--temperature must be");
  check_user_error("generate " + m + " --prompt a --temperature x", "--temperature: expected a number");
  check_user_error("generate " + m + " --prompt a --top-p 0", "--top-p must be in (0, 1]");
  check_user_error("generate " + m + " --prompt a --top-k -1", "--top-k must be >= 0");
  check_user_error("generate " + m + " --prompt a --max-new-tokens -3", "--max-new-tokens must be >= 0");
  check_user_error("generate " + m + " --prompt a --seed -1", "--seed must be >= 0");
  check_user_error("generate " + m + " --prompt a --bos", "no BOS");
  check_user_error("generate " + m + " hello", "no positional arguments");
}
