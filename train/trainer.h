// train/trainer.h — the training loop: config in, run directory out.
//
// Run directory layout:
//   config.yaml      the resolved config
//   metrics.jsonl    one JSON object per optimizer step {"step", "loss", "lr", "grad_norm",
//                    "tokens", "tokens_per_s", "elapsed_s"} and per evaluation {"step", "val_loss"}
//   ckpt/            the latest checkpoint (train/checkpoint.h)
// Every batch is a pure function of (seed, step, micro-batch), so resuming from ckpt/ replays
// exactly the batches the uninterrupted run would have seen: on CPU the losses match bit for bit.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"    // defines: Device
#include "train/config.h"  // defines: Config

namespace ssm {

struct TrainOptions {
  std::string run_dir;
  bool resume = false;            // continue from run_dir/ckpt if it exists
  int64_t stop_after_steps = -1;  // leave (with a checkpoint) after this many steps in this call
  bool quiet = false;             // no progress output
};

struct TrainSummary {
  int64_t first_step = 0;        // where this call started (0, or the resumed step)
  int64_t last_step = 0;         // optimizer steps completed when it returned
  std::vector<double> losses;    // training loss of each step run by this call
  double last_val_loss = -1;     // -1 when never evaluated
  double tokens_per_s = 0;
};

TrainSummary train_model(const Config& config, const TrainOptions& options);

// "auto" -> cuda when a CUDA backend is built in and a GPU is visible, else cpu.
Device resolve_device(const std::string& name);

}  // namespace ssm
