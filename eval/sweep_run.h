// eval/sweep_run.h — running a sweep's grid: train every run, measure it with
// measure_capacity (eval/capacity.h) on one shared evaluation setup, keep a record per run.
//
// Resumable. Each run directory is looked at before anything is done to it:
//   done      sweep_result.json exists, measured with the same evaluation settings, and the
//             checkpoint has all its steps: skipped (its record is read back)
//   measure   training finished but the run was not measured (or with other settings): measured
//   resume    a checkpoint with fewer steps than configured: training continues from it
//   train     no checkpoint: trained from scratch
// A run directory whose config.yaml differs from the run's config is refused (UserError naming
// the directory and the first differing line): the grid changed under it, and mixing the two
// would silently measure the wrong model. SIGINT/SIGTERM during training stops the sweep with a
// checkpoint (SweepOutcome::stop_signal); running the same command again continues.
// Every run writes its full capacity report to <run dir>/capacity/ (eval/capacity_report.h).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "eval/sweep_record.h"  // defines: SweepRunRecord
#include "eval/sweep_spec.h"    // defines: SweepSpec, SweepRun

namespace ssm {

enum class SweepRunStatus { done, measure, resume, train };
const char* status_name(SweepRunStatus status);  // "done", "measure", "resume", "train"

// The evaluation settings with the sweep-wide defaults filled in: length 16x the longest
// training length, bucket min(128, shortest training length / 4) (the collapse rule needs full
// buckets within every run's training length).
SweepEvalSpec resolve_sweep_eval(const SweepSpec& spec);
// The settings as one line of JSON: a run measured with another key is measured again.
std::string sweep_eval_key(const SweepEvalSpec& resolved);

// What run_sweep would do with this run now (see above). `config` is sweep_run_config(spec, run).
SweepRunStatus inspect_sweep_run(const SweepSpec& spec, const SweepRun& run, const Config& config,
                                 const std::string& eval_key);

struct SweepRunOptions {
  bool quiet = false;                           // no training progress bars
  std::function<void(const std::string&)> log;  // one line per event (may be empty)
};

struct SweepOutcome {
  std::vector<SweepRunRecord> records;  // finished runs, in grid order
  int64_t skipped = 0, trained = 0, resumed = 0, measured = 0;
  int stop_signal = 0;                  // SIGINT/SIGTERM stopped a training run (records partial)
};

SweepOutcome run_sweep(const SweepSpec& spec, const SweepRunOptions& options = {});

// The record of a run that is done (above), read back without training or measuring anything;
// nullopt for a run in any other state. A changed config is refused as by inspect_sweep_run.
std::optional<SweepRunRecord> read_finished_run(const SweepSpec& spec, const SweepRun& run,
                                                const std::string& eval_key);

}  // namespace ssm
