// train/checkpoint.h — a checkpoint is a directory:
//
//   model.safetensors      parameters under their reference names (readable from Python)
//   optimizer.safetensors  AdamW moments, "exp_avg.<name>" / "exp_avg_sq.<name>"  (training only)
//   config.yaml            the full config the run used (defaults written out)
//   trainer_state.json     step, tokens seen, wall time, format version
//
// Writes are atomic: everything goes to "<dir>.tmp" first, then the directory is swapped in
// with one rename (renameat2 RENAME_EXCHANGE when an old checkpoint exists), so a crash at any
// moment leaves either the old or the new checkpoint, never a mixture.
#pragma once

#include <cstdint>
#include <string>

#include "models/language_model.h"  // defines: LanguageModel
#include "train/config.h"           // defines: Config
#include "train/optimizer.h"        // defines: AdamW

namespace ssm {

struct TrainerState {
  int64_t step = 0;         // optimizer steps completed
  int64_t tokens_seen = 0;  // training tokens consumed
  double elapsed_s = 0;     // training wall time so far
};

void save_checkpoint(const std::string& dir, LanguageModel& model, const AdamW* optimizer,
                     const Config& config, const TrainerState& state);

// Reads config.yaml of a checkpoint (to build the model before loading weights). UserError if
// the directory or the file is missing.
Config read_checkpoint_config(const std::string& dir);

// Loads weights into `model` (shapes must match: UserError naming the tensor otherwise), the
// optimizer's moments when `optimizer` is non-null, and returns the trainer state.
TrainerState load_checkpoint(const std::string& dir, LanguageModel& model, AdamW* optimizer);

// Builds the model a checkpoint describes and loads its weights.
std::unique_ptr<LanguageModel> load_model(const std::string& dir, Config* config_out = nullptr);

}  // namespace ssm
