// tests/train/test_fault_tolerance.cpp — a run that is killed or interrupted loses nothing: SIGTERM
// and SIGINT save a checkpoint at the next step boundary and exit 143 / 130; a run killed with
// SIGKILL mid-step resumes from its last checkpoint; either way the resumed run logs exactly the
// losses of an uninterrupted one. A diverging run stops naming the step and keeps the last good
// checkpoint; only the last K checkpoints are kept. These run the real executable.
#include <filesystem>
#include <fstream>

#include "tests/support/cli_runner.h"
#include "tests/support/testing.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/trainer.h"

using namespace ssm;
using namespace ssm::testing;
namespace fs = std::filesystem;

namespace {

const fs::path kWork = fs::temp_directory_path() / "ssmlab_test_fault_tolerance";

// A config whose steps take a few tens of milliseconds, so a signal lands mid-run.
fs::path write_config(const std::string& extra_train = "") {
  fs::create_directories(kWork / "corpus");
  for (int d = 0; d < 4; ++d) {
    std::ofstream out(kWork / "corpus" / ("doc" + std::to_string(d) + ".txt"));
    for (int i = 0; i < 200; ++i) out << "the cat sat on the mat. the dog ate the log. " << (i % 7) << "\n";
  }
  const fs::path path = kWork / "ft.yaml";
  std::ofstream(path) << "run: {seed: 9, device: cpu}\n"
                         "model: {d_model: 32, n_layer: 2, d_state: 16, headdim: 8, chunk_size: 16}\n"
                         "data:\n  seq_len: 128\n  batch_size: 4\n  valid_fraction: 0.25\n"
                         "  sources:\n    - {kind: text, path: " + (kWork / "corpus").string() + "}\n"
                         "optim: {lr: 0.01, min_lr: 0.001, warmup_steps: 2}\n"
                         "train: {steps: 40, eval_every: 0, ckpt_every: 1" + extra_train + "}\n";
  return path;
}

std::string train_args(const fs::path& config, const fs::path& run_dir) {
  return "train " + config.string() + " --quiet --run-dir " + run_dir.string();
}

// The uninterrupted reference run (computed once per process).
const std::vector<std::string>& reference_losses(const fs::path& config) {
  static const std::vector<std::string> losses = [&] {
    const RunResult r = run_shell(kSsmlab.string() + " " + train_args(config, kWork / "whole"), kWork);
    REQUIRE(r.exit_code == 0);
    return logged_losses(kWork / "whole" / "metrics.jsonl");
  }();
  return losses;
}

// Starts a run, waits until it has logged `rows` steps, sends `signal`; returns the exit code.
int interrupt_run(const fs::path& config, const fs::path& run_dir, int rows, int signal) {
  const pid_t pid = spawn_ssmlab({"train", config.string(), "--quiet", "--run-dir", run_dir.string()});
  REQUIRE(pid > 0);
  const bool started = wait_for_rows(run_dir / "metrics.jsonl", "\"loss\"", rows, 120);
  kill(pid, signal);
  const int code = wait_exit_code(pid);
  REQUIRE(started);
  return code;
}

}  // namespace

TEST_CASE("SIGTERM / SIGINT: checkpoint at the step boundary, exit 143 / 130, resume gives the same losses") {
  fs::remove_all(kWork);
  const fs::path config = write_config();
  const std::vector<std::string>& whole = reference_losses(config);
  REQUIRE(whole.size() == 40);
  for (const auto& [signal, code] : std::vector<std::pair<int, int>>{{SIGTERM, 143}, {SIGINT, 130}}) {
    CAPTURE(signal);
    const fs::path run_dir = kWork / ("signal" + std::to_string(signal));
    CHECK(interrupt_run(config, run_dir, 3, signal) == code);
    // The checkpoint holds exactly the steps that were logged: nothing ran past it.
    const int64_t saved = load_trainer_state((run_dir / "ckpt").string()).step;
    CHECK(saved >= 3);
    CHECK(saved < 40);
    CHECK(count_lines_with(run_dir / "metrics.jsonl", "\"loss\"") == saved);
    const RunResult rest = run_shell(kSsmlab.string() + " " + train_args(config, run_dir) + " --resume", kWork);
    INFO(rest.err);
    REQUIRE(rest.exit_code == 0);
    CHECK(logged_losses(run_dir / "metrics.jsonl") == whole);  // bit for bit, as written
  }
}

TEST_CASE("SIGKILL mid-step: resuming from the last checkpoint gives the uninterrupted losses") {
  const fs::path config = write_config();
  const std::vector<std::string>& whole = reference_losses(config);
  const fs::path run_dir = kWork / "sigkill";
  CHECK(interrupt_run(config, run_dir, 5, SIGKILL) == 128 + SIGKILL);
  CHECK(load_trainer_state((run_dir / "ckpt").string()).step >= 4);
  const RunResult rest = run_shell(kSsmlab.string() + " " + train_args(config, run_dir) + " --resume", kWork);
  INFO(rest.err);
  REQUIRE(rest.exit_code == 0);
  CHECK(logged_losses(run_dir / "metrics.jsonl") == whole);
}

TEST_CASE("a non-finite loss stops the run naming the step, keeping the last good checkpoint") {
  const fs::path config = write_config();
  const fs::path run_dir = kWork / "diverge";
  // A learning rate of 1e30 sends the parameters to infinity within a few steps.
  const RunResult r = run_shell(kSsmlab.string() + " " + train_args(config, run_dir) +
                                    " --set optim.lr=1e30 --set optim.min_lr=0 --set optim.warmup_steps=0"
                                    " --set optim.grad_clip=0",
                                kWork);
  INFO(r.err);
  CHECK(r.exit_code == 3);
  CHECK(r.err.find("training diverged: non-finite") != std::string::npos);
  CHECK(ssm::testing::count_lines(r.err) == 1);
  const size_t at = r.err.find(" at step ");
  REQUIRE(at != std::string::npos);
  const int64_t bad_step = std::stoll(r.err.substr(at + 9));
  CHECK(bad_step >= 2);
  // ckpt/ is the step before, every parameter finite; nothing of the bad step was saved or logged.
  const int64_t saved = load_trainer_state((run_dir / "ckpt").string()).step;
  CHECK(saved == bad_step - 1);
  CHECK(r.err.find("(step " + std::to_string(saved) + ")") != std::string::npos);
  for (double v : checkpoint_parameters(run_dir / "ckpt")) REQUIRE(std::isfinite(v));
  CHECK(count_lines_with(run_dir / "metrics.jsonl", "\"loss\"") == saved);
}

TEST_CASE("keep_checkpoints K: ckpt/ is the newest, the K-1 before it stay as ckpt-<step>/") {
  const fs::path config = write_config();
  const fs::path run_dir = kWork / "keep";
  const RunResult r = run_shell(kSsmlab.string() + " " + train_args(config, run_dir) +
                                    " --set train.steps=10 --set train.ckpt_every=2 --set train.keep_checkpoints=3",
                                kWork);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(load_trainer_state((run_dir / "ckpt").string()).step == 10);
  const std::vector<std::string> previous = previous_checkpoints((run_dir / "ckpt").string());
  REQUIRE(previous.size() == 2);
  CHECK(fs::path(previous[0]).filename() == "ckpt-00000006");
  CHECK(fs::path(previous[1]).filename() == "ckpt-00000008");
  CHECK(load_trainer_state(previous[0]).step == 6);
  CHECK(load_trainer_state(previous[1]).step == 8);
  CHECK_FALSE(fs::exists(run_dir / "ckpt.tmp"));
  // Any kept checkpoint loads as a model.
  CHECK_NOTHROW(load_model(previous[0]));
  // K = 1 (the default) prunes the older ones on the next save.
  const RunResult again = run_shell(kSsmlab.string() + " " + train_args(config, run_dir) +
                                        " --resume --set train.steps=12 --set train.ckpt_every=2",
                                    kWork);
  REQUIRE(again.exit_code == 0);
  CHECK(previous_checkpoints((run_dir / "ckpt").string()).empty());
}
