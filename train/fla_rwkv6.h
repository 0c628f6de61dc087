// train/fla_rwkv6.h — RWKV-6 between BlinkDL's tensors (ssmlab's own names) and
// flash-linear-attention's RWKV6ForCausalLM, in both directions: `ssmlab export --to fla` writes
// fla's, and ssmlab loads fla's checkpoints back through the inverse (docs/export.md).
//
// The two hold the same numbers, arranged differently (per layer N; D width, H heads, r the mix
// LoRA rank, five mix slots):
//   BlinkDL blocks.N.att.                      fla model.layers.N.attn.
//   time_maa_x [1,1,D]                         x_proj.0.mu [D]
//   time_maa_w1 [D, 5r], slots w k v r g       x_proj.0.linear.weight [5r, D], slots r w k v g
//   time_maa_w2 [5, r, D], slots w k v r g     x_proj.2.weight [D, 5r]: [h, n·r+j] = w2[slot n, j, h]
//   time_maa_{r,w,k,v,g} [1,1,D]               x_bias [5, D], rows r w k v g
//   time_decay [1,1,D], time_decay_w1 [D, r2], w_proj.linear.lora.{2.bias [D], 0.weight [r2, D],
//     time_decay_w2 [r2, D]                      2.weight [D, r2]} (transposed)
//   receptance, key, value, gate .weight       {r,k,v,g}_proj.linear.weight
//   time_faaaa [H, N]; ln_x; output            bonus; g_norm; o_proj
//   BlinkDL blocks.N.ffn.time_maa_{k,r}        fla model.layers.N.ffn.{key,receptance}.mu
//   ffn.{key,receptance}.weight, value.weight  ffn.{key,receptance}.linear.weight, value.weight
//   blocks.0.ln0, blocks.N.ln1, ln2            model.layers.0.pre_norm, .attn_norm, .ffn_norm
//   emb.weight, ln_out, head.weight            model.embeddings.weight, model.norm, lm_head.weight
// Every value is copied, never recomputed, so a round trip is exact.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"  // defines: Tensor

namespace ssm {

class WeightIndex;

// BlinkDL's tensors (every tensor of an ssmlab RWKV-6 checkpoint, by name) as fla's, in order.
std::vector<std::pair<std::string, Tensor>> rwkv6_to_fla(const std::map<std::string, Tensor>& blinkdl,
                                                         int64_t n_layer);

// fla's tensors as BlinkDL's names and shapes. UserError naming the file and tensor for one
// missing or mis-shaped, and for any tensor of the files the mapping does not use.
std::map<std::string, Tensor> rwkv6_from_fla(const WeightIndex& fla, int64_t n_layer);

}  // namespace ssm
