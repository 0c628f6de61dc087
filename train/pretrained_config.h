// train/pretrained_config.h — a public checkpoint's config.json read against its tensors: which
// layout it is, the architecture's sizes, and the refusal of every config feature ssmlab does not
// implement (train/pretrained.h describes the layouts).
//
// Sizes that decide how much the model allocates come from tensor shapes (checked by
// WeightIndex::require_shape), never from config.json alone; a config key that states a size
// must agree with the tensors. A key whose value changes the model in a way ssmlab does not
// implement (Hugging Face `use_bias: true`, Mamba-2 `time_step_limit` other than (0, inf),
// state-spaces `d_intermediate > 0` or `rms_norm: false`, fla attention layers, ...) is a
// UserError naming the file and the key, so a public checkpoint never loads as a different model.
// Keys that only steer training, initialisation or kernels (time_step_min, fused_add_norm,
// use_cache, ...) are accepted and ignored.
#pragma once

#include <string>

#include <nlohmann/json.hpp>  // defines: nlohmann::json

#include "train/pretrained.h"    // defines: PretrainedInfo
#include "train/weight_index.h"  // defines: WeightIndex

namespace ssm {

// `cfg` is config.json's content (an empty object when the directory has none), `config_path`
// its path for messages, `dir` the checkpoint directory.
PretrainedInfo read_pretrained_config(const WeightIndex& w, const nlohmann::json& cfg, const std::string& config_path,
                                      const std::string& dir);

}  // namespace ssm
