// tests/train/test_fault_tolerance.cpp — a run that is killed or interrupted loses nothing: SIGTERM
// and SIGINT save a checkpoint at the next step boundary and exit 143 / 130; a run killed with
// SIGKILL mid-step resumes from its last checkpoint; either way the resumed run logs exactly the
// losses of an uninterrupted one. A diverging run stops naming the step and keeps the last good
// checkpoint; only the last K checkpoints are kept. Resuming cuts metrics.jsonl back by writing a
// new file and renaming it (the old one is never truncated); a second `train` on a live run
// directory is refused; a run directory that cannot be one is refused naming it. These run the
// real executable.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/cli_runner.h"
#include "tests/support/testing.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/run_dir.h"
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

// The run files (train/run_dir.h): no rewrite in place, one writer per run directory.

TEST_CASE("resume cuts metrics.jsonl back to the checkpoint in a new file renamed over the old one") {
  const fs::path config = write_config();
  const std::vector<std::string>& whole = reference_losses(config);
  const fs::path run_dir = kWork / "rewrite", metrics = run_dir / "metrics.jsonl";
  REQUIRE(run_shell(kSsmlab.string() + " " + train_args(config, run_dir) + " --stop-after 5", kWork).exit_code == 0);
  REQUIRE(load_trainer_state((run_dir / "ckpt").string()).step == 5);
  // What an interrupted run leaves: rows past its checkpoint, a row torn by the kill, and the
  // temp file of a rewrite killed before its rename.
  std::ofstream(metrics, std::ios::app) << "{\"step\": 6, \"loss\": 1.5}\n{\"step\": 7, \"val_loss\": 2.5}\n"
                                           "{\"step\": 8, \"lo";
  std::ofstream(run_dir / "metrics.jsonl.tmp") << "left behind by a killed rewrite\n";
  const std::string before = slurp(metrics);
  // A rewrite in place would truncate the very file this descriptor still reads.
  const int old_file = ::open(metrics.c_str(), O_RDONLY);
  REQUIRE(old_file >= 0);
  const RunResult rest =
      run_shell(kSsmlab.string() + " " + train_args(config, run_dir) + " --resume --stop-after 3", kWork);
  std::string old_content(before.size() + 4096, '\0');
  const ssize_t n = ::pread(old_file, old_content.data(), old_content.size(), 0);
  ::close(old_file);
  INFO(rest.err);
  REQUIRE(rest.exit_code == 0);
  CHECK(old_content.substr(0, static_cast<size_t>(std::max<ssize_t>(n, 0))) == before);
  // The new file: the 5 rows up to the checkpoint, then 3 new ones, as the uninterrupted run.
  CHECK(logged_losses(metrics) == std::vector<std::string>(whole.begin(), whole.begin() + 8));
  CHECK(count_lines_with(metrics, "\"step\"") == 8);
  CHECK_FALSE(fs::exists(run_dir / "metrics.jsonl.tmp"));
  CHECK_FALSE(fs::exists(run_dir / "config.yaml.tmp"));
}

TEST_CASE("a rewrite that cannot complete leaves metrics.jsonl as it was and says why") {
  const fs::path config = write_config();
  const fs::path run_dir = kWork / "blocked", metrics = run_dir / "metrics.jsonl";
  REQUIRE(run_shell(kSsmlab.string() + " " + train_args(config, run_dir) + " --stop-after 3", kWork).exit_code == 0);
  std::ofstream(metrics, std::ios::app) << "{\"step\": 9, \"loss\": 1.5}\n";
  const std::string before = slurp(metrics);
  fs::create_directories(run_dir / "metrics.jsonl.tmp" / "x");  // the new file cannot be made
  const RunResult r = run_shell(kSsmlab.string() + " " + train_args(config, run_dir) + " --resume", kWork);
  INFO(r.err);
  CHECK(r.exit_code == 2);
  CHECK(ssm::testing::count_lines(r.err) == 1);
  CHECK(r.err.find("cannot write '" + (run_dir / "metrics.jsonl.tmp").string() + "'") != std::string::npos);
  CHECK(slurp(metrics) == before);
  CHECK_THROWS_AS(rewrite_metrics(metrics.string(), 1), UserError);
  CHECK(slurp(metrics) == before);

  // What a rewrite keeps: rows up to the step, rows without a numeric step; not a torn last line.
  const fs::path rows = kWork / "rows.jsonl";
  std::ofstream(rows) << "{\"step\": 1, \"loss\": 3}\n{\"step\": 2, \"val_loss\": 2}\n{\"note\": \"no step\"}\n"
                         "{\"step\": 3, \"loss\": 1}\n[1, 2]\n{\"step\": 2, \"lo";
  CHECK(rewrite_metrics(rows.string(), 2) == 3);
  CHECK(slurp(rows) == "{\"step\": 1, \"loss\": 3}\n{\"step\": 2, \"val_loss\": 2}\n{\"note\": \"no step\"}\n");
  CHECK(rewrite_metrics((kWork / "absent.jsonl").string(), 2) == 0);
  CHECK_FALSE(fs::exists(kWork / "absent.jsonl"));
  // A FIFO in its place is refused at once, not waited on for a writer.
  const fs::path fifo = kWork / "fifo.jsonl";
  fs::remove(fifo);
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THROWS_WITH_AS(rewrite_metrics(fifo.string(), 2), doctest::Contains("it is a FIFO (named pipe)"), UserError);
}

TEST_CASE("a second train on a live run directory is refused naming the holder's pid; rows never interleave") {
  const fs::path config = write_config();
  const fs::path run_dir = kWork / "locked", metrics = run_dir / "metrics.jsonl";
  const pid_t first = spawn_ssmlab({"train", config.string(), "--quiet", "--run-dir", run_dir.string(), "--set",
                                    "train.steps=100000"});
  REQUIRE(first > 0);
  const bool started = wait_for_rows(metrics, "\"loss\"", 2, 120);
  const RunResult resumed = run_shell(kSsmlab.string() + " " + train_args(config, run_dir) + " --resume", kWork);
  const RunResult fresh = run_shell(kSsmlab.string() + " " + train_args(config, run_dir), kWork);
  kill(first, SIGTERM);
  CHECK(wait_exit_code(first) == 143);
  REQUIRE(started);
  for (const RunResult& r : {resumed, fresh}) {
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(ssm::testing::count_lines(r.err) == 1);
    CHECK(r.err.find("run directory '" + run_dir.string() + "' is in use by another ssmlab train (pid " +
                     std::to_string(first) + ",") != std::string::npos);
  }
  // Only the first process wrote: steps 1..its checkpoint, once each, in order.
  const int64_t saved = load_trainer_state((run_dir / "ckpt").string()).step;
  std::vector<int64_t> steps;
  std::ifstream in(metrics);
  for (std::string line; std::getline(in, line);) steps.push_back(nlohmann::json::parse(line).at("step").get<int64_t>());
  REQUIRE(static_cast<int64_t>(steps.size()) == saved);
  for (size_t i = 0; i < steps.size(); ++i) CHECK(steps[i] == static_cast<int64_t>(i) + 1);
  // The lock went with its process: the .lock file it left does not stop the next run.
  CHECK(fs::exists(run_dir / ".lock"));
  const RunResult next = run_shell(kSsmlab.string() + " " + train_args(config, run_dir) +
                                       " --resume --stop-after 1 --set train.steps=100000",
                                   kWork);
  INFO(next.err);
  CHECK(next.exit_code == 0);
  CHECK(count_lines_with(metrics, "\"loss\"") == saved + 1);
}

TEST_CASE("a run directory that is a file, lies under a file or is a symlink loop is refused naming it") {
  const fs::path config = write_config();
  const fs::path file = kWork / "a_file", loop = kWork / "loop";
  std::ofstream(file) << "not a folder\n";
  check_user_error(train_args(config, file), "run directory '" + file.string() + "' exists and is not a directory",
                   kWork);
  check_user_error(train_args(config, file / "run"), "cannot create run directory '" + (file / "run").string() + "'",
                   kWork);
  fs::remove(loop);
  fs::create_symlink(loop.filename(), loop);
  check_user_error(train_args(config, loop / "run"), "cannot create run directory '" + (loop / "run").string() + "'",
                   kWork);
  CHECK(slurp(file) == "not a folder\n");
}
