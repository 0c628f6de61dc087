// train/pretrained.h — public checkpoints as their families publish them, so `ssmlab capacity
// --model <dir>` measures real weights.
//
// A pretrained directory holds safetensors weights (model.safetensors, or shards listed in
// model.safetensors.index.json) and usually the family's config.json. Recognised layouts:
//   state-spaces   config.json with "ssm_cfg" (Mamba-1, or Mamba-2 with "layer": "Mamba2")
//   hf-mamba       config.json "model_type": "mamba" / "mamba2" (transformers; `embeddings`)
//   rwkv           the official .pth names (emb.weight, blocks.N.att.*), converted to
//                  safetensors by scripts/convert_checkpoint.py; config.json optional
//   hf-rwkv        config.json "model_type": "rwkv5" / "rwkv6" (rwkv.* names)
//   fla            config.json "model_type": "hgrn2" (flash-linear-attention, model.* names)
//   fla-rwkv6      config.json "model_type": "rwkv6" with fla's model.* names: the same numbers as
//                  BlinkDL's, arranged differently (train/fla_rwkv6.h)
// The architecture's sizes come from the tensor shapes (vocabulary rows, widths, RWKV head size and
// LoRA ranks: docs/architectures.md, pitfalls); config.json adds what shapes cannot say (Mamba-2's
// d_state, HGRN-2's heads, norm eps) and every size it states must agree with the tensors. Loading
// is strict (train/pretrained_config.h): a config feature ssmlab does not implement is refused by
// name, and so is any tensor of the file the model does not load; the one harmless extra is a
// Mamba lm_head.weight equal to the embedding (a tied head saved twice). Weights stored in bf16 or
// f16 are upcast. Anything missing or mis-shaped is a UserError naming the file and tensor.
#pragma once

#include <memory>
#include <string>

#include "models/language_model.h"  // defines: LanguageModel
#include "models/model_config.h"    // defines: ModelConfig

namespace ssm {

struct PretrainedInfo {
  std::string layout;      // state-spaces | hf-mamba | rwkv | hf-rwkv | fla | fla-rwkv6
  ModelConfig model;       // the architecture as ssmlab builds it
  int64_t vocab_size = 0;  // rows of the embedding (already padded by the publisher)
};

// True for a directory that is not an ssmlab checkpoint (no config.yaml) but holds weights.
bool is_pretrained_dir(const std::string& dir);

// Reads config.json and the tensor index (not the weights).
PretrainedInfo read_pretrained_info(const std::string& dir);

// The name `layout` stores ssmlab's reference tensor name under (e.g. hf-mamba's
// "backbone.embeddings.weight" for "backbone.embedding.weight").
std::string pretrained_tensor_name(const std::string& layout, const std::string& reference_name);

// Builds the model and loads every parameter; `info_out` receives what was detected.
std::unique_ptr<LanguageModel> load_pretrained(const std::string& dir, PretrainedInfo* info_out = nullptr,
                                               Dtype dtype = Dtype::f32);

}  // namespace ssm
