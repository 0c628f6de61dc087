// tests/cli/test_cli_limits.cpp — sizes, files and flags through the real `ssmlab`: every input that
// once crashed, hung, allocated for minutes, wrapped silently or was ignored is now one line on
// stderr and exit code 2, quickly. Each run has a time limit: a hang fails instead of stalling.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "tests/support/cli_runner.h"
#include "tests/support/testing.h"

namespace fs = std::filesystem;
using ssm::testing::count_lines;
using ssm::testing::RunResult;

namespace {

const fs::path kWork = fs::temp_directory_path() / "ssmlab_test_cli_limits";

// `ssmlab <args>` under `timeout`: a command that blocks (a FIFO in open()) or allocates for
// minutes exits 124 and fails the check.
RunResult run(const std::string& args) {
  fs::create_directories(kWork);
  return ssm::testing::run_shell("timeout 60 " + ssm::testing::kSsmlab.string() + " " + args, kWork);
}

void check_user_error(const std::string& args, const std::string& needle) {
  const RunResult r = run(args);
  INFO("ssmlab " << args << "\nstderr: " << r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find(needle) != std::string::npos);
  CHECK(count_lines(r.err) == 1);
}

std::string path(const std::string& name) { return (kWork / name).string(); }

// The workspace: a corpus, a tiny config, a checkpoint trained from it, a FIFO, a symlink loop.
struct Workspace {
  std::string config, model;
  Workspace() {
    static const bool made = [] {
      fs::remove_all(kWork);
      ssm::testing::write_tiny_corpus(kWork / "corpus", "In the beginning was the word, and the word was text. ", 200);
      std::ofstream(kWork / "tiny.yaml")
          << "model: {d_model: 16, n_layer: 2, d_state: 8, headdim: 8, chunk_size: 16}\n"
             "data:\n  seq_len: 64\n  batch_size: 2\n  sources:\n    - {kind: text, path: "
          << path("corpus") << "}\ntrain: {steps: 2, eval_every: 0, ckpt_every: 10}\n";
      const RunResult r = run("train " + path("tiny.yaml") + " --run-dir " + path("run") + " --quiet");
      REQUIRE(r.exit_code == 0);
      REQUIRE(::mkfifo(path("fifo").c_str(), 0600) == 0);
      fs::create_symlink(kWork / "loop_b", kWork / "loop_a");
      fs::create_symlink(kWork / "loop_a", kWork / "loop_b");
      return true;
    }();
    (void)made;
    config = path("tiny.yaml");
    model = "--model " + path("run/ckpt") + " --out " + path("out") + " --quiet";
  }
};

// The tiny config with its one source replaced.
std::string config_with_source(const std::string& name, const std::string& source) {
  std::ofstream(kWork / name) << "model: {d_model: 16, n_layer: 1, d_state: 8, headdim: 8, chunk_size: 16}\n"
                                 "data:\n  seq_len: 64\n  batch_size: 2\n  sources:\n    - "
                              << source << "\ntrain: {steps: 2, eval_every: 0}\n";
  return path(name);
}

}  // namespace

TEST_CASE("config sizes: too large for 64 bits or for this machine, one line naming the key and the bytes") {
  Workspace ws;
  // Was a heap overflow in Tensor::full (2^62 x 4 bytes wrapped to 0).
  check_user_error("train " + ws.config + " --set model.d_model=4611686018427387904",
                   "model.d_model: 4611686018427387904 gives a mamba2 model of");
  // Was "internal error: out of host memory".
  check_user_error("train " + ws.config + " --set model.d_model=1000000000", "bytes");
  check_user_error("train " + ws.config + " --set model.d_model=100000000",
                   "model.d_model: 100000000 gives a mamba2 model of");
  check_user_error("train " + ws.config + " --set data.seq_len=4611686018427387904", "does not fit in a 64-bit size");
  check_user_error("train " + ws.config + " --set data.batch_size=1000000000000", "tokens per batch): would need");
}

TEST_CASE("flags: ignored, wrapped or non-finite values are refused naming the flag") {
  Workspace ws;
  check_user_error("train " + ws.config + " --stop-after -1", "'--stop-after' must be a positive number of steps");
  check_user_error("train " + ws.config + " --set train.steps.=1", "empty key in 'train.steps.'");
  check_user_error("train " + ws.config + " --set 'data.sources[18446744073709551616].kind=text'", "is too large");
  check_user_error("bench --device cpu --repeats 0", "'--repeats' must be an integer in [1, 2147483647], got 0");
  check_user_error("bench --device cpu --warmup -1", "'--warmup' must be an integer in [0");
  check_user_error("ppl " + ws.model + " --length 1K --delta-scale inf", "--delta-scale: expected a finite");
  check_user_error("ppl " + ws.model + " --length 1K --rri 0.5,inf", "--rri:");
  // Lengths: past memory, wrapping past 2^63 with the K suffix, or ranges that would.
  check_user_error("ppl " + ws.model + " --length 1000000000000000000",
                   "--length: 1000000000000000000 tokens: would need 4e+18 bytes");
  check_user_error("ppl " + ws.model + " --length 18014398509481985K", "--length: 18014398509481985 x 1024 does not fit");
  check_user_error("passkey " + ws.model + " --lengths 1K:9223372036854775807", "--lengths: 9223372036854775807");
  check_user_error("passkey " + ws.model + " --lengths 1K --samples 10000000000", "--samples 10000000000");
  // Allocated an index per layer for minutes before failing.
  check_user_error("states " + ws.model + " --layers 0:99999999999", "--layers: layer 99999999999 does not exist");
  check_user_error("states " + ws.model + " --heads 3:99999999999", "--heads: head 99999999999 does not exist");
  // Filled a histogram edge by edge (hung), or generated tokens for ever.
  check_user_error("states " + ws.model + " --bins 1000000000000", "--bins 1000000000000: would need");
  check_user_error("passkey " + ws.model + " --lengths 1K --samples 1 --max-new-tokens 1000000000000",
                   "--max-new-tokens 1000000000000: would need");
}

TEST_CASE("files: FIFOs, devices, directories, oversized configs and symlink loops, refused without blocking") {
  Workspace ws;
  const std::string fifo = path("fifo");
  check_user_error("train " + fifo, "cannot read config '" + fifo + "': it is a FIFO (named pipe), not a regular file");
  check_user_error("train /dev/zero", "cannot read config '/dev/zero': it is a character device");
  check_user_error("train " + path("corpus"), "it is a directory, not a regular file");
  check_user_error("train " + path("loop_a"), "Too many levels of symbolic links");
  {  // a 100 MB YAML list: refused by its size, before parsing
    std::ofstream big(kWork / "big.yaml");
    big << "list:\n";
    for (int i = 0; i < 3'000'000; ++i) big << "  - 1\n";
  }
  check_user_error("train " + path("big.yaml"), "more than the 16777216 bytes (16 MiB) allowed for a config");
  check_user_error("train " + config_with_source("fifo_text.yaml", "{kind: text, path: " + fifo + "}"),
                   "data.sources[0].path: '" + fifo + "': it is a FIFO");
  check_user_error("train " + config_with_source("fifo_tokens.yaml", "{kind: tokens, path: " + fifo + "}"),
                   "it is a FIFO");
  check_user_error("train " + config_with_source("loop.yaml", "{kind: text, path: " + path("loop_a") + "}"),
                   "Too many levels of symbolic links");
  check_user_error("train " + ws.config + " --run-dir " + path("loop_a"), "Too many levels of symbolic links");
  check_user_error("ppl " + ws.model + " --length 1K --data " + fifo, "it is a FIFO");
  check_user_error("ppl " + ws.model + " --length 1K --data " + path("loop_a"), "Too many levels of symbolic links");
  check_user_error("info --model " + path("loop_a"), "Too many levels of symbolic links");
  check_user_error("sweep " + fifo, "it is a FIFO");
  // model.safetensors as a FIFO.
  fs::remove_all(kWork / "fifo_ckpt");
  fs::copy(kWork / "run" / "ckpt", kWork / "fifo_ckpt");
  fs::remove(kWork / "fifo_ckpt" / "model.safetensors");
  REQUIRE(::mkfifo(path("fifo_ckpt/model.safetensors").c_str(), 0600) == 0);
  check_user_error("info --model " + path("fifo_ckpt"), "model.safetensors': it is a FIFO");
}
