// models/mamba1.h — Mamba-1 (Gu & Dao 2023) exactly as the reference model: embedding, L pre-norm
// residual blocks of the selective-SSM mixer (no MLP), final RMSNorm, head tied to the embedding.
//
// Mixer, per token u (D) -> out (D), docs/arch/mamba1.md (block structure):
//   [x | z] = in_proj·u                          widths E, E   (E = expand·D)
//   x = silu(causal_conv1d(x))                   the conv covers x only
//   [δ | B | C] = x_proj·x                       widths R, N, N (R = dt_rank; B, C shared by all channels)
//   Δ = softplus(dt_proj·δ + dt_bias)            per channel; the bias is added before softplus
//   A = -exp(A_log)                              (E, N): a decay per channel AND state index
//   y = selective_scan(x, Δ, A, B, C) + D·x       ops/scan/selective_scan.h
//   out = out_proj·(y ⊙ silu(z))
// Parameter names are the state-spaces checkpoint names (`backbone.embedding.weight`, ...).
#pragma once

#include <vector>

#include "models/init.h"            // defines: ParameterFactory
#include "models/language_model.h"  // defines: LanguageModel, RecurrentState
#include "models/model_config.h"    // defines: ModelConfig

namespace ssm {

class Mamba1Model final : public LanguageModel {
 public:
  Mamba1Model(const ModelConfig& cfg, int64_t vocab_size, uint64_t seed, Dtype dtype = Dtype::f32,
              bool initialize = true);

  std::string architecture() const override { return "mamba1"; }
  int64_t vocab_size() const override { return vocab_padded_; }
  int64_t num_layers() const override { return static_cast<int64_t>(layers_.size()); }
  std::string recurrent_state_name() const override { return "ssm"; }
  std::vector<std::string> state_axis_names() const override { return {"n"}; }  // (B, E, N): a channel per "head"
  bool has_delta() const override { return true; }
  RecurrentState init_state(int64_t batch, Device device) const override;
  Tensor forward(const Tensor& tokens, RecurrentState* state, const ForwardOptions& options = {}) override;
  std::vector<NamedParameter> named_parameters() override;

  int64_t d_inner() const { return cfg_.expand * cfg_.d_model; }

 private:
  struct Layer {
    Tensor norm;          // (D)           backbone.layers.i.norm.weight
    Tensor in_proj;       // (2E, D)       mixer.in_proj.weight
    Tensor conv_weight;   // (E, 1, W)     mixer.conv1d.weight
    Tensor conv_bias;     // (E)           mixer.conv1d.bias
    Tensor x_proj;        // (R+2N, E)     mixer.x_proj.weight
    Tensor dt_proj;       // (E, R)        mixer.dt_proj.weight
    Tensor dt_bias;       // (E)           mixer.dt_proj.bias
    Tensor A_log;         // (E, N)        mixer.A_log
    Tensor D;             // (E)           mixer.D
    Tensor out_proj;      // (D, E)        mixer.out_proj.weight
  };

  void init_parameters(const ParameterFactory& init);
  Tensor mixer(const Layer& layer, const Tensor& u, LayerState* state, const ForwardOptions& options,
               int layer_index) const;

  ModelConfig cfg_;
  int64_t dt_rank_;
  int64_t vocab_padded_;
  Tensor embedding_;  // (V, D) backbone.embedding.weight, also the output head
  Tensor norm_f_;     // (D)    backbone.norm_f.weight
  std::vector<Layer> layers_;
};

}  // namespace ssm
