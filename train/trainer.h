// train/trainer.h — the training loop: config in, run directory out.
//
// Run directory layout:
//   config.yaml      the resolved config
//   metrics.jsonl    one JSON object per optimizer step {"step", "loss", "lr", "grad_norm",
//                    "tokens", "tokens_per_s", "elapsed_s"} and per evaluation {"step", "val_loss"}
//   ckpt/            the latest checkpoint (train/checkpoint.h); ckpt-<step>/ older ones kept
//   .lock            held by the one `ssmlab train` writing here (train/run_dir.h)
// No file is rewritten in place: config.yaml and, on resume, metrics.jsonl (cut back to the
// checkpoint's step) are replaced by rename, under the signal handlers (train/run_dir.h).
// Every batch is a pure function of (seed, step, global micro-batch), so resuming from ckpt/
// replays exactly the batches the uninterrupted run would have seen: on CPU the losses match bit
// for bit.
//
// Data parallelism: `world` processes (TrainOptions::communicator) each run grad_accum
// micro-batches of their own shard (train/data/dataset.h), scale their loss by 1 / (world ·
// grad_accum), and sum gradients with the communicator; every process then takes the same
// AdamW step. The result is one process with grad_accum · world micro-batches, up to the order
// of float sums. Only rank 0 writes the run directory and prints.
//
// Faults: a SIGINT or SIGTERM stops the run at the next step boundary with a checkpoint
// (train/stop_signal.h; TrainSummary::stop_signal says which). A non-finite loss or gradient
// norm throws TrainingDiverged naming the step, before the update, so ckpt/ keeps the last good
// checkpoint.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"          // defines: Device
#include "core/error.h"          // defines: Error
#include "train/communicator.h"  // defines: Communicator
#include "train/config.h"        // defines: Config

namespace ssm {

struct TrainOptions {
  std::string run_dir;
  bool resume = false;            // continue from run_dir/ckpt if it exists
  int64_t stop_after_steps = -1;  // leave (with a checkpoint) after this many steps in this call
  bool quiet = false;             // no progress output
  Communicator* communicator = nullptr;  // data parallelism; null: one process
};

struct TrainSummary {
  int64_t first_step = 0;        // where this call started (0, or the resumed step)
  int64_t last_step = 0;         // optimizer steps completed when it returned
  std::vector<double> losses;    // training loss of each step run by this call
  double last_val_loss = -1;     // -1 when never evaluated
  double tokens_per_s = 0;
  int stop_signal = 0;           // SIGINT/SIGTERM when a signal stopped the run, else 0
};

// A non-finite loss or gradient: the run stopped before applying that step.
class TrainingDiverged : public Error {
 public:
  using Error::Error;
};

TrainSummary train_model(const Config& config, const TrainOptions& options);

// "auto" -> cuda when a CUDA backend is built in and a GPU is visible, else cpu; a UserError when
// a GPU is visible but cannot be used (cuBLAS missing), or "cuda" is asked for and unavailable.
Device resolve_device(const std::string& name);

}  // namespace ssm
