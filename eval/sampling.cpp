// eval/sampling.cpp — greedy and temperature / top-k / top-p sampling (eval/sampling.h).
#include "eval/sampling.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "absl/strings/str_cat.h"  // defines: absl::StrCat
#include "core/error.h"            // defines: SSM_USER_CHECK, SSM_CHECK
#include "ops/ops.h"               // defines: slice

namespace ssm {

void check_sampling_options(const SamplingOptions& o) {
  SSM_USER_CHECK(std::isfinite(o.temperature) && o.temperature >= 0,
                 "--temperature must be a finite number >= 0 (0: greedy), got ", o.temperature);
  SSM_USER_CHECK(o.top_k >= 0, "--top-k must be >= 0 (0: no limit), got ", o.top_k);
  SSM_USER_CHECK(o.top_p > 0 && o.top_p <= 1, "--top-p must be in (0, 1] (1: no limit), got ", o.top_p);
}

TokenSampler::TokenSampler(const SamplingOptions& options, int64_t vocab)
    : options_(options), vocab_(vocab), state_(options.seed) {
  check_sampling_options(options);
  SSM_CHECK(vocab > 0, "TokenSampler: vocabulary of ", vocab, " ids");
}

double TokenSampler::uniform() {
  // splitmix64: a fixed, portable generator (std::uniform_real_distribution's output is not
  // specified across standard libraries, and the same seed must give the same text everywhere).
  state_ += 0x9E3779B97F4A7C15ull;
  uint64_t z = state_;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

TokenId TokenSampler::next(const Tensor& logits) {
  const Tensor last = logits.dim() == 3 ? ops::slice(logits, 1, logits.size(1) - 1, logits.size(1)) : logits;
  const Tensor cpu = last.device() == Device::cpu() ? last : last.to(Device::cpu());
  const std::vector<double> row = cpu.to_vector<double>();
  return next_from_row(row.data(), static_cast<int64_t>(row.size()));
}

TokenId TokenSampler::next_from_row(const double* logits, int64_t size) {
  SSM_CHECK(size >= vocab_, "TokenSampler: ", size, " logits for a vocabulary of ", vocab_);
  if (options_.temperature == 0) {
    return static_cast<TokenId>(std::max_element(logits, logits + vocab_) - logits);  // the first largest
  }
  // Ids by logit, largest first, lower id first on ties; only the top_k need to be ordered.
  std::vector<int64_t> ids(static_cast<size_t>(vocab_));
  std::iota(ids.begin(), ids.end(), 0);
  const auto before = [&](int64_t a, int64_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
  const int64_t k = options_.top_k > 0 ? std::min(options_.top_k, vocab_) : vocab_;
  std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), before);
  ids.resize(static_cast<size_t>(k));

  // Softmax of z / temperature over the kept ids, from the largest (exp(0) = 1: no overflow).
  std::vector<double> p(ids.size());
  const double top = logits[ids.front()];
  double total = 0;
  for (size_t i = 0; i < ids.size(); ++i) total += p[i] = std::exp((logits[ids[i]] - top) / options_.temperature);
  // The nucleus: the shortest prefix whose share of the mass reaches top_p.
  size_t keep = ids.size();
  if (options_.top_p < 1) {
    double mass = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
      mass += p[i] / total;
      if (mass >= options_.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  double kept = 0;
  for (size_t i = 0; i < keep; ++i) kept += p[i];
  const double u = uniform() * kept;
  double acc = 0;
  for (size_t i = 0; i < keep; ++i) {
    acc += p[i];
    if (u < acc) return static_cast<TokenId>(ids[i]);
  }
  return static_cast<TokenId>(ids[keep - 1]);  // u within rounding of the total
}

std::string TokenSampler::describe() const {
  if (options_.temperature == 0) return "greedy";
  return absl::StrCat("temperature ", options_.temperature, options_.top_k > 0 ? absl::StrCat(", top-k ", options_.top_k) : "",
                      options_.top_p < 1 ? absl::StrCat(", top-p ", options_.top_p) : "", ", seed ", options_.seed);
}

}  // namespace ssm
