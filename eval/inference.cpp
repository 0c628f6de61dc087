// eval/inference.cpp — shared inference helpers for the evaluators.
#include "eval/inference.h"

#include "core/error.h"  // defines: SSM_CHECK
#include "ops/ops.h"     // defines: slice

namespace ssm {

Tensor token_batch(const std::vector<TokenId>& tokens, size_t begin, size_t end, Device device) {
  SSM_CHECK(begin <= end && end <= tokens.size(), "token_batch: bad range [", begin, ", ", end, ") of ", tokens.size());
  std::vector<int64_t> ids(tokens.begin() + static_cast<std::ptrdiff_t>(begin),
                           tokens.begin() + static_cast<std::ptrdiff_t>(end));
  const int64_t n = static_cast<int64_t>(ids.size());
  return Tensor::from_vector<int64_t>(ids, {1, n}).to(device);
}

TokenId greedy_token(const Tensor& logits) {
  // Only the last row crosses to the CPU: V floats, not T·V.
  const Tensor last = logits.dim() == 3 ? ops::slice(logits, 1, logits.size(1) - 1, logits.size(1)) : logits;
  Tensor cpu = last.device() == Device::cpu() ? last : last.to(Device::cpu());
  const std::vector<double> row = cpu.to_vector<double>();
  SSM_CHECK(!row.empty(), "greedy_token: empty logits ", logits.str());
  size_t best = 0;
  for (size_t v = 1; v < row.size(); ++v) {
    if (row[v] > row[best]) best = v;
  }
  return static_cast<TokenId>(best);
}

RecurrentState clone_state(const RecurrentState& state) {
  RecurrentState out;
  for (const LayerState& layer : state.layers) {
    LayerState copy;
    for (const auto& [name, t] : layer) copy[name] = t.defined() ? t.clone_contiguous() : t;
    out.layers.push_back(std::move(copy));
  }
  return out;
}

}  // namespace ssm
