// models/rwkv.cpp — the RWKV-5/6 model: RWKV-LM's init, the official parameter names, the block
// stack. The two mixes themselves are in models/rwkv_mix.cpp.
#include "models/rwkv.h"

#include <cmath>

#include "core/error.h"  // defines: SSM_USER_CHECK
#include "ops/ops.h"     // defines: embedding, layer_norm, linear, ...

namespace ssm {
namespace {

// RWKV-LM's per-layer schedules: r01 = l/(L-1) grows 0 -> 1 with depth, r1a0 = 1 - l/L falls
// 1 -> ~0; ddd_i = i/D ramps over the channels.
struct LayerRatios {
  double r01, r1a0;
};
LayerRatios ratios(int64_t layer, int64_t n_layer) {
  return {n_layer > 1 ? static_cast<double>(layer) / static_cast<double>(n_layer - 1) : 0.0,
          1.0 - static_cast<double>(layer) / static_cast<double>(n_layer)};
}

// f(ddd_i) for i < D: the channel ramp every token-shift init is built from.
template <typename F>
std::vector<double> over_channels(int64_t D, F f) {
  std::vector<double> out(D);
  for (int64_t i = 0; i < D; ++i) out[i] = f(static_cast<double>(i) / static_cast<double>(D));
  return out;
}

}  // namespace

RwkvModel::RwkvModel(const ModelConfig& cfg, int64_t vocab_size, uint64_t seed, Dtype dtype, bool initialize)
    : cfg_(cfg), vocab_padded_(round_up(vocab_size, std::max<int64_t>(cfg.pad_vocab_multiple, 1))) {
  SSM_USER_CHECK(cfg.arch == "rwkv5" || cfg.arch == "rwkv6", "RwkvModel: arch must be rwkv5 or rwkv6, got ", cfg.arch);
  SSM_USER_CHECK(cfg.d_model % cfg.headdim == 0, cfg.arch, ": d_model ", cfg.d_model,
                 " is not a multiple of headdim ", cfg.headdim);
  init_parameters(ParameterFactory(seed, dtype, initialize));
  set_scan_choice(cfg.scan);
}

void RwkvModel::init_parameters(const ParameterFactory& init) {
  const int64_t D = cfg_.d_model, L = cfg_.n_layer, H = num_heads(), K = cfg_.headdim;
  const int64_t F = rwkv_ffn_width(cfg_);
  auto norm = [&]() { return LayerNorm{init.constant({D}, 1.0), init.constant({D}, 0.0)}; };
  // Square-or-tall matrices keep unit gain per output; RWKV-LM scales by sqrt(rows/cols).
  auto matrix = [&](int64_t rows, int64_t cols, double scale, int64_t layer, int64_t slot) {
    const double gain = rows > cols ? std::sqrt(static_cast<double>(rows) / static_cast<double>(cols)) : 1.0;
    return init.orthogonal(rows, cols, gain * scale, layer, slot);
  };
  auto row = [&](const std::vector<double>& v) { return init.values({1, 1, D}, v); };

  embedding_ = init.uniform({vocab_padded_, D}, -1e-4, 1e-4, -1, 0);
  ln0_ = norm();
  ln_out_ = norm();
  head_ = matrix(vocab_padded_, D, 0.5, -1, 1);
  blocks_.clear();
  for (int64_t l = 0; l < L; ++l) {
    const auto [r01, r1a0] = ratios(l, L);
    Block b;
    b.ln1 = norm();
    b.ln2 = norm();
    TimeMix& att = b.att;
    // Decay speeds spread from fast (-6) to slow (-1) across channels, slower in deeper layers;
    // the bonus u zig-zags so neighbouring channels differ.
    std::vector<double> decay(D), bonus(D);
    for (int64_t n = 0; n < D; ++n) {
      const double ramp = static_cast<double>(n) / static_cast<double>(D - 1 > 0 ? D - 1 : 1);
      decay[n] = -6.0 + 5.0 * std::pow(ramp, 0.7 + 1.3 * r01);
      bonus[n] = r01 * (1.0 - ramp) + 0.1 * static_cast<double>((n + 1) % 3 - 1);
    }
    att.bonus = init.values({H, K}, bonus);
    const auto pow_r1a0 = over_channels(D, [r1a0 = r1a0](double d) { return std::pow(d, r1a0); });
    const auto pow_half = over_channels(D, [r1a0 = r1a0](double d) { return std::pow(d, 0.5 * r1a0); });
    std::vector<double> pow_v = pow_r1a0;
    for (double& v : pow_v) v += 0.3 * r01;
    auto one_minus = [](std::vector<double> v) {
      for (double& x : v) x = 1.0 - x;
      return v;
    };
    if (!v6()) {
      att.mix = {row(pow_r1a0), row(pow_v), row(pow_half), row(pow_half)};  // k, v, r, g
      att.decay = init.values({H, K}, decay);
    } else {
      const int64_t rm = rwkv6_mix_rank(cfg_), rd = rwkv6_decay_rank(cfg_);
      att.mix = {row(one_minus(pow_r1a0)), row(one_minus(pow_r1a0)), row(one_minus(pow_r1a0)),
                 row(one_minus(pow_v)),    row(one_minus(pow_half)), row(one_minus(pow_half))};  // x, w, k, v, r, g
      att.decay = init.values({1, 1, D}, decay);
      // The LoRAs start as "no data dependence": W1 = 0, W2 small.
      att.maa_w1 = init.constant({D, 5 * rm}, 0.0);
      att.maa_w2 = init.uniform({5, rm, D}, -0.01, 0.01, l, 1);
      att.decay_w1 = init.constant({D, rd}, 0.0);
      att.decay_w2 = init.uniform({rd, D}, -0.01, 0.01, l, 2);
    }
    // Receptance and value at unit gain, key and gate at 0.1, the output at 0: each block
    // starts as the identity on the residual stream.
    att.receptance = matrix(D, D, 1.0, l, 3);
    att.key = matrix(D, D, 0.1, l, 4);
    att.value = matrix(D, D, 1.0, l, 5);
    att.gate = matrix(D, D, 0.1, l, 6);
    att.output = matrix(D, D, 0.0, l, 7);
    att.ln_x = {init.constant({D}, std::pow(static_cast<double>(1 + l) / static_cast<double>(L), 0.7)),
                init.constant({D}, 0.0)};
    // ChannelMix: v5 lerps with ddd^r1a0, v6 with 1 - ddd^(r1a0³).
    const double ffn_exponent = v6() ? r1a0 * r1a0 * r1a0 : r1a0;
    auto ffn_mix = over_channels(D, [&](double d) { return std::pow(d, ffn_exponent); });
    if (v6()) ffn_mix = one_minus(ffn_mix);
    b.ffn.mix_k = row(ffn_mix);
    b.ffn.mix_r = row(ffn_mix);
    b.ffn.key = matrix(F, D, 1.0, l, 8);
    b.ffn.receptance = matrix(D, D, 0.0, l, 9);
    b.ffn.value = matrix(D, F, 0.0, l, 10);
    blocks_.push_back(std::move(b));
  }
}

std::vector<NamedParameter> RwkvModel::named_parameters() {
  std::vector<NamedParameter> params;
  auto add = [&](std::string name, Tensor t, bool no_decay) { params.push_back({std::move(name), t, no_decay}); };
  auto add_norm = [&](const std::string& name, LayerNorm& ln) {
    add(name + ".weight", ln.weight, true);
    add(name + ".bias", ln.bias, true);
  };
  add("emb.weight", embedding_, false);
  add_norm("blocks.0.ln0", ln0_);
  const char* v5_mix[] = {"time_mix_k", "time_mix_v", "time_mix_r", "time_mix_g"};
  const char* v6_mix[] = {"time_maa_x", "time_maa_w", "time_maa_k", "time_maa_v", "time_maa_r", "time_maa_g"};
  for (size_t i = 0; i < blocks_.size(); ++i) {
    const std::string p = absl::StrCat("blocks.", i, ".");
    Block& b = blocks_[i];
    add_norm(p + "ln1", b.ln1);
    add_norm(p + "ln2", b.ln2);
    // The per-channel mixing coefficients, decays and bonus are exempt from weight decay.
    for (size_t s = 0; s < b.att.mix.size(); ++s) add(p + "att." + (v6() ? v6_mix[s] : v5_mix[s]), b.att.mix[s], true);
    if (v6()) {
      add(p + "att.time_maa_w1", b.att.maa_w1, false);
      add(p + "att.time_maa_w2", b.att.maa_w2, false);
    }
    add(p + "att.time_decay", b.att.decay, true);
    if (v6()) {
      add(p + "att.time_decay_w1", b.att.decay_w1, false);
      add(p + "att.time_decay_w2", b.att.decay_w2, false);
    }
    add(p + "att.time_faaaa", b.att.bonus, true);
    add(p + "att.receptance.weight", b.att.receptance, false);
    add(p + "att.key.weight", b.att.key, false);
    add(p + "att.value.weight", b.att.value, false);
    add(p + "att.gate.weight", b.att.gate, false);
    add(p + "att.output.weight", b.att.output, false);
    add_norm(p + "att.ln_x", b.att.ln_x);
    add(p + (v6() ? "ffn.time_maa_k" : "ffn.time_mix_k"), b.ffn.mix_k, true);
    add(p + (v6() ? "ffn.time_maa_r" : "ffn.time_mix_r"), b.ffn.mix_r, true);
    add(p + "ffn.key.weight", b.ffn.key, false);
    add(p + "ffn.receptance.weight", b.ffn.receptance, false);
    add(p + "ffn.value.weight", b.ffn.value, false);
  }
  add_norm("ln_out", ln_out_);
  add("head.weight", head_, false);
  return params;
}

RecurrentState RwkvModel::init_state(int64_t batch, Device device) const {
  RecurrentState state;
  const Dtype dtype = embedding_.dtype();
  const int64_t D = cfg_.d_model, K = cfg_.headdim;
  for (size_t i = 0; i < blocks_.size(); ++i) {
    state.layers.push_back({
        {"att_shift", Tensor::zeros({batch, D}, dtype, device)},
        {"wkv", Tensor::zeros({batch, num_heads(), K, K}, dtype, device)},
        {"ffn_shift", Tensor::zeros({batch, D}, dtype, device)},
    });
  }
  return state;
}

Tensor RwkvModel::layer_norm(const LayerNorm& ln, const Tensor& x) const {
  return ops::layer_norm(x, ln.weight, ln.bias, cfg_.norm_eps);
}

Tensor RwkvModel::forward(const Tensor& tokens, RecurrentState* state, const ForwardOptions& options) {
  check_forward_args(tokens, state, options);
  Tensor x = layer_norm(ln0_, ops::embedding(embedding_, tokens));  // (B, T, D)
  for (size_t i = 0; i < blocks_.size(); ++i) {
    LayerState* layer_state = state ? &state->layers[i] : nullptr;
    const Block& b = blocks_[i];
    x = x + time_mix(b.att, layer_norm(b.ln1, x), layer_state, options, static_cast<int>(i));
    x = x + channel_mix(b.ffn, layer_norm(b.ln2, x), layer_state);
    if (options.observer && layer_state) options.observer(static_cast<int>(i), *layer_state);
  }
  return ops::linear(layer_norm(ln_out_, x), head_);
}


}  // namespace ssm
