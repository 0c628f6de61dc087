// eval/position_loss.h — per-token loss against position, and the state-collapse rule
// (docs/paper_protocols.md, loss by position and T_forget).
//
//   loss        every sequence is streamed through the recurrent state in forward calls of
//               `chunk` tokens; token t predicts token t+1, including across call boundaries
//               (the authors' script loses one label per boundary; nothing is lost here). Losses
//               go straight into per-bucket sums, so memory stays that of one chunk whatever the
//               length (1M tokens and more), and they are averaged over sequences.
//   curve       bucket means over `bucket` positions, then a trailing mean over `smooth` buckets.
//   collapse    the paper's rule: the loss ever exceeds 2x the maximum loss within the training
//               length. Applied to the smoothed curve (so one hard passage does not count, a
//               sustained rise does); the baseline maximum is over the buckets that end within
//               the training length, leaving out the first `skip_buckets` (the first tokens are
//               predicted with almost no context and would set an inflated baseline; the paper's
//               own plots drop the first bucket too).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "eval/mitigations.h"       // defines: Mitigations
#include "models/language_model.h"  // defines: LanguageModel
#include "train/text/tokenizer.h"        // defines: TokenId

namespace ssm {

struct PositionLossOptions {
  int64_t train_length = 0;  // positions before it are "within the training length"
  int64_t chunk = 2048;      // tokens per forward call
  int64_t bucket = 128;      // positions per bucket
  int64_t smooth = 8;        // trailing-mean window in buckets (1 = no smoothing)
  int64_t skip_buckets = 1;  // leading buckets left out of the collapse baseline
};

struct CollapseVerdict {
  std::optional<double> baseline;    // max of the curve within the training length (nullopt: none)
  std::optional<int64_t> onset;       // first bucket start where the curve exceeds 2x the baseline
};

struct PositionLossResult {
  int64_t bucket = 0;
  int64_t length = 0;                 // tokens per sequence (predictions: length - 1)
  int64_t sequences = 0;
  std::vector<double> bucket_loss;    // mean loss of predictions t in [k·bucket, (k+1)·bucket)
  std::vector<double> smoothed;       // moving_average(bucket_loss, smooth)
  CollapseVerdict collapse;
  double loss_within = 0;             // mean over t < train_length (NaN if none)
  double loss_beyond = 0;             // mean over t >= train_length (NaN if none)
  int64_t rescaled_heads = 0;         // state-norm rescales, summed over sequences

  // "collapse at 3328 tokens", "no collapse up to 65536 tokens", or "undetermined (...)".
  std::string verdict() const;
};

std::vector<double> bucket_means(const std::vector<double>& values, int64_t bucket);
// Trailing mean over `window` entries (fewer at the start).
std::vector<double> moving_average(const std::vector<double>& values, int64_t window);
// The rule above on a curve of bucket values.
CollapseVerdict detect_collapse(const std::vector<double>& curve, int64_t bucket, int64_t train_length,
                                int64_t skip_buckets);

// Called after every forward call: (tokens done, tokens in total) over all sequences.
using LossProgress = std::function<void(int64_t done, int64_t total)>;

// Called for every scored position, sequence by sequence and in position order: position t of
// sequence `sequence` reads `token` (and everything before it) and predicts `target`, the token
// at t+1; `loss` is −log p(target) in nats, as computed (before any bucketing or averaging).
using TokenLossFn =
    std::function<void(int64_t sequence, int64_t position, TokenId token, TokenId target, double loss)>;

// UserError when a sequence has fewer than 2 tokens or an option is out of range.
PositionLossResult measure_position_loss(LanguageModel& model, const std::vector<std::vector<TokenId>>& sequences,
                                         const PositionLossOptions& options, const Mitigations& mitigations,
                                         Device device, const LossProgress& progress = {},
                                         const TokenLossFn& on_token = {});

}  // namespace ssm
