// train/data/passkey_prompt.cpp — builds the paper's passkey prompt to a token budget (docs/passkey.md):
// prefix, then num_blocks copies of the filler block with one replaced by the needle, then the
// question. Sizes are measured with the caller's tokenizer, as the authors' code does.
#include "train/data/passkey_prompt.h"

#include <cmath>
#include <cstdio>

#include "core/error.h"  // defines: UserError

namespace ssm {

namespace {

int64_t token_count(const Tokenizer& tokenizer, const std::string& text) {
  return static_cast<int64_t>(tokenizer.encode(text).size());
}

// The needle with every "{K}" replaced by the key.
std::string fill_needle(const std::string& needle, const std::string& key) {
  std::string out;
  size_t start = 0;
  for (size_t at; (at = needle.find("{K}", start)) != std::string::npos; start = at + 3) {
    out.append(needle, start, at - start).append(key);
  }
  return out.append(needle, start);
}

std::string assemble(const PasskeyPieces& pieces, const std::string& needle, int64_t num_blocks, int64_t needle_block) {
  std::string text = pieces.prefix;
  for (int64_t i = 0; i < num_blocks; ++i) text += i == needle_block ? needle : pieces.block;
  return text + pieces.suffix;
}

}  // namespace

PasskeyPrompt build_passkey_prompt(const Tokenizer& tokenizer, int64_t target_tokens, double depth,
                                   const std::string& key, const PasskeyPieces& pieces) {
  SSM_USER_CHECK(depth >= 0.0 && depth <= 1.0, "passkey depth must be in [0, 1], got ", depth);
  const int64_t n_prefix = token_count(tokenizer, pieces.prefix);
  const int64_t n_suffix = token_count(tokenizer, pieces.suffix);
  const int64_t n_block = token_count(tokenizer, pieces.block);
  SSM_USER_CHECK(n_block > 0, "passkey prompt: the context block is empty");
  const int64_t minimum = n_prefix + n_suffix + n_block;
  SSM_USER_CHECK(target_tokens >= minimum, "passkey prompt: target length ", target_tokens,
                 " tokens is too short; the prefix, the question and one block need ", minimum, " ",
                 tokenizer.name(), " tokens");

  const std::string needle = fill_needle(pieces.needle, key);
  PasskeyPrompt prompt;
  prompt.answer = key;
  prompt.num_blocks = (target_tokens - n_prefix - n_suffix) / n_block;
  // The authors' sizing assumes the needle is no longer than a block, which holds for the
  // default pieces. Should a tokenizer or custom pieces break that, blocks are dropped until
  // the prompt fits, so the "at most target_tokens" promise always holds.
  for (;; --prompt.num_blocks) {
    SSM_USER_CHECK(prompt.num_blocks >= 1, "passkey prompt: target length ", target_tokens,
                   " tokens cannot hold the prefix, the question and the needle");
    prompt.needle_block = static_cast<int64_t>(std::floor(depth * static_cast<double>(prompt.num_blocks - 1)));
    prompt.text = assemble(pieces, needle, prompt.num_blocks, prompt.needle_block);
    prompt.num_tokens = token_count(tokenizer, prompt.text);
    if (prompt.num_tokens <= target_tokens) return prompt;
  }
}

std::string random_passkey(Rng& rng) {
  char digits[8];
  std::snprintf(digits, sizeof digits, "%05d", static_cast<int>(rng.below(100000)));
  return digits;
}

bool passkey_correct(const std::string& generated, const std::string& answer) {
  return !answer.empty() && generated.find(answer) != std::string::npos;
}

}  // namespace ssm
