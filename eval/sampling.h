// eval/sampling.h — choosing the next token from a logits row: greedy, or sampled with a
// temperature, top-k and top-p (nucleus) filter, from a seeded generator of our own so that the
// same seed gives the same tokens on every machine and library version.
//
// Sampling, for logits z over the tokenizer's ids (the model's padding rows never count):
//   1. p_i ∝ exp(z_i / temperature)          temperature 0 means greedy: the first largest z_i
//   2. keep the top_k largest p_i            (top_k 0: all)
//   3. keep the smallest prefix of those, largest first, whose mass reaches top_p (at least one)
//   4. renormalise and draw u ~ U[0, 1) against the cumulative sums.
// Ties are broken by the lower id everywhere, so the order, and hence the draw, is deterministic.
#pragma once

#include <cstdint>
#include <string>

#include "core/tensor.h"           // defines: Tensor
#include "train/text/tokenizer.h"  // defines: TokenId

namespace ssm {

struct SamplingOptions {
  double temperature = 0;  // 0: greedy
  int64_t top_k = 0;       // 0: no limit
  double top_p = 1;        // 1: no limit
  uint64_t seed = 0;
};

// UserError naming the option (--temperature, --top-k, --top-p) unless temperature is finite and
// >= 0, top_k >= 0 and top_p is in (0, 1].
void check_sampling_options(const SamplingOptions& options);

class TokenSampler {
 public:
  // `vocab`: the tokenizer's ids, [0, vocab); the logits may have more (padding) columns.
  TokenSampler(const SamplingOptions& options, int64_t vocab);

  // The next token from the last position of `logits` ((1, T, V) or (1, V), any device).
  TokenId next(const Tensor& logits);
  // The same from a row of at least `vocab` logits already on the host.
  TokenId next_from_row(const double* logits, int64_t size);

  // "greedy", or e.g. "temperature 0.8, top-k 40, top-p 0.95, seed 1".
  std::string describe() const;

 private:
  double uniform();  // U[0, 1) with 53 random bits

  SamplingOptions options_;
  int64_t vocab_;
  uint64_t state_;  // splitmix64
};

}  // namespace ssm
