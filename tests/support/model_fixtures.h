// tests/support/model_fixtures.h — what the model tests share: the tiny config of each architecture,
// random token batches, and a perturbation of every parameter.
#pragma once

#include <string>
#include <vector>

#include "autograd/grad_mode.h"     // defines: NoGradGuard
#include "core/philox.h"            // defines: Rng
#include "core/tensor.h"            // defines: Tensor
#include "models/language_model.h"  // defines: LanguageModel, NamedParameter
#include "models/model_config.h"    // defines: ModelConfig, default_model_config
#include "ops/ops.h"                // defines: operator+

namespace ssm::testing {

// The smallest model of each architecture that still has every part: D 8, 2 layers, heads of 4,
// N 4, F 12, chunk 4 (so T = 11 ends on a partial chunk). Mamba-2 has 2 groups (B and C shared by
// two heads each); RWKV-6's LoRA ranks are 2 (mix) and 3 (decay); HGRN-2 has 3 layers (layer 0 has
// no lower bound, layers 1 and 2 do). Fields an architecture does not use are ignored.
inline ModelConfig tiny_model_config(const std::string& arch) {
  ModelConfig c = default_model_config(arch);
  c.d_model = 8;
  c.n_layer = arch == "hgrn2" ? 3 : 2;
  c.chunk_size = 4;
  c.d_state = 4;
  c.headdim = 4;
  c.d_ffn = 12;
  if (arch == "mamba2") c.ngroups = 2;
  c.lora_rank_mix = 2;
  c.lora_rank_decay = 3;
  return c;
}

// A (B, T) batch of token ids uniform in [0, vocab).
inline Tensor random_tokens(int64_t B, int64_t T, int64_t vocab, uint64_t seed) {
  Rng rng(seed);
  std::vector<int64_t> ids(B * T);
  for (auto& id : ids) id = static_cast<int64_t>(rng.below(vocab));
  return Tensor::from_vector(ids, {B, T});
}

// Adds N(0, scale²) to every parameter (parameter i drawn from seed + i) so no branch starts at
// zero: the reference inits zero whole branches (RWKV's output matrices, HGRN-2's lower bounds),
// which would hide mistakes in them.
inline void perturb(LanguageModel& model, uint64_t seed, double scale = 0.2) {
  autograd::NoGradGuard no_grad;
  int64_t i = 0;
  for (NamedParameter& p : model.named_parameters()) {
    const uint64_t draw = seed + static_cast<uint64_t>(i++);
    Tensor noise = Tensor::randn(p.tensor.shape(), draw, p.tensor.dtype(), Device::cpu(), scale);
    p.tensor.copy_from(p.tensor + noise);
  }
}

}  // namespace ssm::testing
