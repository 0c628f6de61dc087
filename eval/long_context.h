// eval/long_context.h — the paper's long-context measurements on any LanguageModel.
//
//   passkey retrieval   (paper.md §4): prompts of k tokens, needle at depth (i+0.5)/n, greedy
//                       decoding of 5 tokens on the recurrent path, correct iff the key is a
//                       substring of the output.
//   loss by position    (paper.md §3): per-token loss along one long document, streamed in chunks
//                       with the state carried (memory stays bounded for 1M-token inputs), then
//                       bucketed and smoothed; collapse onset = the first bucket past the training
//                       length whose smoothed mean exceeds twice the largest one within it.
//   state statistics    (paper.md §6): after every `chunk` tokens, each layer's and head's SSM state
//                       mean, variance (unbiased), RMS and Frobenius norm.
// Everything runs without autograd; logits are read on the CPU.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "models/language_model.h"  // defines: LanguageModel
#include "train/tokenizer.h"        // defines: Tokenizer, TokenId

namespace ssm {

// ---- passkey -------------------------------------------------------------------------------
struct PasskeyOptions {
  std::vector<int64_t> lengths = {256, 512, 1024, 2048};  // target prompt lengths in tokens
  int64_t samples_per_length = 10;                        // sample i has depth (i + 0.5) / n
  int64_t depth_bins = 10;                                // rows of the heatmap
  int64_t max_new_tokens = 5;
  int64_t prefill_chunk = 512;                            // prompt tokens per forward call
  uint64_t seed = 0;
};

struct PasskeySample {
  int64_t length;      // target length
  int64_t tokens;      // actual prompt length
  double depth;
  std::string key, generated;
  bool correct;
};

struct PasskeyResult {
  std::vector<PasskeySample> samples;
  std::vector<double> accuracy_by_length;               // aligned with options.lengths
  std::vector<std::vector<double>> accuracy_grid;       // [depth bin][length], NaN = no sample
};

// Greedy decoding: feeds `prompt` in chunks through the state, then generates `max_new` tokens
// one step at a time.
std::vector<TokenId> greedy_generate(LanguageModel& model, const std::vector<TokenId>& prompt, int64_t max_new,
                                     int64_t prefill_chunk, Device device);

PasskeyResult run_passkey(LanguageModel& model, const Tokenizer& tokenizer, const PasskeyOptions& options,
                          Device device);

// ---- loss by position ------------------------------------------------------------------------
// losses[t] = -log p(tokens[t+1] | tokens[0..t]) for t < n-1, computed `chunk` tokens at a time.
std::vector<double> per_token_loss(LanguageModel& model, const std::vector<TokenId>& tokens, int64_t chunk,
                                   Device device);
std::vector<double> bucket_means(const std::vector<double>& values, int64_t bucket);
// Trailing moving average over `window` entries (fewer at the start): smooths bucket means so a
// single hard passage does not read as a collapse.
std::vector<double> moving_average(const std::vector<double>& values, int64_t window);
// First position >= train_length (a bucket start) where the bucket mean exceeds 2x the maximum
// bucket mean among buckets that end within train_length; nullopt if none.
std::optional<int64_t> collapse_onset(const std::vector<double>& bucket_mean, int64_t bucket, int64_t train_length);

// ---- state statistics ------------------------------------------------------------------------
struct StateStatRow {
  int64_t position;  // tokens consumed when the state was read
  int64_t layer, head;
  double mean, variance, rms, frobenius;
};
std::vector<StateStatRow> state_statistics(LanguageModel& model, const std::vector<TokenId>& tokens, int64_t chunk,
                                           Device device);

}  // namespace ssm
