// eval/sweep_spec.h — what `ssmlab sweep` runs: a base training config, a grid of state sizes x
// training lengths, one shared evaluation setup and the fit settings; read from a sweep file
// (configs/repro/*.yaml) and/or command-line flags, then expanded into named runs.
//
// Sweep file (every key checked; relative paths are relative to the working directory, as in
// training configs):
//   # required: the training config every run starts from
//   base: configs/repro/mamba2_retention.yaml
//   set: [train.steps=800]                 # overrides for every run (train --set syntax)
//   states:                                # required: one entry per state size
//     - {name: N32, model: {d_state: 32}}  # model keys, or
//     - {set: [model.d_state=128]}         # any overrides; name derived when absent ("d_state128")
//   lengths: [128, 256, 512, 1K]           # required: training lengths T_train (context tokens)
//   tokens_per_step: 16K                   # optional: batch_size = tokens_per_step / (T_train x
//                                          # train.grad_accum), so
//                                          # every run sees the same tokens per step (the paper's
//                                          # constant 0.5M); absent: the base config's batch_size
//   out: runs/sweep                        # run directories and the report
//   eval: {length: 16K, docs: 4, data: PATH | prompt: newlines, samples: 10, depth_bins: 10,
//          seed: 0, bos: false, start_length: 0, max_length: 0, resolution: 0, bucket: 128,
//          smooth: 8, state_length: 0, window: 0 | N | train, rri: [0.9999, 0.75],
//          delta_scale: 0, state_norm: false}
//   (window: train = a sliding window of each run's own training length; the mitigations make a
//   second, mitigated arm of every measurement)
//   fit: {state: main | all, anchor: false, collapse_factor: 2}
// A training length sets data.seq_len = T_train / data.segments (truncated BPTT keeps its
// segment count), and the evaluation treats T_train as the model's training length.
// Run names: "<state name>_T<T_train>", e.g. "N32_T256"; its directory is <out>/runs/<name>.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "train/config.h"  // defines: Config

namespace ssm {

struct SweepStatePoint {
  std::string name;                    // [A-Za-z0-9_.-]+
  std::vector<std::string> overrides;  // "model.d_state=32", ...
};

// The evaluation every run gets (eval/capacity.h); zeros mean "derived" as documented there,
// except `length`: 0 = 16x the longest training length of the grid, the same for every run.
struct SweepEvalSpec {
  int64_t length = 0;       // tokens per loss-by-position sequence
  int64_t docs = 4;         // loss sequences
  std::string data;         // a corpus (.txt, .jsonl, folder); "" with no prompt: held-out docs
  std::string prompt;       // newlines | capital
  int64_t samples = 10;     // passkey prompts per length
  int64_t depth_bins = 10;
  uint64_t seed = 0;
  bool bos = false;
  int64_t start_length = 0, max_length = 0, resolution = 0;  // T_recall search
  int64_t bucket = 0, smooth = 8;    // loss curve, collapse rule; bucket 0: see resolve_sweep_eval
  int64_t state_length = 0;                                  // state statistics
  // The mitigated arm (none set: baseline only).
  int64_t window = 0;              // sliding window of this many tokens (0: none)
  bool window_train_length = false;  // window: train — each run's own T_train
  bool rri = false;
  double rri_lambda = 0.9999, rri_gamma = 0.75;
  double delta_scale = 0;   // 0: off
  bool state_norm = false;
};

struct SweepFitSpec {
  std::string state = "main";  // main: the main recurrent state; all: every state tensor (+conv)
  bool anchor = false;         // add the paper's (0, 0) anchor point to both fits
  // A run collapses when its peak ratio (eval/sweep_record.h) exceeds this; 2 is the paper's
  // rule, anything else is a looser or stricter criterion and the report says so.
  double collapse_factor = 2.0;
};

struct SweepSpec {
  std::string base;                    // training config path
  std::vector<std::string> overrides;  // for every run
  std::vector<SweepStatePoint> states;
  std::vector<int64_t> lengths;        // ascending, distinct
  int64_t tokens_per_step = 0;
  std::string out = "runs/sweep";
  SweepEvalSpec eval;
  SweepFitSpec fit;
};

struct SweepRun {
  std::string name;                    // "<state>_T<T_train>"
  std::string state;                   // the state point's name
  int64_t train_length = 0;            // T_train
  std::vector<std::string> overrides;  // spec.overrides, the state's, then seq_len / batch_size
};

// UserError naming the file and key. `source` names the text in messages.
SweepSpec parse_sweep_spec(const std::string& yaml_text, const std::string& source);
SweepSpec load_sweep_spec(const std::string& path);

// UserError (one line) when the spec is incomplete or inconsistent: no base, no states or
// lengths, duplicate names, bad names, lengths not positive, unknown fit state.
void check_sweep_spec(const SweepSpec& spec);

// "model.d_state=32" + "model.headdim=16" -> "d_state32-headdim16" (keys without their section,
// characters outside [A-Za-z0-9_.-] dropped).
std::string state_point_name(const std::vector<std::string>& overrides);

// Every (state, length) pair, states in spec order, lengths ascending. Reads the base config
// (with the overrides) to learn data.segments; UserError when a length is not a multiple of it,
// or tokens_per_step not a multiple of a length.
std::vector<SweepRun> expand_sweep(const SweepSpec& spec);

// The run's training config: the base with the run's overrides, validated.
Config sweep_run_config(const SweepSpec& spec, const SweepRun& run);

// "<out>/runs/<name>".
std::string sweep_run_dir(const SweepSpec& spec, const SweepRun& run);

}  // namespace ssm
