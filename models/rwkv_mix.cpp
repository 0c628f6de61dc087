// models/rwkv_mix.cpp — RWKV's two mixes: TimeMix (the WKV recurrence and what feeds it) and
// ChannelMix (a token-shifted squared-ReLU MLP), for both x052 (RWKV-5) and x060 (RWKV-6).
//
// The two versions lerp between the current and the previous token with opposite conventions
// (docs/architectures.md, pitfalls): v5 writes x⊙μ + x'⊙(1-μ), v6 writes x + (x'-x)⊙μ. Both are spelled out
// below instead of being unified, because the stored μ's mean different things.
#include "core/error.h"    // defines: SSM_CHECK
#include "models/rwkv.h"
#include "ops/ops.h"       // defines: linear, matmul, concat, slice, tanh, ...
#include "models/mitigated_scan.h"  // defines: mitigated_gla, mitigated_key, ...
#include "ops/scan/gla.h"            // defines: GlaReadout

namespace ssm {
namespace {

// The previous token's input for every position: x'_t = x_{t-1}, and x'_0 = the carried state
// (zeros at the start of a document). Replaces the state with the last input.
Tensor token_shift(const Tensor& x, LayerState* state, const char* key) {
  const int64_t B = x.size(0), T = x.size(1), D = x.size(2);
  Tensor first = state ? ops::reshape(state->at(key), {B, 1, D}) : Tensor::zeros({B, 1, D}, x.dtype(), x.device());
  Tensor shifted = T > 1 ? ops::concat({first, ops::slice(x, 1, 0, T - 1)}, 1) : first;
  if (state) (*state)[key] = ops::reshape(ops::slice(x, 1, T - 1, T), {B, D});
  return shifted;
}

// v5 lerp: x⊙μ + x'⊙(1-μ) = x' + (x - x')⊙μ.
Tensor lerp_v5(const Tensor& x, const Tensor& prev, const Tensor& mu) { return prev + (x - prev) * mu; }

}  // namespace

Tensor RwkvModel::time_mix(const TimeMix& att, const Tensor& x, LayerState* state, const ForwardOptions& options,
                           int layer_index) const {
  const int64_t B = x.size(0), T = x.size(1), D = cfg_.d_model, H = num_heads(), K = cfg_.headdim;
  const Tensor prev = token_shift(x, state, "att_shift");
  Tensor xr, xk, xv, xg, log_decay;
  if (!v6()) {
    xk = lerp_v5(x, prev, att.mix[0]);
    xv = lerp_v5(x, prev, att.mix[1]);
    xr = lerp_v5(x, prev, att.mix[2]);
    xg = lerp_v5(x, prev, att.mix[3]);
    // A constant decay per head and channel, the same at every step.
    log_decay = ops::reshape(-ops::exp(att.decay), {1, 1, H, K}) + Tensor::zeros({B, T, H, K}, x.dtype(), x.device());
  } else {
    const Tensor delta = prev - x;
    // ddlerp: a low-rank, data-dependent correction m_s to each slot's mixing coefficient.
    const int64_t rm = att.maa_w1.size(1) / 5;
    Tensor lora_in = ops::tanh(ops::matmul(x + delta * att.mix[0], att.maa_w1));  // (B, T, 5·rm)
    Tensor per_slot = ops::reshape(ops::permute(ops::reshape(lora_in, {B * T, 5, rm}), {1, 0, 2}), {5, B * T, rm});
    Tensor m = ops::matmul(per_slot, att.maa_w2);  // (5, B·T, D), slots w, k, v, r, g
    auto slot = [&](int64_t s) {
      Tensor ms = ops::reshape(ops::slice(m, 0, s, s + 1), {B, T, D});
      return x + delta * (att.mix[1 + s] + ms);
    };
    const Tensor xw = slot(0);
    xk = slot(1);
    xv = slot(2);
    xr = slot(3);
    xg = slot(4);
    // The decay itself is data dependent: log w_t = -exp(time_decay + tanh(x_w·Wd1)·Wd2).
    Tensor w_raw = att.decay + ops::matmul(ops::tanh(ops::matmul(xw, att.decay_w1)), att.decay_w2);
    log_decay = ops::reshape(-ops::exp(w_raw), {B, T, H, K});
  }
  Tensor r = ops::reshape(ops::linear(xr, att.receptance), {B, T, H, K});
  Tensor k = ops::reshape(ops::linear(xk, att.key), {B, T, H, K});
  Tensor v = ops::reshape(ops::linear(xv, att.value), {B, T, H, K});
  Tensor g = ops::silu(ops::linear(xg, att.gate));
  if (options.probe) {  // as the mitigated scan sees them (LanguageModel's Probe)
    options.probe(layer_index, "log_decay", mitigated_log_decay(log_decay, options.mitigations));
    options.probe(layer_index, "r", r);
    options.probe(layer_index, "k", mitigated_key(k, options.mitigations));
    options.probe(layer_index, "v", v);
  }
  ops::GlaResult wkv = mitigated_gla(r, k, v, log_decay, att.bonus, ops::GlaReadout::pre_update_bonus,
                                      options.mitigations, state, "wkv", scan_impl_, cfg_.chunk_size);
  Tensor o = ops::group_norm(ops::reshape(wkv.o, {B, T, D}), att.ln_x.weight, att.ln_x.bias, H, cfg_.group_norm_eps);
  return ops::linear(o * g, att.output);
}

Tensor RwkvModel::channel_mix(const ChannelMix& ffn, const Tensor& x, LayerState* state) const {
  const Tensor prev = token_shift(x, state, "ffn_shift");
  Tensor xk, xr;
  if (!v6()) {
    xk = lerp_v5(x, prev, ffn.mix_k);
    xr = lerp_v5(x, prev, ffn.mix_r);
  } else {
    const Tensor delta = prev - x;
    xk = x + delta * ffn.mix_k;
    xr = x + delta * ffn.mix_r;
  }
  Tensor hidden = ops::square(ops::relu(ops::linear(xk, ffn.key)));  // (B, T, F)
  return ops::sigmoid(ops::linear(xr, ffn.receptance)) * ops::linear(hidden, ffn.value);
}

}  // namespace ssm
