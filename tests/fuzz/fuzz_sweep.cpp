// tests/fuzz/fuzz_sweep.cpp — libFuzzer harness: the input is a sweep file (eval/sweep_spec.h).
// A spec that parses and checks is expanded into its runs over a small valid base config (the
// file's own `base:` is replaced: the harness fuzzes the sweep file, not the file system), and
// each run's config is built, as `ssmlab sweep` does before it trains anything.
#include <string>

#include "eval/sweep_spec.h"          // defines: parse_sweep_spec, check_sweep_spec, expand_sweep
#include "tests/fuzz/fuzz_support.h"  // defines: refuse_only_with_errors, write_scratch, kSmallConfig

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ssm;
  static const std::string base = fuzz::write_scratch("sweep_base.yaml", fuzz::kSmallConfig);
  fuzz::refuse_only_with_errors([&] {
    SweepSpec spec = parse_sweep_spec(std::string(fuzz::as_text(data, size)), "fuzz_sweep.yaml");
    check_sweep_spec(spec);
    spec.base = base;
    const std::vector<SweepRun> runs = expand_sweep(spec);
    for (size_t i = 0; i < runs.size() && i < 8; ++i) {
      sweep_run_config(spec, runs[i]);
      sweep_run_dir(spec, runs[i]);
    }
  });
  return 0;
}
