// eval/long_context.cpp — passkey retrieval, loss by position and state statistics.
#include "eval/long_context.h"

#include <cmath>
#include <limits>

#include "autograd/grad_mode.h"   // defines: NoGradGuard
#include "core/error.h"
#include "core/philox.h"          // defines: Rng
#include "ops/ops.h"              // defines: slice
#include "train/passkey_prompt.h"  // defines: build_passkey_prompt, random_passkey, passkey_correct

namespace ssm {
namespace {

Tensor as_batch(const std::vector<TokenId>& ids, size_t begin, size_t end, Device device) {
  std::vector<int64_t> v(ids.begin() + static_cast<std::ptrdiff_t>(begin), ids.begin() + static_cast<std::ptrdiff_t>(end));
  const int64_t n = static_cast<int64_t>(v.size());
  return Tensor::from_vector(v, {1, n}).to(device);
}

// Index of the largest logit in a row.
TokenId argmax(const std::vector<float>& row) {
  size_t best = 0;
  for (size_t i = 1; i < row.size(); ++i) {
    if (row[i] > row[best]) best = i;
  }
  return static_cast<TokenId>(best);
}

// -log softmax(row)[target], in double.
double nll(const float* row, int64_t V, TokenId target) {
  double mx = row[0];
  for (int64_t v = 1; v < V; ++v) mx = std::max(mx, static_cast<double>(row[v]));
  double sum = 0;
  for (int64_t v = 0; v < V; ++v) sum += std::exp(row[v] - mx);
  return mx + std::log(sum) - row[target];
}

}  // namespace

std::vector<TokenId> greedy_generate(LanguageModel& model, const std::vector<TokenId>& prompt, int64_t max_new,
                                     int64_t prefill_chunk, Device device) {
  autograd::NoGradGuard no_grad;
  SSM_USER_CHECK(!prompt.empty(), "greedy_generate: empty prompt");
  RecurrentState state = model.init_state(1, device);
  Tensor last;
  for (size_t s = 0; s < prompt.size(); s += prefill_chunk) {
    const size_t e = std::min(prompt.size(), s + static_cast<size_t>(prefill_chunk));
    Tensor logits = model.forward(as_batch(prompt, s, e, device), &state);
    last = ops::slice(logits, 1, logits.size(1) - 1, logits.size(1));
  }
  std::vector<TokenId> out;
  for (int64_t i = 0; i < max_new; ++i) {
    const TokenId next = argmax(last.to(Device::cpu()).to_vector<float>());
    out.push_back(next);
    if (i + 1 == max_new) break;
    last = model.step(Tensor::from_vector<int64_t>({next}, {1}).to(device), state);
  }
  return out;
}

PasskeyResult run_passkey(LanguageModel& model, const Tokenizer& tokenizer, const PasskeyOptions& options,
                          Device device) {
  PasskeyResult result;
  const int64_t n = options.samples_per_length, bins = options.depth_bins;
  result.accuracy_grid.assign(bins, std::vector<double>(options.lengths.size(), std::nan("")));
  for (size_t li = 0; li < options.lengths.size(); ++li) {
    const int64_t length = options.lengths[li];
    std::vector<double> correct_in_bin(bins, 0), count_in_bin(bins, 0);
    int64_t correct = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double depth = (static_cast<double>(i) + 0.5) / static_cast<double>(n);
      Rng rng(Rng::derive(options.seed, static_cast<uint64_t>(length) * 100003u + static_cast<uint64_t>(i)));
      const PasskeyPrompt prompt = build_passkey_prompt(tokenizer, length, depth, random_passkey(rng));
      const std::vector<TokenId> generated_ids = greedy_generate(model, tokenizer.encode(prompt.text),
                                                                 options.max_new_tokens, options.prefill_chunk, device);
      PasskeySample sample{length, prompt.num_tokens, depth, prompt.answer, tokenizer.decode(generated_ids), false};
      sample.correct = passkey_correct(sample.generated, sample.key);
      correct += sample.correct;
      // Bin b holds depths in (b/R, (b+1)/R].
      const int64_t bin = std::clamp<int64_t>(static_cast<int64_t>(std::ceil(depth * bins)) - 1, 0, bins - 1);
      correct_in_bin[bin] += sample.correct;
      count_in_bin[bin] += 1;
      result.samples.push_back(std::move(sample));
    }
    result.accuracy_by_length.push_back(static_cast<double>(correct) / static_cast<double>(std::max<int64_t>(n, 1)));
    for (int64_t b = 0; b < bins; ++b) {
      if (count_in_bin[b] > 0) result.accuracy_grid[b][li] = correct_in_bin[b] / count_in_bin[b];
    }
  }
  return result;
}

std::vector<double> per_token_loss(LanguageModel& model, const std::vector<TokenId>& tokens, int64_t chunk,
                                   Device device) {
  autograd::NoGradGuard no_grad;
  std::vector<double> losses;
  if (tokens.size() < 2) return losses;
  losses.reserve(tokens.size() - 1);
  RecurrentState state = model.init_state(1, device);
  const int64_t V = model.vocab_size();
  for (size_t s = 0; s + 1 < tokens.size(); s += chunk) {
    // Positions s..e-1 predict s+1..e; the state carries everything before s.
    const size_t e = std::min(tokens.size() - 1, s + static_cast<size_t>(chunk));
    std::vector<float> logits = model.forward(as_batch(tokens, s, e, device), &state).to(Device::cpu()).to_vector<float>();
    for (size_t t = s; t < e; ++t) losses.push_back(nll(logits.data() + (t - s) * V, V, tokens[t + 1]));
  }
  return losses;
}

std::vector<double> bucket_means(const std::vector<double>& values, int64_t bucket) {
  std::vector<double> means;
  for (size_t s = 0; s < values.size(); s += bucket) {
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
    if (static_cast<int64_t>(k) >= window) sum -= values[k - window];
    out[k] = sum / static_cast<double>(std::min<int64_t>(static_cast<int64_t>(k) + 1, window));
  }
  return out;
}

std::optional<int64_t> collapse_onset(const std::vector<double>& bucket_mean, int64_t bucket, int64_t train_length) {
  double baseline = -std::numeric_limits<double>::infinity();
  for (size_t k = 0; k < bucket_mean.size(); ++k) {
    if (static_cast<int64_t>(k + 1) * bucket <= train_length) baseline = std::max(baseline, bucket_mean[k]);
  }
  if (!std::isfinite(baseline)) return std::nullopt;  // nothing measured within the training length
  for (size_t k = 0; k < bucket_mean.size(); ++k) {
    const int64_t start = static_cast<int64_t>(k) * bucket;
    if (start >= train_length && bucket_mean[k] > 2 * baseline) return start;
  }
  return std::nullopt;
}

std::vector<StateStatRow> state_statistics(LanguageModel& model, const std::vector<TokenId>& tokens, int64_t chunk,
                                           Device device) {
  autograd::NoGradGuard no_grad;
  std::vector<StateStatRow> rows;
  RecurrentState state = model.init_state(1, device);
  for (size_t s = 0; s < tokens.size(); s += chunk) {
    const size_t e = std::min(tokens.size(), s + static_cast<size_t>(chunk));
    model.forward(as_batch(tokens, s, e, device), &state);
    for (size_t layer = 0; layer < state.layers.size(); ++layer) {
      const Tensor& h = state.layers[layer].at(model.recurrent_state_name());  // (1, H, ...)
      const std::vector<double> v = h.to(Device::cpu()).to_vector<double>();
      const int64_t H = h.size(1), per_head = h.numel() / H;
      for (int64_t head = 0; head < H; ++head) {
        double sum = 0, sq = 0;
        for (int64_t i = 0; i < per_head; ++i) {
          const double x = v[head * per_head + i];
          sum += x;
          sq += x * x;
        }
        const double mean = sum / per_head;
        const double var = per_head > 1 ? (sq - per_head * mean * mean) / (per_head - 1) : 0.0;
        rows.push_back({static_cast<int64_t>(e), static_cast<int64_t>(layer), head, mean, var,
                        std::sqrt(sq / per_head), std::sqrt(sq)});
      }
    }
  }
  return rows;
}

}  // namespace ssm
