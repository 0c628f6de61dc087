// cli/cmd_bench.cpp — `ssmlab bench`: kernel and training-step benchmarks (bench/bench.h). Without
// a GPU, `ssmlab bench` says so and exits with code 2; `--device cpu` runs the same benchmarks on
// the CPU backend.
#include <climits>
#include <cstdio>

#include "bench/bench.h"  // defines: run_bench, BenchOptions
#include "cli/args.h"
#include "cli/commands.h"
#include "core/error.h"
#include "ops/kernel_versions.h"  // defines: set_kernel_versions

namespace ssm::cli {

int cmd_bench(int argc, char** argv) {
  Args args("bench",
            {{"device", "cuda or cpu", false, false, "cuda"},
             {"preset", "problem sizes: full (H100-scale), small, tiny", false, false, "full on cuda, small on cpu"},
             {"only", "all, kernels, train, eval, or scaling (not in all: long)", false, false, "all"},
             {"filter", "run only benchmarks whose name contains this text"},
             {"precision", "matmul precision of the training steps: fp32, tf32, bf16", false, false,
              "bf16 on cuda, fp32 on cpu"},
             {"warmup", "untimed runs before timing", false, false, "the preset's"},
             {"repeats", "timed runs (the median is reported)", false, false, "the preset's"},
             {"json", "also write the results to this file (bench/torch_peer.py --ssmlab reads it)"},
             {"kernels", "kernel versions for everything that does not time a version of its own, e.g. "
                         "ssd_chunked_forward=2 (as SSMLAB_KERNELS; docs/kernels.md)"}},
            argc, argv, 2);
  if (args.help_requested()) {
    std::fputs(args.usage("[options]").c_str(), stdout);
    return 0;
  }
  SSM_USER_CHECK(args.positionals().empty(), "ssmlab bench takes no positional arguments (see ssmlab bench --help)");
  bench::BenchOptions options;
  const std::string device = args.has("device") ? args.get("device") : "cuda";
  SSM_USER_CHECK(device == "cuda" || device == "cpu", "ssmlab bench: unknown --device '", device,
                 "' (allowed: cuda, cpu)");
  options.device = device == "cuda" ? Device::cuda() : Device::cpu();
  if (args.has("preset")) options.preset = args.get("preset");
  if (args.has("only")) options.only = args.get("only");
  if (args.has("filter")) options.filter = args.get("filter");
  if (args.has("precision")) options.precision = args.get("precision");
  // A count the bench would replace (repeats 0 or below, warmup below 0, the preset's markers)
  // or truncate (past INT_MAX) is refused instead.
  auto count = [&](const char* name, int64_t least) {
    const int64_t value = args.get_int(name);
    SSM_USER_CHECK(value >= least && value <= INT_MAX, "option '--", name, "' must be an integer in [", least, ", ",
                   INT_MAX, "], got ", value);
    return static_cast<int>(value);
  };
  if (args.has("warmup")) options.warmup = count("warmup", 0);
  if (args.has("repeats")) options.repeats = count("repeats", 1);
  if (args.has("json")) options.json_path = args.get("json");
  if (args.has("kernels")) ops::set_kernel_versions(args.get("kernels"), "--kernels");
  bench::run_bench(options);
  return 0;
}

}  // namespace ssm::cli
