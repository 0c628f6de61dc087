// models/mamba2.h — Mamba-2 (Dao & Gu 2024) exactly as the reference model: embedding, L pre-norm
// residual blocks of the SSD mixer (no MLP), final RMSNorm, head tied to the embedding.
//
// Mixer, per token u (D) -> out (D), docs/arch/mamba2.md (block structure):
//   [z | xBC | dt] = in_proj·u                   widths E, E+2GN, H  (E = expand·D, H = E/P)
//   xBC = silu(causal_conv1d(xBC))              one conv over x, B and C together
//   [x | B | C] = xBC                           widths E, GN, GN
//   Δ = softplus(dt + dt_bias), A = -exp(A_log) one scalar per head
//   y = SSD(x, Δ, A, B, C) + D·x                ops/scan/ssd.h; the D skip uses x, not Δ·x
//   out = out_proj · RMSNorm(y ⊙ silu(z))       gated norm over groups of E/G channels
// Parameter names are the state-spaces checkpoint names, so weights load from the public release.
#pragma once

#include <vector>

#include "models/init.h"            // defines: ParameterFactory
#include "models/language_model.h"  // defines: LanguageModel, RecurrentState
#include "models/model_config.h"    // defines: ModelConfig

namespace ssm {

class Mamba2Model final : public LanguageModel {
 public:
  // `vocab_size` is the tokenizer's; the model pads it to cfg.pad_vocab_multiple. Parameters are
  // initialised from `seed` (mamba_ssm's scheme, or HF's with cfg.init == "hf") in `dtype`;
  // with initialize = false they are left uninitialised (see models/init.h).
  Mamba2Model(const ModelConfig& cfg, int64_t vocab_size, uint64_t seed, Dtype dtype = Dtype::f32,
              bool initialize = true);

  std::string architecture() const override { return "mamba2"; }
  int64_t vocab_size() const override { return vocab_padded_; }
  int64_t num_layers() const override { return static_cast<int64_t>(layers_.size()); }
  std::string recurrent_state_name() const override { return "ssm"; }
  std::vector<std::string> state_axis_names() const override { return {"p", "n"}; }  // (B, H, P, N)
  bool has_delta() const override { return true; }
  RecurrentState init_state(int64_t batch, Device device) const override;
  Tensor forward(const Tensor& tokens, RecurrentState* state, const ForwardOptions& options = {}) override;
  std::vector<NamedParameter> named_parameters() override;


  // Sizes derived from the config.
  int64_t d_inner() const { return cfg_.expand * cfg_.d_model; }
  int64_t num_heads() const { return d_inner() / cfg_.headdim; }
  int64_t conv_dim() const { return d_inner() + 2 * cfg_.ngroups * cfg_.d_state; }

 private:
  struct Layer {
    Tensor norm;          // (D)              backbone.layers.i.norm.weight
    Tensor in_proj;       // (2E+2GN+H, D)    mixer.in_proj.weight
    Tensor conv_weight;   // (E+2GN, 1, W)    mixer.conv1d.weight
    Tensor conv_bias;     // (E+2GN)          mixer.conv1d.bias
    Tensor dt_bias;       // (H)              mixer.dt_bias
    Tensor A_log;         // (H)              mixer.A_log
    Tensor D;             // (H)              mixer.D
    Tensor gate_norm;     // (E)              mixer.norm.weight
    Tensor out_proj;      // (D, E)           mixer.out_proj.weight
  };

  void init_parameters(const ParameterFactory& init);
  // u (B, T, D) -> (B, T, D); reads and replaces `state` when non-null.
  Tensor mixer(const Layer& layer, const Tensor& u, LayerState* state, const ForwardOptions& options,
               int layer_index) const;

  ModelConfig cfg_;
  int64_t vocab_padded_;
  Tensor embedding_;  // (V, D) backbone.embedding.weight, also the output head
  Tensor norm_f_;     // (D)    backbone.norm_f.weight
  std::vector<Layer> layers_;
};

}  // namespace ssm
