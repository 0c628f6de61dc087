// models/model_factory.cpp — cfg.arch -> the model class.
#include "models/model_factory.h"

#include <algorithm>

#include "absl/strings/str_join.h"  // defines: absl::StrJoin
#include "core/error.h"             // defines: UserError
#include "models/hgrn2.h"           // defines: Hgrn2Model
#include "models/mamba1.h"          // defines: Mamba1Model
#include "models/mamba2.h"          // defines: Mamba2Model
#include "models/model_config.h"    // defines: validate_model_config, check_model_size
#include "models/rwkv.h"            // defines: RwkvModel

namespace ssm {

std::unique_ptr<LanguageModel> make_model(const ModelConfig& cfg, int64_t vocab_size, uint64_t seed, Dtype dtype,
                                          bool initialize) {
  const std::vector<std::string>& archs = model_architectures();
  if (std::find(archs.begin(), archs.end(), cfg.arch) != archs.end()) {
    // Sizes are checked before the first tensor exists: a config too large for this machine (or
    // for 64-bit sizes) is one line naming its key. Uninitialised parameters take address space
    // only (models/init.h), so their memory is checked by whoever fills them.
    if (const std::string problem = validate_model_config(cfg); !problem.empty()) throw UserError(problem);
    check_model_size(cfg, vocab_size, static_cast<int64_t>(dtype_size(dtype)), /*check_memory=*/initialize);
  }
  if (cfg.arch == "mamba1") return std::make_unique<Mamba1Model>(cfg, vocab_size, seed, dtype, initialize);
  if (cfg.arch == "mamba2") return std::make_unique<Mamba2Model>(cfg, vocab_size, seed, dtype, initialize);
  if (cfg.arch == "rwkv5" || cfg.arch == "rwkv6") {
    return std::make_unique<RwkvModel>(cfg, vocab_size, seed, dtype, initialize);
  }
  if (cfg.arch == "hgrn2") return std::make_unique<Hgrn2Model>(cfg, vocab_size, seed, dtype, initialize);
  throw UserError(absl::StrCat("model.arch: unknown architecture '", cfg.arch, "' (allowed: ",
                               absl::StrJoin(model_architectures(), ", "), ")"));
}

}  // namespace ssm
