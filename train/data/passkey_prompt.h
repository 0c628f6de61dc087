// train/data/passkey_prompt.h — the paper's passkey-retrieval prompt (docs/passkey.md), sized in tokens
// of the model's own tokenizer. Used by the synthetic training task (train/) and by the passkey
// benchmark (eval/).
//
// Prompt = prefix + num_blocks context blocks (one replaced by the needle) + suffix, where
//   num_blocks = (T - len(prefix) - len(suffix)) // len(block), needle at floor(depth·(num_blocks-1)).
// The strings are the authors' code's literal strings ("an important info", "pass key").
#pragma once

#include <cstdint>
#include <string>

#include "core/philox.h"      // defines: Rng
#include "train/text/tokenizer.h"  // defines: Tokenizer

namespace ssm {

struct PasskeyPieces {
  std::string prefix = "There is an important info hidden inside a lot of irrelevant text. "
                       "Find it and memorize it.\n\n";
  std::string block = "The grass is green. The sky is blue. The sun is yellow. Here we go. "
                      "There and back again.\n";
  std::string needle = "The passkey is {K}. Remember it. {K} is the passkey.\n";  // {K} = the key
  std::string suffix = "\nWhat is the pass key? The passkey is";
};

struct PasskeyPrompt {
  std::string text;      // the full prompt, ending right before the answer
  std::string answer;    // the key, e.g. "04217"
  int64_t num_tokens;    // len(tokenizer.encode(text)), <= the target length
  int64_t num_blocks;    // context blocks, the needle included
  int64_t needle_block;  // index of the block replaced by the needle
};

// A prompt of at most `target_tokens` tokens with `key` at relative depth `depth` in [0, 1].
// UserError if the target is too short to hold the prefix, suffix and one block.
PasskeyPrompt build_passkey_prompt(const Tokenizer& tokenizer, int64_t target_tokens, double depth,
                                   const std::string& key, const PasskeyPieces& pieces = {});

// A uniformly random 5-digit key, zero padded ("00000" to "99999").
std::string random_passkey(Rng& rng);

// The paper's scoring: correct iff the answer string occurs in the generated text.
bool passkey_correct(const std::string& generated, const std::string& answer);

}  // namespace ssm
