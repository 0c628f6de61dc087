// tests/cli/test_cli_sweep.cpp — `ssmlab sweep` end to end on a tiny grid (2 state sizes x 2 training
// lengths, 3 training steps each, a small evaluation with a sliding-window arm): every report
// file, the numbers in sweep.json, a second invocation that skips every finished run without
// touching it, the same grid given as flags, the finished sweeps compared side by side
// (--compare), and bad inputs (exit code 2, one line on stderr).
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/cli_runner.h"
#include "tests/support/testing.h"

namespace fs = std::filesystem;
using ssm::testing::count_lines;
using ssm::testing::run_ssmlab;
using ssm::testing::RunResult;
using ssm::testing::slurp;

namespace {

const fs::path kWork = fs::temp_directory_path() / "ssmlab_test_cli_sweep";

RunResult run(const std::string& args) { return run_ssmlab(args, kWork); }

// The base config and the sweep file (made once).
std::string sweep_file() {
  static const std::string path = [] {
    fs::remove_all(kWork);
    ssm::testing::write_tiny_corpus(kWork / "corpus", "Let there be light: and there was light. ", 150);
    std::ofstream(kWork / "base.yaml")
        << "run: {device: cpu}\nmodel: {d_model: 16, n_layer: 1, d_state: 8, headdim: 8, chunk_size: 16}\n"
           "data:\n  seq_len: 64\n  batch_size: 2\n  valid_fraction: 0.34\n  sources:\n    - {kind: text, path: "
        << (kWork / "corpus").string() << "}\ntrain: {steps: 3, eval_every: 0, ckpt_every: 10}\n";
    std::ofstream(kWork / "sweep.yaml")
        << "base: " << (kWork / "base.yaml").string() << "\nstates:\n  - {name: N4, model: {d_state: 4}}\n"
        << "  - {name: N16, model: {d_state: 16}}\nlengths: [32, 64]\ntokens_per_step: 128\nout: "
        << (kWork / "sweep").string() << "\neval: {length: 1K, docs: 1, samples: 1, state_length: 128, window: train}\n";
    return (kWork / "sweep.yaml").string();
  }();
  return path;
}

void check_user_error(const std::string& args, const std::string& needle) {
  ssm::testing::check_user_error(args, needle, kWork);
}

}  // namespace

TEST_CASE("ssmlab sweep: trains and measures a 2 x 2 grid, writes the report, and skips finished runs") {
  const std::string file = sweep_file();
  const fs::path out = kWork / "sweep", report = out / "report";
  const RunResult first = run("sweep " + file + " --quiet");
  INFO("stdout: " << first.out << "\nstderr: " << first.err);
  REQUIRE(first.exit_code == 0);
  CHECK(first.out.find("runs: 0 skipped (finished), 4 trained, 0 resumed, 4 measured") != std::string::npos);

  for (const char* name : {"report.md", "runs.csv", "states.csv", "fits.csv", "sweep.json", "t_forget.svg",
                           "t_recall.svg", "loss_N4.svg", "loss_N16.svg", "mitigated_loss_N4.svg",
                           "mitigated_loss_N16.svg"}) {
    CHECK_MESSAGE(fs::exists(report / name), name);
  }
  for (const char* run_name : {"N4_T32", "N4_T64", "N16_T32", "N16_T64"}) {
    CHECK_MESSAGE(fs::exists(out / "runs" / run_name / "sweep_result.json"), run_name);
    CHECK_MESSAGE(fs::exists(out / "runs" / run_name / "capacity" / "report.md"), run_name);
  }
  CHECK(count_lines(slurp(report / "runs.csv")) == 5);
  CHECK(count_lines(slurp(report / "states.csv")) == 3);
  const nlohmann::json j = nlohmann::json::parse(slurp(report / "sweep.json"));
  REQUIRE(j["runs"].size() == 4);
  REQUIRE(j["states"].size() == 2);
  CHECK(j["states"][0]["state"] == "N4");
  CHECK(j["states"][0]["state_main"] == 4 * 8 * 4);   // H x P x N, one layer
  CHECK(j["states"][1]["state_main"] == 4 * 8 * 16);
  CHECK(j["states"][0]["lengths"] == nlohmann::json::array({32, 64}));
  CHECK(j["runs"][1]["train_length"] == 64);
  CHECK(j["runs"][0]["steps"] == 3);
  CHECK(j["runs"][0]["arms"].size() == 2);  // baseline and the window of one training length
  CHECK(j["runs"][0]["arms"][1]["mitigations"].get<std::string>().find("window 32") != std::string::npos);
  CHECK(j["paper"]["t_forget"]["slope"] == 5.172);
  const std::string md = slurp(report / "report.md");
  CHECK(md.find("5.172") != std::string::npos);
  CHECK(md.find("T_recall") != std::string::npos);
  CHECK(md.find("![T_forget](t_forget.svg)") != std::string::npos);
  CHECK(slurp(report / "t_forget.svg").find("paper 5.172") != std::string::npos);

  // Again: nothing is trained or measured, and the runs are left exactly as they were.
  const fs::path metrics = out / "runs" / "N16_T64" / "metrics.jsonl";
  const std::string metrics_before = slurp(metrics);
  const auto time_before = fs::last_write_time(out / "runs" / "N16_T64" / "sweep_result.json");
  const RunResult second = run("sweep " + file + " --quiet");
  REQUIRE(second.exit_code == 0);
  CHECK(second.out.find("runs: 4 skipped (finished), 0 trained, 0 resumed, 0 measured") != std::string::npos);
  CHECK(slurp(metrics) == metrics_before);
  CHECK(fs::last_write_time(out / "runs" / "N16_T64" / "sweep_result.json") == time_before);
  CHECK(nlohmann::json::parse(slurp(report / "sweep.json"))["runs"] == j["runs"]);

  // The same grid as flags: every run is already done.
  const RunResult flags = run("sweep --config " + (kWork / "base.yaml").string() +
                              " --state N4:d_state=4 --state N16:d_state=16 --lengths 32,64 --tokens-per-step 128 --out " +
                              out.string() + " --length 1K --docs 1 --samples 1 --state-length 128 --window train --dry-run");
  INFO("flags stderr: " << flags.err);
  CHECK(flags.exit_code == 0);
  CHECK(count_lines(flags.out) == 4);
  CHECK(flags.out.find("train") == std::string::npos);
  CHECK(flags.out.find("done     N16_T64") != std::string::npos);

  // Side by side: the finished grid under two labels, once through a sweep file that adds a
  // length nobody trained. Nothing is trained or measured; unfinished runs are listed, not guessed.
  std::string longer = slurp(file);
  longer.replace(longer.find("lengths: [32, 64]"), 17, "lengths: [32, 64, 128]");
  std::ofstream(kWork / "sweep_longer.yaml") << longer;
  const fs::path compared = kWork / "compared";
  const RunResult cmp = run("sweep --compare Tiny=" + file + " --compare Longer=" + (kWork / "sweep_longer.yaml").string() +
                            " --report " + compared.string());
  INFO("compare stdout: " << cmp.out << "\nstderr: " << cmp.err);
  REQUIRE(cmp.exit_code == 0);
  CHECK(slurp(metrics) == metrics_before);
  CHECK(!fs::exists(out / "runs" / "N4_T128"));
  CHECK(cmp.out.find("not finished: N4_T128 N16_T128") != std::string::npos);
  const std::string cmd = slurp(compared / "compare.md");
  CHECK(cmd.find("**not finished**: N4_T128, N16_T128") != std::string::npos);
  CHECK(cmd.find("| sweep | state | N_S | parameters | T_train 32 | T_train 64 | T_forget | mitigated arm |") !=
        std::string::npos);
  CHECK(cmd.find("| Tiny | N4 | 128 |") != std::string::npos);   // H x P x N = 4 x 8 x 4, one layer
  CHECK(cmd.find("| Longer | N16 | 512 |") != std::string::npos);
  CHECK(cmd.find("window 32 / window 64") != std::string::npos);
  CHECK(cmd.find("trained at 32 tokens") != std::string::npos);  // the shortest length both have
  CHECK(count_lines(slurp(compared / "compare.csv")) == 1 + 8);
  const std::string svg = slurp(compared / "compare_loss.svg");
  CHECK(svg.find("Tiny N16 (N_S 512)") != std::string::npos);  // the upper middle of two state sizes
  CHECK(svg.find("Tiny N4") == std::string::npos);
  CHECK(run("sweep --compare Tiny=" + file + " --compare-length 64 --report " + compared.string()).exit_code == 0);
  CHECK(slurp(compared / "compare.md").find("trained at 64 tokens") != std::string::npos);
}

TEST_CASE("ssmlab sweep: bad input exits 2 with one line") {
  const std::string file = sweep_file();
  check_user_error("sweep " + (kWork / "missing.yaml").string(), "cannot be read");
  std::ofstream(kWork / "bad.yaml") << "base: x.yaml\nstates: [{model: {d_state: 4}}]\nlengths: [32]\nfits: {}\n";
  check_user_error("sweep " + (kWork / "bad.yaml").string(), "unknown key 'fits'");
  check_user_error("sweep " + file + " --state d_state", "--state 'd_state': expected key=value");
  check_user_error("sweep --lengths 32", "no base config");
  check_user_error("sweep " + file + " --fit-state conv", "fit.state must be main or all");
  check_user_error("sweep " + file + " --state N4:d_state=4 --set optim.lr=0.5 --dry-run",
                   "was trained with another config");
  check_user_error("sweep " + file + " --frobnicate", "frobnicate");
  check_user_error("sweep --compare " + file, "expected LABEL=SWEEP.yaml");
  check_user_error("sweep --compare A=" + file + " --compare A=" + file, "the label 'A' is given twice");
  check_user_error("sweep --compare A=" + file + " --lengths 32", "--lengths is not read with --compare");
  std::string unrun = slurp(file);
  unrun.replace(unrun.find(kWork.string() + "/sweep\n"), kWork.string().size() + 7, kWork.string() + "/nowhere\n");
  std::ofstream(kWork / "unrun.yaml") << unrun;
  check_user_error("sweep --compare U=" + (kWork / "unrun.yaml").string(), "has no finished run under");
}
