// eval/passkey.h — passkey retrieval, the paper's protocol (docs/passkey.md), on any LanguageModel.
//
//   prompt      prefix + filler blocks (one replaced by the needle) + question, sized to at most L
//               tokens of the model's own tokenizer (train/data/passkey_prompt.h); a BOS token in front
//               only when asked for and the tokenizer has one
//   grid        lengths L (k·1K by default), n samples per length, sample i at depth (i+0.5)/n,
//               a fresh uniformly random 5-digit key per sample from the seed
//   decoding    greedy, 5 new tokens (more only when the key itself needs more tokens, as with a
//               byte-level tokenizer: " 12345" is 6 bytes), stopping at EOS
//   scoring     correct iff the key is a substring of the decoded output
//   plots       heatmap of accuracy per depth bin (rows) and length (columns); "last-r" curves:
//               for each L the mean over the last ⌊R·r/L⌋ depth rows, empty when 0 or > R
// Prompts of one length are run in depth order and each starts from the state its predecessor
// passed at their longest common token prefix: exact (a state depends only on the tokens before
// it) and about twice as fast as starting every prompt from zero.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "eval/mitigations.h"       // defines: Mitigations
#include "models/language_model.h"  // defines: LanguageModel
#include "train/text/tokenizer.h"        // defines: Tokenizer

namespace ssm {

struct PasskeyOptions {
  std::vector<int64_t> lengths = {1024, 2048, 4096};  // target prompt lengths in tokens
  int64_t samples = 20;          // per length; sample i has depth (i + 0.5) / samples
  int64_t depth_bins = 10;       // heatmap rows (the paper's figures: 20)
  int64_t max_new_tokens = 5;    // the paper's 5 (raised per sample to fit the key, see above)
  int64_t prefill_chunk = 2048;  // prompt tokens per forward call
  uint64_t seed = 0;
  bool bos = false;              // prepend the tokenizer's BOS (UserError if it has none)
  std::vector<int64_t> last_r = {1024, 2048, 4096, 8192};  // r of the last-r curves
};

struct PasskeySample {
  int64_t length = 0;       // target length L
  int64_t tokens = 0;       // the prompt's actual length (BOS included)
  double depth = 0;         // (i + 0.5) / n
  int64_t needle_block = 0; // which filler block the needle replaced
  std::string key, generated;
  bool correct = false;
};

struct PasskeyResult {
  std::vector<int64_t> lengths;                    // ascending
  std::vector<PasskeySample> samples;              // by length, then by depth
  std::vector<double> accuracy;                    // per length
  std::vector<std::vector<double>> grid;           // [depth bin][length]; NaN = no sample
  std::vector<int64_t> last_r;                     // r values of last_r_accuracy
  std::vector<std::vector<double>> last_r_accuracy;  // [r][length]; NaN = empty

  // Adds another run's lengths (e.g. one more step of a search), keeping lengths ascending.
  void merge(const PasskeyResult& other);
};

// Bin b (0-based) of R holds depths in (b/R, (b+1)/R]; depth 0 goes to bin 0.
int64_t depth_bin(double depth, int64_t bins);

// The last-r curve over `grid`: for column j (length L_j) the mean of the last ⌊R·r/L_j⌋ rows that
// have data; NaN when that count is 0 or more than R.
std::vector<double> last_r_curve(const std::vector<std::vector<double>>& grid, const std::vector<int64_t>& lengths,
                                 int64_t r);

// Called after every sample (for progress output).
using PasskeyProgress = std::function<void(const PasskeySample&)>;

// Runs the grid. UserError when a length cannot hold the prompt, or options are out of range.
PasskeyResult run_passkey(LanguageModel& model, const Tokenizer& tokenizer, const PasskeyOptions& options,
                          const Mitigations& mitigations, Device device, const PasskeyProgress& progress = {});

// "1K,2K,8K", "1K:16K" (every 1K) or "1K:64K:4K" -> token counts (K = 1024). UserError naming
// `what` (e.g. "--lengths") on anything else.
std::vector<int64_t> parse_lengths(const std::string& text, const std::string& what);

}  // namespace ssm
