// models/mamba1.cpp — the Mamba-1 model: mamba_ssm's init, the selective-SSM mixer, the block stack.
#include "models/mamba1.h"

#include <cmath>

#include "core/error.h"                 // defines: SSM_USER_CHECK
#include "core/philox.h"                // defines: Rng
#include "ops/ops.h"                    // defines: linear, causal_conv1d, softplus, ...
#include "models/mitigated_scan.h"     // defines: mitigated_selective_scan, mitigated_delta, ...

namespace ssm {

Mamba1Model::Mamba1Model(const ModelConfig& cfg, int64_t vocab_size, uint64_t seed, Dtype dtype, bool initialize)
    : cfg_(cfg),
      dt_rank_(mamba1_dt_rank(cfg)),
      vocab_padded_(round_up(vocab_size, std::max<int64_t>(cfg.pad_vocab_multiple, 1))) {
  init_parameters(ParameterFactory(seed, dtype, initialize));
  set_scan_choice(cfg.scan);
}

void Mamba1Model::init_parameters(const ParameterFactory& init) {
  const int64_t D = cfg_.d_model, E = d_inner(), N = cfg_.d_state, W = cfg_.d_conv, R = dt_rank_;
  embedding_ = init.normal({vocab_padded_, D}, 0.02, -1, 0);
  norm_f_ = init.constant({D}, 1.0);
  layers_.clear();
  for (int64_t i = 0; i < cfg_.n_layer; ++i) {
    Layer l;
    l.norm = init.constant({D}, 1.0);
    l.in_proj = init.torch_default({2 * E, D}, D, i, 1);
    l.conv_weight = init.torch_default({E, 1, W}, W, i, 2);
    l.conv_bias = init.torch_default({E}, W, i, 3);
    l.x_proj = init.torch_default({R + 2 * N, E}, E, i, 4);
    // dt_proj starts at U(±R^-1/2) and its bias at softplus⁻¹(Δ0): every channel starts with its
    // own time scale.
    const double dt_std = 1.0 / std::sqrt(static_cast<double>(R));
    l.dt_proj = init.uniform({E, R}, -dt_std, dt_std, i, 5);
    std::vector<double> dt_bias(E), a_log(E * N);
    Rng rng(init.stream(i, 6));
    for (int64_t e = 0; e < E; ++e) {
      dt_bias[e] = mamba_dt_bias(rng.uniform());
      // S4D-real: A = -(n + 1) in every row.
      for (int64_t n = 0; n < N; ++n) a_log[e * N + n] = std::log(static_cast<double>(n + 1));
    }
    l.dt_bias = init.values({E}, dt_bias);
    l.A_log = init.values({E, N}, a_log);
    l.D = init.constant({E}, 1.0);
    // One residual branch per layer: out_proj is scaled by 1/√L.
    const double bound = 1.0 / std::sqrt(static_cast<double>(E) * static_cast<double>(cfg_.n_layer));
    l.out_proj = init.uniform({D, E}, -bound, bound, i, 7);
    layers_.push_back(std::move(l));
  }
}

std::vector<NamedParameter> Mamba1Model::named_parameters() {
  std::vector<NamedParameter> params;
  params.push_back({"backbone.embedding.weight", embedding_, false});
  for (size_t i = 0; i < layers_.size(); ++i) {
    const std::string p = absl::StrCat("backbone.layers.", i, ".");
    Layer& l = layers_[i];
    params.push_back({p + "norm.weight", l.norm, true});
    params.push_back({p + "mixer.in_proj.weight", l.in_proj, false});
    params.push_back({p + "mixer.conv1d.weight", l.conv_weight, false});
    params.push_back({p + "mixer.conv1d.bias", l.conv_bias, true});
    params.push_back({p + "mixer.x_proj.weight", l.x_proj, false});
    params.push_back({p + "mixer.dt_proj.weight", l.dt_proj, false});
    params.push_back({p + "mixer.dt_proj.bias", l.dt_bias, true});
    params.push_back({p + "mixer.A_log", l.A_log, true});
    params.push_back({p + "mixer.D", l.D, true});
    params.push_back({p + "mixer.out_proj.weight", l.out_proj, false});
  }
  params.push_back({"backbone.norm_f.weight", norm_f_, true});
  return params;
}

RecurrentState Mamba1Model::init_state(int64_t batch, Device device) const {
  RecurrentState state;
  const Dtype dtype = embedding_.dtype();
  for (size_t i = 0; i < layers_.size(); ++i) {
    state.layers.push_back({
        {"ssm", Tensor::zeros({batch, d_inner(), cfg_.d_state}, dtype, device)},
        {"conv", Tensor::zeros({batch, cfg_.d_conv - 1, d_inner()}, dtype, device)},
    });
  }
  return state;
}

Tensor Mamba1Model::mixer(const Layer& l, const Tensor& u, LayerState* state, const ForwardOptions& options,
                          int layer_index) const {
  const int64_t E = d_inner(), N = cfg_.d_state, R = dt_rank_;
  std::vector<Tensor> xz = ops::split(ops::linear(u, l.in_proj), {E, E}, -1);
  ops::ConvResult conv = ops::causal_conv1d(xz[0], ops::reshape(l.conv_weight, {E, cfg_.d_conv}), l.conv_bias,
                                            state ? state->at("conv") : Tensor(), ConvActivation::silu);
  const Tensor& x = conv.y;                                             // silu(conv), (B, T, E)
  std::vector<Tensor> dbc = ops::split(ops::linear(x, l.x_proj), {R, N, N}, -1);
  Tensor delta = ops::softplus(ops::linear(dbc[0], l.dt_proj, l.dt_bias));  // (B, T, E)
  Tensor A = -ops::exp(l.A_log);                                        // (E, N)
  if (options.probe) {  // as the mitigated scan sees them (LanguageModel's Probe)
    const Tensor scaled_delta = mitigated_delta(delta, options.mitigations);
    options.probe(layer_index, "dt", scaled_delta);
    options.probe(layer_index, "log_decay",
                  mitigated_log_decay(ops::unsqueeze(scaled_delta, -1) * A, options.mitigations));  // (B, T, E, N)
    options.probe(layer_index, "B", mitigated_key(dbc[1], options.mitigations));
    options.probe(layer_index, "C", dbc[2]);
    options.probe(layer_index, "x", x);
  }
  if (state) (*state)["conv"] = conv.state;
  ops::SelectiveScanResult scan = mitigated_selective_scan(x, delta, A, dbc[1], dbc[2], options.mitigations, state,
                                                            "ssm", scan_impl_, cfg_.chunk_size);
  Tensor y = scan.y + x * l.D;
  return ops::linear(y * ops::silu(xz[1]), l.out_proj);
}

Tensor Mamba1Model::forward(const Tensor& tokens, RecurrentState* state, const ForwardOptions& options) {
  check_forward_args(tokens, state, options);
  Tensor h = ops::embedding(embedding_, tokens);  // (B, T, D)
  for (size_t i = 0; i < layers_.size(); ++i) {
    LayerState* layer_state = state ? &state->layers[i] : nullptr;
    h = h + mixer(layers_[i], ops::rms_norm(h, layers_[i].norm, cfg_.norm_eps), layer_state, options,
                  static_cast<int>(i));
    if (options.observer && layer_state) options.observer(static_cast<int>(i), *layer_state);
  }
  return ops::linear(ops::rms_norm(h, norm_f_, cfg_.norm_eps), embedding_);  // tied head
}


}  // namespace ssm
