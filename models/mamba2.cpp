// models/mamba2.cpp — the Mamba-2 model: parameter init, the mixer, the block stack.
#include "models/mamba2.h"

#include <cmath>

#include "core/error.h"   // defines: SSM_USER_CHECK
#include "core/philox.h"  // defines: Rng
#include "models/mitigated_scan.h"  // defines: mitigated_ssd, mitigated_delta, ...
#include "ops/ops.h"      // defines: linear, causal_conv1d, gated_rms_norm, ...

namespace ssm {

Mamba2Model::Mamba2Model(const ModelConfig& cfg, int64_t vocab_size, uint64_t seed, Dtype dtype, bool initialize)
    : cfg_(cfg), vocab_padded_(round_up(vocab_size, std::max<int64_t>(cfg.pad_vocab_multiple, 1))) {
  // Built directly (not through make_model), the sizes are still checked before d_inner() and
  // the shapes are computed in int64: positive, and counted within 64 bits (models/model_config.h).
  if (const std::string problem = validate_model_config(cfg); !problem.empty()) throw UserError(problem);
  check_model_size(cfg, vocab_size, static_cast<int64_t>(dtype_size(dtype)), /*check_memory=*/initialize);
  SSM_USER_CHECK(d_inner() % cfg.headdim == 0, "mamba2: d_inner ", d_inner(), " is not a multiple of headdim ",
                 cfg.headdim);
  SSM_USER_CHECK(num_heads() % cfg.ngroups == 0, "mamba2: ", num_heads(), " heads do not split into ",
                 cfg.ngroups, " groups");
  init_parameters(ParameterFactory(seed, dtype, initialize));
  set_scan_choice(cfg.scan);
}

void Mamba2Model::init_parameters(const ParameterFactory& init) {
  const int64_t D = cfg_.d_model, E = d_inner(), H = num_heads(), W = cfg_.d_conv;
  const int64_t GN = cfg_.ngroups * cfg_.d_state;
  const bool hf = cfg_.init == "hf";
  embedding_ = init.normal({vocab_padded_, D}, 0.02, -1, 0);
  norm_f_ = init.constant({D}, 1.0);
  layers_.clear();
  for (int64_t i = 0; i < cfg_.n_layer; ++i) {
    Layer l;
    l.norm = init.constant({D}, 1.0);
    l.in_proj = init.torch_default({2 * E + 2 * GN + H, D}, D, i, 1);
    l.conv_weight = init.torch_default({E + 2 * GN, 1, W}, W, i, 2);
    l.conv_bias = hf ? init.constant({E + 2 * GN}, 0.0) : init.torch_default({E + 2 * GN}, W, i, 3);
    // One time scale per head (models/init.h), and A ~ U(a_init_min, a_init_max), by default
    // U(1, 16) (HF: A = 1..H).
    std::vector<double> dt_bias(H), a_log(H);
    Rng rng(init.stream(i, 4));
    for (int64_t h = 0; h < H; ++h) {
      dt_bias[h] = mamba_dt_bias(rng.uniform());
      a_log[h] = hf ? std::log(static_cast<double>(h + 1))
                    : std::log(cfg_.a_init_min + (cfg_.a_init_max - cfg_.a_init_min) * rng.uniform());
    }
    l.dt_bias = init.values({H}, dt_bias);
    l.A_log = init.values({H}, a_log);
    l.D = init.constant({H}, 1.0);
    l.gate_norm = init.constant({E}, 1.0);
    // Residual-branch outputs are scaled by 1/√L so the residual stream's variance stays O(1).
    const double bound = 1.0 / std::sqrt(static_cast<double>(E) * static_cast<double>(cfg_.n_layer));
    l.out_proj = init.uniform({D, E}, -bound, bound, i, 5);
    layers_.push_back(std::move(l));
  }
}

std::vector<NamedParameter> Mamba2Model::named_parameters() {
  std::vector<NamedParameter> params;
  params.push_back({"backbone.embedding.weight", embedding_, false});
  for (size_t i = 0; i < layers_.size(); ++i) {
    const std::string p = absl::StrCat("backbone.layers.", i, ".");
    Layer& l = layers_[i];
    params.push_back({p + "norm.weight", l.norm, true});
    params.push_back({p + "mixer.in_proj.weight", l.in_proj, false});
    params.push_back({p + "mixer.conv1d.weight", l.conv_weight, false});
    params.push_back({p + "mixer.conv1d.bias", l.conv_bias, true});
    params.push_back({p + "mixer.dt_bias", l.dt_bias, true});
    params.push_back({p + "mixer.A_log", l.A_log, true});
    params.push_back({p + "mixer.D", l.D, true});
    params.push_back({p + "mixer.norm.weight", l.gate_norm, true});
    params.push_back({p + "mixer.out_proj.weight", l.out_proj, false});
  }
  params.push_back({"backbone.norm_f.weight", norm_f_, true});
  return params;
}

RecurrentState Mamba2Model::init_state(int64_t batch, Device device) const {
  RecurrentState state;
  const Dtype dtype = embedding_.dtype();
  for (size_t i = 0; i < layers_.size(); ++i) {
    state.layers.push_back({
        {"ssm", Tensor::zeros({batch, num_heads(), cfg_.headdim, cfg_.d_state}, dtype, device)},
        {"conv", Tensor::zeros({batch, cfg_.d_conv - 1, conv_dim()}, dtype, device)},
    });
  }
  return state;
}

Tensor Mamba2Model::mixer(const Layer& l, const Tensor& u, LayerState* state, const ForwardOptions& options,
                          int layer_index) const {
  const int64_t B = u.size(0), T = u.size(1);
  const int64_t E = d_inner(), H = num_heads(), P = cfg_.headdim;
  const int64_t G = cfg_.ngroups, N = cfg_.d_state;

  std::vector<Tensor> zxbcdt = ops::split(ops::linear(u, l.in_proj), {E, E + 2 * G * N, H}, -1);
  const Tensor& z = zxbcdt[0];
  const Tensor& dt = zxbcdt[2];

  Tensor conv_state = state ? state->at("conv") : Tensor();
  ops::ConvResult conv = ops::causal_conv1d(zxbcdt[1], ops::reshape(l.conv_weight, {conv_dim(), cfg_.d_conv}),
                                            l.conv_bias, conv_state, ConvActivation::silu);
  std::vector<Tensor> xbc = ops::split(conv.y, {E, G * N, G * N}, -1);  // conv.y is silu(conv)
  Tensor x = ops::reshape(xbc[0], {B, T, H, P});
  Tensor Bm = ops::reshape(xbc[1], {B, T, G, N});
  Tensor Cm = ops::reshape(xbc[2], {B, T, G, N});

  Tensor delta = ops::softplus(dt + l.dt_bias);  // (B, T, H)
  Tensor A = -ops::exp(l.A_log);                 // (H)
  if (options.probe) {  // as the mitigated scan sees them (LanguageModel's Probe)
    const Tensor scaled_delta = mitigated_delta(delta, options.mitigations);
    options.probe(layer_index, "dt", scaled_delta);
    options.probe(layer_index, "log_decay", mitigated_log_decay(scaled_delta * A, options.mitigations));
    options.probe(layer_index, "B", mitigated_key(Bm, options.mitigations));
    options.probe(layer_index, "C", Cm);
    options.probe(layer_index, "x", x);
  }
  if (state) (*state)["conv"] = conv.state;
  ops::SsdResult scan = mitigated_ssd(x, delta, A, Bm, Cm, options.mitigations, state, "ssm", scan_impl_,
                                       cfg_.chunk_size);
  Tensor y = scan.y + x * ops::reshape(l.D, {H, 1});  // D skip, broadcast over P
  y = ops::gated_rms_norm(ops::reshape(y, {B, T, E}), z, l.gate_norm, cfg_.norm_eps, E / G);
  return ops::linear(y, l.out_proj);
}

Tensor Mamba2Model::forward(const Tensor& tokens, RecurrentState* state, const ForwardOptions& options) {
  check_forward_args(tokens, state, options);
  Tensor h = ops::embedding(embedding_, tokens);  // (B, T, D)
  for (size_t i = 0; i < layers_.size(); ++i) {
    LayerState* layer_state = state ? &state->layers[i] : nullptr;
    h = h + mixer(layers_[i], ops::rms_norm(h, layers_[i].norm, cfg_.norm_eps), layer_state, options,
                  static_cast<int>(i));
    if (options.observer && layer_state) options.observer(static_cast<int>(i), *layer_state);
  }
  // Tied head: logits = norm_f(h) · embeddingᵀ.
  return ops::linear(ops::rms_norm(h, norm_f_, cfg_.norm_eps), embedding_);
}


}  // namespace ssm
