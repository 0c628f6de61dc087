// eval/state_stats.cpp — the state-statistics measurement: one pass over the input in
// `chunk`-token forward calls, a probe for the per-token internals, readings after each call.
#include "eval/state_stats.h"

#include <cmath>
#include <set>

#include "absl/strings/str_format.h"  // defines: absl::StrFormat
#include "core/error.h"               // defines: SSM_USER_CHECK
#include "eval/state_stream.h"        // defines: StateStream
#include "ops/ops.h"                  // defines: mean, sum, square, exp, slice, ...

namespace ssm {
namespace {

// Every dim of `t` except `keep` (keep < 0: all of them).
std::vector<int64_t> all_dims_but(const Tensor& t, int64_t keep) {
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < t.dim(); ++d) {
    if (d != keep) dims.push_back(d);
  }
  return dims;
}

// Per-group mean and unbiased variance over the reduced dims, read on the CPU.
std::pair<std::vector<double>, std::vector<double>> grouped_moments(const Tensor& v, int64_t group_dim) {
  const std::vector<int64_t> dims = all_dims_but(v, group_dim);
  const int64_t groups = group_dim >= 0 ? v.size(group_dim) : 1;
  const double n = static_cast<double>(v.numel() / groups);
  const Tensor mean = ops::mean(v, dims, true);
  const Tensor var = ops::sum(ops::square(v - mean), dims) * (1.0 / std::max(n - 1, 1.0));
  return {mean.to_vector<double>(), var.to_vector<double>()};
}

std::string coordinates(int64_t flat, const Shape& head_shape, const std::vector<std::string>& names) {
  std::string out;
  for (int64_t d = static_cast<int64_t>(head_shape.size()) - 1, rest = flat; d >= 0; --d) {
    out = absl::StrFormat("%s=%d", names[static_cast<size_t>(d)], rest % head_shape[static_cast<size_t>(d)]) +
          (out.empty() ? "" : " ") + out;
    rest /= head_shape[static_cast<size_t>(d)];
  }
  return out;
}

}  // namespace

StateStatsResult measure_state_statistics(LanguageModel& model, const std::vector<TokenId>& tokens,
                                          const StateStatsOptions& o, const Mitigations& mitigations, Device device) {
  const int64_t L = model.num_layers();
  const std::string key = model.recurrent_state_name();
  const Tensor h0 = model.init_state(1, Device::cpu()).layers.at(0).at(key);
  const int64_t H = h0.size(1);
  const Shape head_shape(h0.shape().begin() + 2, h0.shape().end());
  SSM_USER_CHECK(o.chunk > 0 && o.top_k >= 0 && o.histogram_bins > 0,
                 "state statistics: chunk, top-k and histogram bins must be positive");
  SSM_USER_CHECK(static_cast<int64_t>(tokens.size()) >= o.chunk, "state statistics: the input has ", tokens.size(),
                 " tokens, fewer than one chunk of ", o.chunk);
  // One forward call per reading: the state norm's schedule must not split a chunk.
  SSM_USER_CHECK(!mitigations.state_norm || mitigations.norm_every % o.chunk == 0, "state statistics: --chunk (",
                 o.chunk, ") must divide the state norm's interval of ", mitigations.norm_every, " tokens");

  StateStatsResult r;
  r.state_name = key;
  r.tokens = static_cast<int64_t>(tokens.size());
  r.layers = o.layers;
  r.heads = o.heads;
  if (r.layers.empty()) for (int64_t l = 0; l < L; ++l) r.layers.push_back(l);
  if (r.heads.empty()) for (int64_t h = 0; h < H; ++h) r.heads.push_back(h);
  for (int64_t l : r.layers) SSM_USER_CHECK(l >= 0 && l < L, "--layers: layer ", l, " does not exist (the model has ", L, ")");
  for (int64_t h : r.heads) SSM_USER_CHECK(h >= 0 && h < H, "--heads: head ", h, " does not exist (layers have ", H, ")");
  const std::set<int64_t> layer_set(r.layers.begin(), r.layers.end()), head_set(r.heads.begin(), r.heads.end());

  const ScanMitigations& c = mitigations.scan;
  std::vector<std::vector<double>> log_retention(static_cast<size_t>(L));  // Σ_{j≥2} log α_j per (head, channel)
  std::vector<std::vector<double>> alpha_now(static_cast<size_t>(L));      // this chunk's mean α_t per head

  StateStream stream(model, device, mitigations, o.chunk);
  stream.options().probe = [&](int layer, const std::string& name, const Tensor& value) {
    if (!layer_set.count(layer)) return;
    const int64_t start = stream.position(), end = start + value.size(1);
    // The probes already carry the mitigations (LanguageModel's Probe): "log_decay" is log(λ·α)
    // with α from c·Δ, "dt" is c·Δ, "B" and "k" carry γ.
    if (name == "log_decay") {
      alpha_now[layer] = ops::mean(ops::exp(value), all_dims_but(value, 2)).to_vector<double>();
      // The first token's retention starts with token 2's decay.
      const Tensor tail = start == 0 ? ops::slice(value, 1, 1, value.size(1)) : value;
      if (tail.size(1) == 0) return;
      const std::vector<double> sums = ops::sum(tail, {0, 1}).to_vector<double>();
      std::vector<double>& acc = log_retention[layer];
      if (acc.empty()) acc.assign(sums.size(), 0.0);
      for (size_t i = 0; i < sums.size(); ++i) acc[i] += sums[i];
      return;
    }
    if (name != "dt" && name != "B" && name != "x" && name != "k" && name != "v") return;
    // Per head along dim 2, except Mamba's B, which is shared by the heads of a group.
    const bool per_head = name != "B";
    const int64_t group_dim = value.dim() >= 4 || per_head ? 2 : -1;
    const auto [mean, var] = grouped_moments(value, group_dim);
    for (size_t g = 0; g < mean.size(); ++g) {
      const int64_t group = group_dim < 0 ? -1 : static_cast<int64_t>(g);
      if (per_head && !head_set.count(group)) continue;
      r.inputs.push_back({end, layer, group, name, mean[g], var[g]});
    }
  };

  const int64_t n = r.tokens;
  const int64_t target = (o.train_length > 0 && o.train_length < n) ? o.train_length : n / 2;
  std::vector<std::vector<double>> before(static_cast<size_t>(L));  // snapshots of selected layers
  for (int64_t s = 0; s < n; s += o.chunk) {
    const int64_t e = std::min(n, s + o.chunk);
    stream.feed(tokens, static_cast<size_t>(s), static_cast<size_t>(e));
    const bool take_before = r.before_position == 0 && e >= target;
    if (take_before) r.before_position = e;
    for (int64_t l : r.layers) {
      const Tensor h = readout_state(model, stream.state().layers[static_cast<size_t>(l)], static_cast<int>(l), c);
      const auto [mean, var] = grouped_moments(h, 1);
      const std::vector<double> ms = ops::mean(ops::square(h), all_dims_but(h, 1)).to_vector<double>();
      const double per_head = static_cast<double>(h.numel() / H);
      const std::vector<double>& acc = log_retention[l];
      const int64_t channels = acc.empty() ? 1 : static_cast<int64_t>(acc.size()) / H;
      for (int64_t head : r.heads) {
        r.moments.push_back({e, l, head, mean[head], var[head], std::sqrt(ms[head]), std::sqrt(ms[head] * per_head)});
        double first = 0;  // mean over the head's channels of exp(Σ log α)
        for (int64_t ch = 0; ch < channels; ++ch) first += acc.empty() ? 1.0 : std::exp(acc[head * channels + ch]);
        first /= static_cast<double>(channels);
        if (c.window > 0 && e > c.window) first = 0;  // token 1 has left the window
        const double alpha = alpha_now[l].empty() ? std::nan("") : alpha_now[l][head];
        r.retention.push_back({e, l, head, alpha, first});
      }
      if (take_before) before[l] = h.to_vector<double>();
    }
  }
  r.after_position = n;
  r.rescaled_heads = stream.rescaled_heads();

  // Outliers and histograms: the selected heads between the two snapshots.
  const std::vector<std::string> names = model.state_axis_names();
  SSM_CHECK(names.size() == head_shape.size(), model.architecture(), " names ", names.size(),
            " state axes after (batch, head), its state has ", head_shape.size());
  const int64_t per_head = shape_numel(head_shape);
  for (int64_t l : r.layers) {
    const std::vector<double> after =
        readout_state(model, stream.state().layers[static_cast<size_t>(l)], static_cast<int>(l), c).to_vector<double>();
    for (int64_t head : r.heads) {
      const auto slice_of = [&](const std::vector<double>& v) {
        return std::vector<double>(v.begin() + head * per_head, v.begin() + (head + 1) * per_head);
      };
      const std::vector<double> b = slice_of(before[l]), a = slice_of(after);
      const std::vector<int64_t> top = top_growth(b, a, o.top_k);
      for (size_t k = 0; k < top.size(); ++k) {
        r.outliers.push_back({l, head, static_cast<int64_t>(k) + 1, coordinates(top[k], head_shape, names), b[top[k]],
                              a[top[k]]});
      }
      HeadHistogram hist = joint_histogram(b, a, o.histogram_bins);
      hist.layer = l, hist.head = head;
      hist.top_k_growth_share = growth_share(b, a, top);
      r.histograms.push_back(std::move(hist));
    }
  }
  return r;
}

}  // namespace ssm
