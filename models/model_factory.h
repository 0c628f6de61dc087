// models/model_factory.h — builds any architecture from its ModelConfig.
#pragma once

#include <memory>

#include "models/language_model.h"  // defines: LanguageModel
#include "models/model_config.h"    // defines: ModelConfig

namespace ssm {

// The architecture named by cfg.arch, its vocabulary `vocab_size` padded to
// cfg.pad_vocab_multiple, parameters drawn from `seed` in `dtype` (left uninitialised when
// `initialize` is false: see models/init.h). UserError naming the allowed values otherwise.
std::unique_ptr<LanguageModel> make_model(const ModelConfig& cfg, int64_t vocab_size, uint64_t seed,
                                          Dtype dtype = Dtype::f32, bool initialize = true);

}  // namespace ssm
