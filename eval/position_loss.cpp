// eval/position_loss.cpp — streamed per-token loss, buckets, smoothing and the collapse rule.
#include "eval/position_loss.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_format.h"  // defines: absl::StrFormat
#include "core/error.h"               // defines: SSM_USER_CHECK
#include "eval/inference.h"           // defines: token_batch
#include "eval/state_stream.h"        // defines: StateStream
#include "ops/ops.h"                  // defines: cross_entropy_per_token, reshape

namespace ssm {

std::string PositionLossResult::verdict() const {
  if (!collapse.baseline) return "undetermined (no full bucket within the training length)";
  if (collapse.onset) return absl::StrFormat("collapse at %d tokens", *collapse.onset);
  return absl::StrFormat("no collapse up to %d tokens", length);
}

std::vector<double> bucket_means(const std::vector<double>& values, int64_t bucket) {
  std::vector<double> means;
  for (size_t s = 0; s < values.size(); s += static_cast<size_t>(bucket)) {
    const size_t e = std::min(values.size(), s + static_cast<size_t>(bucket));
    double sum = 0;
    for (size_t i = s; i < e; ++i) sum += values[i];
    means.push_back(sum / static_cast<double>(e - s));
  }
  return means;
}

std::vector<double> moving_average(const std::vector<double>& values, int64_t window) {
  std::vector<double> out(values.size());
  double sum = 0;
  for (size_t k = 0; k < values.size(); ++k) {
    sum += values[k];
    if (static_cast<int64_t>(k) >= window) sum -= values[k - static_cast<size_t>(window)];
    out[k] = sum / static_cast<double>(std::min<int64_t>(static_cast<int64_t>(k) + 1, window));
  }
  return out;
}

CollapseVerdict detect_collapse(const std::vector<double>& curve, int64_t bucket, int64_t train_length,
                                int64_t skip_buckets) {
  CollapseVerdict v;
  size_t first_outside = curve.size();  // the first bucket not wholly within the training length
  for (size_t k = 0; k < curve.size(); ++k) {
    if (static_cast<int64_t>(k + 1) * bucket > train_length) {
      first_outside = k;
      break;
    }
    if (static_cast<int64_t>(k) >= skip_buckets) v.baseline = std::max(v.baseline.value_or(-INFINITY), curve[k]);
  }
  if (!v.baseline) return v;
  for (size_t k = first_outside; k < curve.size(); ++k) {
    if (curve[k] > 2 * *v.baseline) {
      v.onset = static_cast<int64_t>(k) * bucket;
      break;
    }
  }
  return v;
}

PositionLossResult measure_position_loss(LanguageModel& model, const std::vector<std::vector<TokenId>>& sequences,
                                         const PositionLossOptions& o, const Mitigations& mitigations, Device device,
                                         const LossProgress& progress, const TokenLossFn& on_token) {
  SSM_USER_CHECK(!sequences.empty(), "loss by position: no sequences to evaluate");
  SSM_USER_CHECK(o.bucket > 0 && o.smooth > 0 && o.chunk > 0 && o.skip_buckets >= 0,
                 "loss by position: bucket, smoothing and chunk must be positive (got ", o.bucket, ", ", o.smooth,
                 ", ", o.chunk, ")");
  int64_t total = 0, length = 0;
  for (const auto& seq : sequences) {
    SSM_USER_CHECK(seq.size() >= 2, "loss by position: a sequence has ", seq.size(), " tokens; at least 2 are needed");
    total += static_cast<int64_t>(seq.size()) - 1;
    length = std::max<int64_t>(length, static_cast<int64_t>(seq.size()));
  }

  PositionLossResult r;
  r.bucket = o.bucket;
  r.length = length;
  r.sequences = static_cast<int64_t>(sequences.size());
  const size_t buckets = static_cast<size_t>((length - 1 + o.bucket - 1) / o.bucket);
  std::vector<double> sum(buckets, 0.0), count(buckets, 0.0);
  double within = 0, beyond = 0, n_within = 0, n_beyond = 0;
  int64_t done = 0;

  StateStream stream(model, device, mitigations, o.chunk);
  for (size_t i = 0; i < sequences.size(); ++i) {
    const std::vector<TokenId>& seq = sequences[i];
    stream.reset();
    // Positions [begin, end) predict tokens [begin + 1, end + 1); the last token is only a target.
    stream.feed(seq, 0, seq.size() - 1, [&](const Tensor& logits, int64_t begin, int64_t end) {
      const Tensor targets = token_batch(seq, static_cast<size_t>(begin + 1), static_cast<size_t>(end + 1), device);
      const Tensor nll = ops::cross_entropy_per_token(ops::reshape(logits, {end - begin, logits.size(-1)}),
                                                      ops::reshape(targets, {end - begin}));
      const std::vector<double> losses = nll.to_vector<double>();  // (T) crosses to the CPU, not (T, V)
      for (int64_t t = begin; t < end; ++t) {
        const double l = losses[static_cast<size_t>(t - begin)];
        sum[static_cast<size_t>(t / o.bucket)] += l;
        count[static_cast<size_t>(t / o.bucket)] += 1;
        (t < o.train_length ? within : beyond) += l;
        (t < o.train_length ? n_within : n_beyond) += 1;
        if (on_token) {
          on_token(static_cast<int64_t>(i), t, seq[static_cast<size_t>(t)], seq[static_cast<size_t>(t + 1)], l);
        }
      }
      done += end - begin;
      if (progress) progress(done, total);
    });
    r.rescaled_heads += stream.rescaled_heads();
  }
  for (size_t k = 0; k < buckets; ++k) r.bucket_loss.push_back(count[k] > 0 ? sum[k] / count[k] : std::nan(""));
  r.smoothed = moving_average(r.bucket_loss, o.smooth);
  r.collapse = detect_collapse(r.smoothed, o.bucket, o.train_length, o.skip_buckets);
  r.loss_within = n_within > 0 ? within / n_within : std::nan("");
  r.loss_beyond = n_beyond > 0 ? beyond / n_beyond : std::nan("");
  return r;
}

}  // namespace ssm
