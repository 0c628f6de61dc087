// models/rwkv.h — RWKV-5 "Eagle" (x052) and RWKV-6 "Finch" (x060), as BlinkDL's RWKV-LM defines
// them (docs/arch/rwkv5.md, rwkv6.md). One class for both: they share the block stack, the WKV state and the
// channel mix, and differ only in how the time mix forms its inputs and decay.
//
//   x = LN0(Emb[tok])                          (LN0 exists in block 0 only)
//   per block: x += TimeMix(LN1(x)); x += ChannelMix(LN2(x))
//   logits = head·LN_out(x)                    (untied head)
//
// TimeMix, with x' the previous token's input (token shift):
//   RWKV-5: x_s = x⊙μ_s + x'⊙(1-μ_s) for s in k,v,r,g; decay log w = -exp(time_decay) per head
//   RWKV-6: x_s = x + (x'-x)⊙(μ_s + m_s), m = tanh(x̃·W1)·W2 (slots w,k,v,r,g, "ddlerp");
//           log w_t = -exp(time_decay + tanh(x_w·Wd1)·Wd2), a decay per token and channel
//   r, k, v = W_r/k/v·x_r/k/v, g = silu(W_g·x_g)
//   o = WKV(r, k, v, w, u = time_faaaa)        ops/scan/gla.h, pre-update readout with bonus
//   out = W_o·(GroupNorm_H(o; eps 64e-5) ⊙ g)
// ChannelMix: out = σ(W_r·x_r) ⊙ W_v·relu(W_k·x_k)², with the version's token-shift lerp.
// Parameter names are the official .pth names (`blocks.{i}.att.time_mix_k`, ...).
// Not modelled: RWKV-LM's "L2Wrap" logit penalty, a training-loss extra outside the model.
#pragma once

#include <vector>

#include "models/init.h"            // defines: ParameterFactory
#include "models/language_model.h"  // defines: LanguageModel, RecurrentState
#include "models/model_config.h"    // defines: ModelConfig

namespace ssm {

class RwkvModel final : public LanguageModel {
 public:
  // cfg.arch selects the version: "rwkv5" or "rwkv6".
  RwkvModel(const ModelConfig& cfg, int64_t vocab_size, uint64_t seed, Dtype dtype = Dtype::f32,
            bool initialize = true);

  std::string architecture() const override { return cfg_.arch; }
  int64_t vocab_size() const override { return vocab_padded_; }
  int64_t num_layers() const override { return static_cast<int64_t>(blocks_.size()); }
  std::string recurrent_state_name() const override { return "wkv"; }
  std::vector<std::string> state_axis_names() const override { return {"k", "v"}; }  // (B, H, K, V)
  bool has_delta() const override { return false; }  // the decay w is the only retention knob
  // Per layer: "att_shift" (B,D) and "ffn_shift" (B,D), the last inputs of the two mixes, and
  // "wkv" (B,H,K,K).
  RecurrentState init_state(int64_t batch, Device device) const override;
  Tensor forward(const Tensor& tokens, RecurrentState* state, const ForwardOptions& options = {}) override;
  std::vector<NamedParameter> named_parameters() override;

  bool v6() const { return cfg_.arch == "rwkv6"; }
  int64_t num_heads() const { return cfg_.d_model / cfg_.headdim; }

 private:
  struct LayerNorm {
    Tensor weight, bias;  // (D)
  };
  struct TimeMix {
    // RWKV-5: mix = {k, v, r, g} (1,1,D) = time_mix_*; decay (H,K) = time_decay.
    // RWKV-6: mix = {x, w, k, v, r, g} (1,1,D) = time_maa_*; decay (1,1,D) = time_decay;
    //         maa_w1 (D, 5·r_m), maa_w2 (5, r_m, D), decay_w1 (D, r_d), decay_w2 (r_d, D).
    std::vector<Tensor> mix;
    Tensor decay, bonus;  // bonus = time_faaaa (H, K)
    Tensor maa_w1, maa_w2, decay_w1, decay_w2;
    Tensor receptance, key, value, gate, output;  // (D, D)
    LayerNorm ln_x;
  };
  struct ChannelMix {
    Tensor mix_k, mix_r;                // (1,1,D): time_mix_k/r (v5) or time_maa_k/r (v6)
    Tensor key, receptance, value;      // (F, D), (D, D), (D, F)
  };
  struct Block {
    LayerNorm ln1, ln2;
    TimeMix att;
    ChannelMix ffn;
  };

  void init_parameters(const ParameterFactory& init);
  Tensor time_mix(const TimeMix& att, const Tensor& x, LayerState* state, const ForwardOptions& options,
                  int layer_index) const;
  Tensor channel_mix(const ChannelMix& ffn, const Tensor& x, LayerState* state) const;
  Tensor layer_norm(const LayerNorm& ln, const Tensor& x) const;

  ModelConfig cfg_;
  int64_t vocab_padded_;
  Tensor embedding_;  // (V, D) emb.weight
  LayerNorm ln0_;     // blocks.0.ln0
  LayerNorm ln_out_;  // ln_out
  Tensor head_;       // (V, D) head.weight
  std::vector<Block> blocks_;
};

}  // namespace ssm
