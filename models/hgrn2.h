// models/hgrn2.h — HGRN-2 (Qin et al. 2024) as flash-linear-attention defines it (docs/arch/hgrn2.md):
// a gated linear RNN whose forget gate has a learned lower bound that rises with depth, with the
// input gate tied to it (k = 1 - α), and a SwiGLU MLP after every token mixer.
//
//   lb = cumsum(softmax_over_layers(lower_bounds)) - its first row   (lb_0 = 0, rising with depth)
//   per layer: h += Attn(RMSNorm(h), lb_l); h += MLP(RMSNorm(h)); logits = lm_head·RMSNorm(h)
//   Attn(u):  q = silu(W_q·u), f = W_f·u, v = W_i·u
//             α = lb + (1 - lb)·σ(f)   (layer 0: α = σ(f)),   k = 1 - α
//             o = GLA(q·K^-1/2, k, v, log α)                   ops/scan/gla.h, post-update readout
//             out = W_o·RMSNorm_1e-5(o)                        (over all of D, no output gate;
//                                                               fla's eps here ignores norm_eps)
//   MLP(x) = W_down·(silu(W_gate·x) ⊙ W_up·x)
// Parameter names are fla's (`model.layers.{i}.attn.q_proj.weight`, ...); the head is untied.
#pragma once

#include <vector>

#include "models/init.h"            // defines: ParameterFactory
#include "models/language_model.h"  // defines: LanguageModel, RecurrentState
#include "models/model_config.h"    // defines: ModelConfig

namespace ssm {

class Hgrn2Model final : public LanguageModel {
 public:
  Hgrn2Model(const ModelConfig& cfg, int64_t vocab_size, uint64_t seed, Dtype dtype = Dtype::f32,
             bool initialize = true);

  std::string architecture() const override { return "hgrn2"; }
  int64_t vocab_size() const override { return vocab_padded_; }
  int64_t num_layers() const override { return static_cast<int64_t>(layers_.size()); }
  std::string recurrent_state_name() const override { return "gla"; }
  std::vector<std::string> state_axis_names() const override { return {"k", "v"}; }  // (B, H, K, V)
  bool has_delta() const override { return false; }  // the forget gate α is the only retention knob
  // Per layer: "gla" (B, H, K, K), the key × value state of every head.
  RecurrentState init_state(int64_t batch, Device device) const override;
  Tensor forward(const Tensor& tokens, RecurrentState* state, const ForwardOptions& options = {}) override;
  std::vector<NamedParameter> named_parameters() override;

  int64_t num_heads() const { return cfg_.d_model / cfg_.headdim; }

 private:
  struct Layer {
    Tensor attn_norm, q_proj, f_proj, i_proj, g_norm, o_proj;  // (D) and (D, D)
    Tensor mlp_norm, gate_proj, up_proj, down_proj;            // (D), (F, D), (F, D), (D, F)
  };

  void init_parameters(const ParameterFactory& init);
  // `lower_bound` is lb_l (D), undefined for layer 0.
  Tensor attention(const Layer& layer, const Tensor& u, const Tensor& lower_bound, LayerState* state,
                   const ForwardOptions& options, int layer_index) const;

  ModelConfig cfg_;
  int64_t vocab_padded_;
  Tensor embedding_;     // (V, D) model.embeddings.weight
  Tensor lower_bounds_;  // (L, D) model.lower_bounds
  Tensor norm_;          // (D)    model.norm.weight
  Tensor lm_head_;       // (V, D) lm_head.weight
  std::vector<Layer> layers_;
};

}  // namespace ssm
