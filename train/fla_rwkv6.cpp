// train/fla_rwkv6.cpp — the RWKV-6 tensor correspondence of train/fla_rwkv6.h, both directions.
#include "train/fla_rwkv6.h"

#include <algorithm>
#include <set>

#include "core/error.h"          // defines: UserError
#include "train/weight_index.h"  // defines: WeightIndex

namespace ssm {
namespace {

// The five mix slots: BlinkDL stores them w k v r g, fla r w k v g. kBlinkSlotOfFla[n] is the
// BlinkDL slot of fla's slot n.
constexpr int kBlinkSlotOfFla[5] = {3, 0, 1, 2, 4};
constexpr const char* kBlinkSlotName[5] = {"w", "k", "v", "r", "g"};

Tensor f32(const Tensor& t) { return t.dtype() == Dtype::f32 ? t.clone_contiguous() : t.to(Dtype::f32); }

// A new f32 tensor of `shape` whose element i is `src`'s element index(i) (both row-major).
template <typename Index>
Tensor rearranged(const Tensor& src, const Shape& shape, Index index) {
  const Tensor s = f32(src);
  Tensor out = Tensor::empty(shape, Dtype::f32);
  const float* in = s.data<float>();
  float* o = out.data<float>();
  for (int64_t i = 0; i < out.numel(); ++i) o[i] = in[index(i)];
  return out;
}

Tensor flat(const Tensor& t) { return rearranged(t, {t.numel()}, [](int64_t i) { return i; }); }

Tensor transposed(const Tensor& t) {  // [a, b] -> [b, a]
  const int64_t a = t.shape()[0], b = t.shape()[1];
  return rearranged(t, {b, a}, [a, b](int64_t i) { return (i % a) * b + i / a; });
}

}  // namespace

std::vector<std::pair<std::string, Tensor>> rwkv6_to_fla(const std::map<std::string, Tensor>& w, int64_t n_layer) {
  auto get = [&](const std::string& name) -> const Tensor& {
    const auto it = w.find(name);
    SSM_USER_CHECK(it != w.end(), "RWKV-6 checkpoint: missing tensor '", name, "'");
    return it->second;
  };
  std::vector<std::pair<std::string, Tensor>> out;
  auto put = [&](const std::string& name, Tensor t) { out.emplace_back(name, std::move(t)); };
  put("model.embeddings.weight", f32(get("emb.weight")));
  for (int64_t l = 0; l < n_layer; ++l) {
    const std::string b = "blocks." + std::to_string(l) + ".", f = "model.layers." + std::to_string(l) + ".";
    const std::string att = b + "att.", ffn = b + "ffn.", fa = f + "attn.";
    if (l == 0) {
      put(f + "pre_norm.weight", f32(get(b + "ln0.weight")));
      put(f + "pre_norm.bias", f32(get(b + "ln0.bias")));
    }
    put(f + "attn_norm.weight", f32(get(b + "ln1.weight")));
    put(f + "attn_norm.bias", f32(get(b + "ln1.bias")));
    const Tensor& w1 = get(att + "time_maa_w1");  // [D, 5r]
    const Tensor& w2 = get(att + "time_maa_w2");  // [5, r, D]
    const int64_t D = w1.shape()[0], r = w1.shape()[1] / 5;
    put(fa + "x_proj.0.mu", flat(get(att + "time_maa_x")));
    put(fa + "x_proj.0.linear.weight", rearranged(w1, {5 * r, D}, [=](int64_t i) {
          const int64_t row = i / D, d = i % D, n = row / r, j = row % r;
          return d * 5 * r + kBlinkSlotOfFla[n] * r + j;
        }));
    put(fa + "x_proj.2.weight", rearranged(w2, {D, 5 * r}, [=](int64_t i) {
          const int64_t h = i / (5 * r), n = (i % (5 * r)) / r, j = i % r;
          return (kBlinkSlotOfFla[n] * r + j) * D + h;
        }));
    Tensor x_bias = Tensor::empty({5, D}, Dtype::f32);
    for (int n = 0; n < 5; ++n) {
      const Tensor slot = f32(get(att + "time_maa_" + kBlinkSlotName[kBlinkSlotOfFla[n]]));
      std::copy_n(slot.data<float>(), D, x_bias.data<float>() + n * D);
    }
    put(fa + "x_bias", x_bias);
    put(fa + "r_proj.linear.weight", f32(get(att + "receptance.weight")));
    put(fa + "w_proj.linear.lora.0.weight", transposed(get(att + "time_decay_w1")));
    put(fa + "w_proj.linear.lora.2.weight", transposed(get(att + "time_decay_w2")));
    put(fa + "w_proj.linear.lora.2.bias", flat(get(att + "time_decay")));
    put(fa + "k_proj.linear.weight", f32(get(att + "key.weight")));
    put(fa + "v_proj.linear.weight", f32(get(att + "value.weight")));
    put(fa + "g_proj.linear.weight", f32(get(att + "gate.weight")));
    put(fa + "bonus", f32(get(att + "time_faaaa")));
    put(fa + "g_norm.weight", f32(get(att + "ln_x.weight")));
    put(fa + "g_norm.bias", f32(get(att + "ln_x.bias")));
    put(fa + "o_proj.weight", f32(get(att + "output.weight")));
    put(f + "ffn_norm.weight", f32(get(b + "ln2.weight")));
    put(f + "ffn_norm.bias", f32(get(b + "ln2.bias")));
    put(f + "ffn.key.mu", flat(get(ffn + "time_maa_k")));
    put(f + "ffn.key.linear.weight", f32(get(ffn + "key.weight")));
    put(f + "ffn.value.weight", f32(get(ffn + "value.weight")));
    put(f + "ffn.receptance.mu", flat(get(ffn + "time_maa_r")));
    put(f + "ffn.receptance.linear.weight", f32(get(ffn + "receptance.weight")));
  }
  put("model.norm.weight", f32(get("ln_out.weight")));
  put("model.norm.bias", f32(get("ln_out.bias")));
  put("lm_head.weight", f32(get("head.weight")));
  return out;
}

std::map<std::string, Tensor> rwkv6_from_fla(const WeightIndex& w, int64_t n_layer) {
  std::set<std::string> used;
  auto get = [&](const std::string& name, size_t rank) {
    w.require_shape(name, rank);
    used.insert(name);
    return w.get(name);
  };
  std::map<std::string, Tensor> out;
  auto unit = [](const Tensor& v) {  // [D] -> BlinkDL's [1, 1, D]
    return rearranged(v, {1, 1, v.numel()}, [](int64_t i) { return i; });
  };
  out["emb.weight"] = f32(get("model.embeddings.weight", 2));
  for (int64_t l = 0; l < n_layer; ++l) {
    const std::string b = "blocks." + std::to_string(l) + ".", f = "model.layers." + std::to_string(l) + ".";
    const std::string att = b + "att.", ffn = b + "ffn.", fa = f + "attn.";
    if (l == 0) {
      out[b + "ln0.weight"] = f32(get(f + "pre_norm.weight", 1));
      out[b + "ln0.bias"] = f32(get(f + "pre_norm.bias", 1));
    }
    out[b + "ln1.weight"] = f32(get(f + "attn_norm.weight", 1));
    out[b + "ln1.bias"] = f32(get(f + "attn_norm.bias", 1));
    const Tensor w0 = get(fa + "x_proj.0.linear.weight", 2);  // [5r, D]
    const Tensor w2 = get(fa + "x_proj.2.weight", 2);         // [D, 5r]
    const Tensor bias = get(fa + "x_bias", 2);                // [5, D]
    const int64_t D = w0.shape()[1], r = w0.shape()[0] / 5;
    SSM_USER_CHECK(w0.shape()[0] == 5 * r && w2.shape() == Shape({D, 5 * r}) && bias.shape() == Shape({5, D}),
                   w.file_of(fa + "x_proj.2.weight"), ": fla RWKV-6 layer ", l, ": x_proj shapes ",
                   shape_str(w0.shape()), ", ", shape_str(w2.shape()), " and x_bias ", shape_str(bias.shape()),
                   " do not fit five slots of rank ", r, " over width ", D);
    int fla_slot_of_blink[5];
    for (int n = 0; n < 5; ++n) fla_slot_of_blink[kBlinkSlotOfFla[n]] = n;
    out[att + "time_maa_x"] = unit(get(fa + "x_proj.0.mu", 1));
    out[att + "time_maa_w1"] = rearranged(w0, {D, 5 * r}, [=](int64_t i) {
      const int64_t d = i / (5 * r), s = (i % (5 * r)) / r, j = i % r;
      return (fla_slot_of_blink[s] * r + j) * D + d;
    });
    out[att + "time_maa_w2"] = rearranged(w2, {5, r, D}, [=](int64_t i) {
      const int64_t s = i / (r * D), j = (i / D) % r, h = i % D;
      return h * 5 * r + fla_slot_of_blink[s] * r + j;
    });
    for (int s = 0; s < 5; ++s) {
      const int64_t row = fla_slot_of_blink[s];
      out[att + "time_maa_" + kBlinkSlotName[s]] =
          rearranged(bias, {1, 1, D}, [=](int64_t i) { return row * D + i; });
    }
    out[att + "receptance.weight"] = f32(get(fa + "r_proj.linear.weight", 2));
    out[att + "time_decay_w1"] = transposed(get(fa + "w_proj.linear.lora.0.weight", 2));
    out[att + "time_decay_w2"] = transposed(get(fa + "w_proj.linear.lora.2.weight", 2));
    out[att + "time_decay"] = unit(get(fa + "w_proj.linear.lora.2.bias", 1));
    out[att + "key.weight"] = f32(get(fa + "k_proj.linear.weight", 2));
    out[att + "value.weight"] = f32(get(fa + "v_proj.linear.weight", 2));
    out[att + "gate.weight"] = f32(get(fa + "g_proj.linear.weight", 2));
    out[att + "time_faaaa"] = f32(get(fa + "bonus", 2));
    out[att + "ln_x.weight"] = f32(get(fa + "g_norm.weight", 1));
    out[att + "ln_x.bias"] = f32(get(fa + "g_norm.bias", 1));
    out[att + "output.weight"] = f32(get(fa + "o_proj.weight", 2));
    out[b + "ln2.weight"] = f32(get(f + "ffn_norm.weight", 1));
    out[b + "ln2.bias"] = f32(get(f + "ffn_norm.bias", 1));
    out[ffn + "time_maa_k"] = unit(get(f + "ffn.key.mu", 1));
    out[ffn + "key.weight"] = f32(get(f + "ffn.key.linear.weight", 2));
    out[ffn + "value.weight"] = f32(get(f + "ffn.value.weight", 2));
    out[ffn + "time_maa_r"] = unit(get(f + "ffn.receptance.mu", 1));
    out[ffn + "receptance.weight"] = f32(get(f + "ffn.receptance.linear.weight", 2));
  }
  out["ln_out.weight"] = f32(get("model.norm.weight", 1));
  out["ln_out.bias"] = f32(get("model.norm.bias", 1));
  out["head.weight"] = f32(get("lm_head.weight", 2));
  for (const std::string& name : w.names()) {
    SSM_USER_CHECK(used.count(name) != 0, w.file_of(name), ": tensor '", name, "' ", shape_str(w.shape(name)),
                   " has no place in ssmlab's rwkv6 (", n_layer,
                   " layers); refusing the checkpoint rather than loading it without that tensor");
  }
  return out;
}

}  // namespace ssm
