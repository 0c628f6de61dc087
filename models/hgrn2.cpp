// models/hgrn2.cpp — the HGRN-2 model: fla's init and names, the lower-bounded gated token mixer,
// the SwiGLU MLP and the block stack.
#include "models/hgrn2.h"

#include <cmath>

#include "core/error.h"    // defines: SSM_USER_CHECK
#include "ops/ops.h"       // defines: linear, rms_norm, softmax, sigmoid, ...
#include "models/mitigated_scan.h"  // defines: mitigated_gla, mitigated_key, ...
#include "ops/scan/gla.h"            // defines: GlaReadout

namespace ssm {
namespace {

// fla normalises the token mixer's output with rms_norm_linear(o, g_norm.weight, ..., o_proj),
// which does not receive the config's norm_eps and uses its own default, 1e-5. The published
// checkpoints were trained with that, so g_norm keeps 1e-5 while the block norms use norm_eps.
constexpr double kOutputNormEps = 1e-5;

}  // namespace

Hgrn2Model::Hgrn2Model(const ModelConfig& cfg, int64_t vocab_size, uint64_t seed, Dtype dtype, bool initialize)
    : cfg_(cfg), vocab_padded_(round_up(vocab_size, std::max<int64_t>(cfg.pad_vocab_multiple, 1))) {
  SSM_USER_CHECK(cfg.d_model % cfg.headdim == 0, "hgrn2: d_model ", cfg.d_model, " is not a multiple of headdim ",
                 cfg.headdim);
  init_parameters(ParameterFactory(seed, dtype, initialize));
  set_scan_choice(cfg.scan);
}

void Hgrn2Model::init_parameters(const ParameterFactory& init) {
  const int64_t D = cfg_.d_model, F = hgrn2_ffn_width(cfg_);
  // fla: every Linear and the embedding ~ N(0, 0.02), norms 1, lower_bounds 0 (which makes the
  // bounds rise linearly, lb_l = l/L, at the start).
  embedding_ = init.normal({vocab_padded_, D}, 0.02, -1, 0);
  lower_bounds_ = init.constant({cfg_.n_layer, D}, 0.0);
  norm_ = init.constant({D}, 1.0);
  lm_head_ = init.normal({vocab_padded_, D}, 0.02, -1, 1);
  layers_.clear();
  for (int64_t i = 0; i < cfg_.n_layer; ++i) {
    Layer l;
    l.attn_norm = init.constant({D}, 1.0);
    l.q_proj = init.normal({D, D}, 0.02, i, 1);
    l.f_proj = init.normal({D, D}, 0.02, i, 2);
    l.i_proj = init.normal({D, D}, 0.02, i, 3);
    l.g_norm = init.constant({D}, 1.0);
    l.o_proj = init.normal({D, D}, 0.02, i, 4);
    l.mlp_norm = init.constant({D}, 1.0);
    l.gate_proj = init.normal({F, D}, 0.02, i, 5);
    l.up_proj = init.normal({F, D}, 0.02, i, 6);
    l.down_proj = init.normal({D, F}, 0.02, i, 7);
    layers_.push_back(std::move(l));
  }
}

std::vector<NamedParameter> Hgrn2Model::named_parameters() {
  std::vector<NamedParameter> params;
  params.push_back({"model.embeddings.weight", embedding_, false});
  params.push_back({"model.lower_bounds", lower_bounds_, true});
  for (size_t i = 0; i < layers_.size(); ++i) {
    const std::string p = absl::StrCat("model.layers.", i, ".");
    Layer& l = layers_[i];
    params.push_back({p + "attn_norm.weight", l.attn_norm, true});
    params.push_back({p + "attn.q_proj.weight", l.q_proj, false});
    params.push_back({p + "attn.f_proj.weight", l.f_proj, false});
    params.push_back({p + "attn.i_proj.weight", l.i_proj, false});
    params.push_back({p + "attn.g_norm.weight", l.g_norm, true});
    params.push_back({p + "attn.o_proj.weight", l.o_proj, false});
    params.push_back({p + "mlp_norm.weight", l.mlp_norm, true});
    params.push_back({p + "mlp.gate_proj.weight", l.gate_proj, false});
    params.push_back({p + "mlp.up_proj.weight", l.up_proj, false});
    params.push_back({p + "mlp.down_proj.weight", l.down_proj, false});
  }
  params.push_back({"model.norm.weight", norm_, true});
  params.push_back({"lm_head.weight", lm_head_, false});
  return params;
}

RecurrentState Hgrn2Model::init_state(int64_t batch, Device device) const {
  RecurrentState state;
  const Dtype dtype = embedding_.dtype();
  for (size_t i = 0; i < layers_.size(); ++i) {
    state.layers.push_back({{"gla", Tensor::zeros({batch, num_heads(), cfg_.headdim, cfg_.headdim}, dtype, device)}});
  }
  return state;
}

Tensor Hgrn2Model::attention(const Layer& l, const Tensor& u, const Tensor& lower_bound, LayerState* state,
                             const ForwardOptions& options, int layer_index) const {
  const int64_t B = u.size(0), T = u.size(1), D = cfg_.d_model, H = num_heads(), K = cfg_.headdim;
  Tensor q = ops::silu(ops::linear(u, l.q_proj)) * (1.0 / std::sqrt(static_cast<double>(K)));
  Tensor f = ops::linear(u, l.f_proj);
  Tensor v = ops::linear(u, l.i_proj);
  // The forget gate α ∈ (lb, 1); the input gate is its complement. Layer 0 has no bound, and
  // log σ(f) = -softplus(-f) stays finite where σ(f) would underflow.
  Tensor log_alpha, k;
  if (!lower_bound.defined()) {
    log_alpha = -ops::softplus(-f);
    k = 1.0 - ops::sigmoid(f);
  } else {
    Tensor alpha = lower_bound + (1.0 - lower_bound) * ops::sigmoid(f);
    log_alpha = ops::log(alpha);
    k = 1.0 - alpha;
  }
  auto heads = [&](const Tensor& t) { return ops::reshape(t, {B, T, H, K}); };
  if (options.probe) {  // as the mitigated scan sees them (LanguageModel's Probe)
    options.probe(layer_index, "log_decay", mitigated_log_decay(heads(log_alpha), options.mitigations));
    options.probe(layer_index, "q", heads(q));
    options.probe(layer_index, "k", mitigated_key(heads(k), options.mitigations));
    options.probe(layer_index, "v", heads(v));
  }
  ops::GlaResult scan = mitigated_gla(heads(q), heads(k), heads(v), heads(log_alpha), Tensor(),
                                       ops::GlaReadout::post_update, options.mitigations, state, "gla", scan_impl_,
                                       cfg_.chunk_size);
  Tensor o = ops::rms_norm(ops::reshape(scan.o, {B, T, D}), l.g_norm, kOutputNormEps);
  return ops::linear(o, l.o_proj);
}

Tensor Hgrn2Model::forward(const Tensor& tokens, RecurrentState* state, const ForwardOptions& options) {
  check_forward_args(tokens, state, options);
  // lb_l = Σ_{0<i≤l} softmax(lower_bounds)_i: a running sum over the layer axis.
  const Tensor gamma = ops::softmax(lower_bounds_, 0);  // (L, D)
  Tensor lower_bound;                                   // undefined for layer 0
  Tensor h = ops::embedding(embedding_, tokens);        // (B, T, D)
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (i > 0) {
      Tensor gamma_i = ops::reshape(ops::slice(gamma, 0, i, i + 1), {cfg_.d_model});
      lower_bound = lower_bound.defined() ? lower_bound + gamma_i : gamma_i;
    }
    LayerState* layer_state = state ? &state->layers[i] : nullptr;
    const Layer& l = layers_[i];
    h = h + attention(l, ops::rms_norm(h, l.attn_norm, cfg_.norm_eps), lower_bound, layer_state, options,
                      static_cast<int>(i));
    Tensor x = ops::rms_norm(h, l.mlp_norm, cfg_.norm_eps);
    h = h + ops::linear(ops::silu(ops::linear(x, l.gate_proj)) * ops::linear(x, l.up_proj), l.down_proj);
    if (options.observer && layer_state) options.observer(static_cast<int>(i), *layer_state);
  }
  return ops::linear(ops::rms_norm(h, norm_, cfg_.norm_eps), lm_head_);
}


}  // namespace ssm
