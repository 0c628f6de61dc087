// eval/inference.h — the few inference-time helpers every evaluator shares: a slice of token ids
// as a (1, T) batch on the model's device, greedy choice from a logits row, and deep copies of a
// recurrent state. Not for training (no autograd anywhere here).
#pragma once

#include <cstdint>
#include <vector>

#include "models/language_model.h"  // defines: LanguageModel, RecurrentState, Tensor, Device
#include "train/text/tokenizer.h"        // defines: TokenId

namespace ssm {

// tokens[begin, end) as a (1, end - begin) i64 tensor on `device`.
Tensor token_batch(const std::vector<TokenId>& tokens, size_t begin, size_t end, Device device);

// The index of the largest logit of the last position of `logits` ((1, T, V) or (1, V)), read
// on the CPU; the first one on ties, as greedy decoding does.
TokenId greedy_token(const Tensor& logits);

// A deep copy of every tensor of `state` (same device), so a later forward cannot touch it.
RecurrentState clone_state(const RecurrentState& state);

}  // namespace ssm
