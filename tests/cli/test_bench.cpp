// tests/cli/test_bench.cpp — `ssmlab bench` from the command line: the CPU run of every benchmark on
// tiny sizes (table and JSON), the clear exit without a GPU, and bad options (a malformed
// SSMLAB_KERNELS included).

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/cuda_testing.h"  // defines: cuda_available
#include "tests/support/cli_runner.h"
#include "tests/support/testing.h"

namespace fs = std::filesystem;
using ssm::testing::run_ssmlab;
using ssm::testing::RunResult;
using ssm::testing::slurp;

namespace {

const fs::path kWork = fs::temp_directory_path() / "ssmlab_test_bench";

RunResult run(const std::string& args) { return run_ssmlab(args, kWork); }

void check_user_error(const std::string& args, const std::string& needle) {
  ssm::testing::check_user_error(args, needle, kWork);
}

}  // namespace

TEST_CASE("ssmlab bench --device cpu --preset tiny runs every benchmark and writes JSON") {
  const fs::path json = kWork / "bench.json";
  fs::remove(json);
  RunResult r = run("bench --device cpu --preset tiny --repeats 1 --warmup 0 --json " + json.string());
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  for (const char* row : {"gemm f32 (strict fp32)", "ssd chunked forward", "ssd chunked backward",
                          "ssd recurrent forward", "ssd recurrent backward", "ssd decode step",
                          "selective scan forward", "selective scan backward", "gla forward", "gla backward",
                          "rms_norm forward", "rms_norm backward", "softmax forward", "cross_entropy forward",
                          "cross_entropy backward", "adamw step", "train step: demo model", "train step: mamba2 (scaled down), 2K",
                          "train step: mamba2 (scaled down), 8K", "eval stream: demo model, 300",
                          "eval stream: demo model, 600", "eval decode step: demo model",
                          "eval stream: mamba2 (scaled down), 200", "eval decode step: mamba2 (scaled down)",
                          "peak RSS GiB"}) {
    CHECK_MESSAGE(r.out.find(row) != std::string::npos, row);
  }
  std::ifstream in(json);
  const nlohmann::json report = nlohmann::json::parse(in);
  CHECK(report["preset"] == "tiny");
  CHECK(report["kernels"].size() == 16);
  CHECK(report["train"].size() == 3);
  for (const auto& row : report["train"]) CHECK(row["tokens_per_s"].get<double>() > 0);
  REQUIRE(report["eval"].size() == 5);
  for (const auto& row : report["eval"]) {
    CHECK(row["tokens_per_s"].get<double>() > 0);
    CHECK(row["peak_gib"].get<double>() > 0);  // the process's peak resident set, read from /proc
  }
  CHECK(report["scaling"].empty());  // --only scaling only: not part of all
}

TEST_CASE("ssmlab bench --only scaling: time per token as T grows, then as the model grows") {
  const fs::path json = kWork / "scaling.json";
  fs::remove(json);
  RunResult r = run("bench --device cpu --preset tiny --only scaling --filter demo --repeats 1 --warmup 0 --json " +
                    json.string());
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  std::ifstream in(json);
  const nlohmann::json report = nlohmann::json::parse(in);
  REQUIRE(report["scaling"].size() == 3);  // T32, T64 (length), and the demo model at T32 (model)
  CHECK(report["scaling"][0]["name"] == "scaling T: demo model, T32");
  CHECK(report["scaling"][1]["group"] == "length");
  CHECK(report["scaling"][2]["group"] == "model");
  for (const auto& row : report["scaling"]) CHECK(row["us_per_token"].get<double>() > 0);
  CHECK(report["train"].empty());
}

TEST_CASE("ssmlab bench --filter and --only pick benchmarks") {
  RunResult r = run("bench --device cpu --preset tiny --only kernels --filter ssd --repeats 1 --warmup 0");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("ssd chunked forward") != std::string::npos);
  CHECK(r.out.find("gemm") == std::string::npos);
  CHECK(r.out.find("train step") == std::string::npos);
}

TEST_CASE("ssmlab bench without a GPU says so and exits 2" * doctest::skip(ssm::testing::cuda_available())) {
  check_user_error("bench", "no CUDA GPU is visible");
  check_user_error("bench --device cuda --preset tiny", "--device cpu");
}

TEST_CASE("ssmlab bench: bad options are clear errors") {
  check_user_error("bench --device cpu --preset huge", "unknown --preset 'huge' (allowed: full, small, tiny)");
  check_user_error("bench --device tpu", "unknown --device 'tpu'");
  check_user_error("bench --device cpu --precision bf16", "needs --device cuda");
  check_user_error("bench --device cpu --only everything", "unknown --only");
  check_user_error("bench --device cpu --preset tiny --kernels ssd_chunked_forward=3",
                   "--kernels: kernel 'ssd_chunked_forward' has versions 1 to 2, not 3");
}

TEST_CASE("a malformed SSMLAB_KERNELS is refused by every command, even one that runs no CUDA kernel") {
  setenv("SSMLAB_KERNELS", "ssd_chunked_forward=2,no_such_kernel=1", 1);
  check_user_error("bench --device cpu --preset tiny --only kernels", "SSMLAB_KERNELS: no kernel 'no_such_kernel'");
  setenv("SSMLAB_KERNELS", "ssd_chunked_forward=2", 1);
  const RunResult ok = run_ssmlab("bench --device cpu --preset tiny --only kernels --filter gemm", kWork);
  unsetenv("SSMLAB_KERNELS");
  INFO(ok.err);
  CHECK(ok.exit_code == 0);
}
