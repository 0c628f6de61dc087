// eval/eval_model.h — the model an evaluation command runs on, from either kind of directory:
//   an ssmlab checkpoint (runs/<run>/ckpt: config.yaml, model.safetensors, ...), or
//   a public checkpoint in its publisher's layout (train/pretrained.h),
// together with its tokenizer and its training length (the paper's red line).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "models/language_model.h"  // defines: LanguageModel
#include "train/config.h"           // defines: Config
#include "train/text/tokenizer.h"        // defines: Tokenizer

namespace ssm {

struct EvalModel {
  std::unique_ptr<LanguageModel> model;
  std::unique_ptr<Tokenizer> tokenizer;
  int64_t train_length = 0;      // tokens per training sequence
  std::optional<Config> config;  // the training config (ssmlab checkpoints only)
  std::string description;       // one line for reports: what was loaded, from where
};

struct EvalModelOptions {
  std::string tokenizer;     // "" = the checkpoint's own (its config, or the file it ships)
  int64_t train_length = 0;  // 0 = the checkpoint's own (data.seq_len, or the publisher's)
};

// The training length assumed for a public checkpoint of `arch`: Mamba-1 2048 (state-spaces),
// Mamba-2 8192 (what the paper assumes; docs/paper_protocols.md notes a 2K claim), RWKV-5/6 World 4096
// (their ctx4096 files), HGRN-2 2048.
int64_t publisher_train_length(const std::string& arch);

// Loads the model on the CPU (callers move it with model->to(device)). UserError naming the
// directory when it is neither kind, or when a public checkpoint ships no tokenizer and none is
// given.
EvalModel load_eval_model(const std::string& dir, const EvalModelOptions& options = {});

}  // namespace ssm
