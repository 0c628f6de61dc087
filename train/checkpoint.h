// train/checkpoint.h — a checkpoint is a directory:
//
//   model.safetensors      parameters under their reference names (readable from Python)
//   optimizer.safetensors  AdamW moments, "exp_avg.<name>" / "exp_avg_sq.<name>"  (training only)
//   config.yaml            the full config the run used (defaults written out)
//   trainer_state.json     step, tokens seen, wall time, format version
//   tokenizer.json or      a copy of the run's tokenizer file (none for data.tokenizer: byte), so
//   rwkv_vocab.txt         the checkpoint decodes its own ids wherever it is moved
//
// Writes are atomic: everything goes to "<dir>.tmp" first, then the directory is swapped in
// with one rename (renameat2 RENAME_EXCHANGE when an old checkpoint exists), so a crash at any
// moment leaves either the old or the new checkpoint, never a mixture.
//
// Keeping the last K (train.keep_checkpoints): <dir> is always the newest; with K > 1 the one it
// replaces is renamed to "<dir>-<step>" (step zero-padded to 8 digits, e.g. ckpt-00000400), and
// of those only the newest K − 1 are kept.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/language_model.h"  // defines: LanguageModel
#include "train/config.h"           // defines: Config
#include "train/optimizer.h"        // defines: AdamW

namespace ssm {

struct TrainerState {
  int64_t step = 0;         // optimizer steps completed
  int64_t tokens_seen = 0;  // training tokens consumed
  double elapsed_s = 0;     // training wall time so far
  int64_t micro_batches_per_step = 0;  // world · grad_accum of the run that wrote it (0: unknown)
  int64_t optimizer_step = 0;          // AdamW's step count (read back from a checkpoint)
};

void save_checkpoint(const std::string& dir, LanguageModel& model, const AdamW* optimizer,
                     const Config& config, const TrainerState& state, int64_t keep = 1);

// The older checkpoints kept beside `dir` ("<dir>-<step>"), oldest first.
std::vector<std::string> previous_checkpoints(const std::string& dir);

// Reads config.yaml of a checkpoint (to build the model before loading weights), with
// data.tokenizer pointing at the checkpoint's copy of the tokenizer when it holds one (the path
// the run used may not exist where the checkpoint is read). UserError if the directory or the
// file is missing.
Config read_checkpoint_config(const std::string& dir);

// Loads weights into `model`, the optimizer's moments when `optimizer` is non-null, and returns
// the trainer state. Strict: every tensor the model (or optimizer) has must be in the file with
// the same shape, and every tensor of the file must be one of them; otherwise a UserError naming
// the file, the tensor and both shapes (config.yaml then describes another model than the weights).
TrainerState load_checkpoint(const std::string& dir, LanguageModel& model, AdamW* optimizer);

// Only trainer_state.json: the step and counters of a checkpoint. A JSON object with
// format_version 1 and an integer "step" in [0, 2^53] (the other counters likewise, when
// present); anything else (an array, null, a string, float, huge or missing step) is a UserError
// naming the file and the key — never a silent restart at step 0.
TrainerState load_trainer_state(const std::string& dir);

// Builds the model a checkpoint describes and loads its weights.
std::unique_ptr<LanguageModel> load_model(const std::string& dir, Config* config_out = nullptr);

}  // namespace ssm
