// models/model_config.cpp — per-architecture keys, defaults, validation and derived sizes.
#include "models/model_config.h"

#include <map>

#include "absl/strings/str_cat.h"  // defines: absl::StrCat
#include "core/error.h"            // defines: UserError

namespace ssm {

const std::vector<std::string>& model_architectures() {
  static const std::vector<std::string> archs = {"mamba1", "mamba2", "rwkv5", "rwkv6", "hgrn2"};
  return archs;
}

const std::vector<std::string>& model_config_keys(const std::string& arch) {
  static const std::map<std::string, std::vector<std::string>> keys = {
      {"mamba1", {"arch", "d_model", "n_layer", "d_state", "expand", "d_conv", "dt_rank", "chunk_size", "scan",
                  "pad_vocab_multiple", "norm_eps"}},
      {"mamba2", {"arch", "d_model", "n_layer", "d_state", "headdim", "expand", "d_conv", "ngroups", "chunk_size", "scan",
                  "pad_vocab_multiple", "norm_eps", "init", "a_init_min", "a_init_max"}},
      {"rwkv5", {"arch", "d_model", "n_layer", "headdim", "d_ffn", "chunk_size", "scan", "pad_vocab_multiple", "norm_eps",
                 "group_norm_eps"}},
      {"rwkv6", {"arch", "d_model", "n_layer", "headdim", "d_ffn", "lora_rank_mix", "lora_rank_decay", "chunk_size", "scan",
                 "pad_vocab_multiple", "norm_eps", "group_norm_eps"}},
      {"hgrn2", {"arch", "d_model", "n_layer", "headdim", "d_ffn", "chunk_size", "scan", "pad_vocab_multiple", "norm_eps"}},
  };
  const auto it = keys.find(arch);
  if (it == keys.end()) throw UserError(absl::StrCat("model.arch: unknown architecture '", arch, "'"));
  return it->second;
}

ModelConfig default_model_config(const std::string& arch) {
  model_config_keys(arch);  // rejects an unknown arch
  ModelConfig c;
  c.arch = arch;
  if (arch == "mamba1") {
    c.d_state = 16;
    c.pad_vocab_multiple = 8;
  } else if (arch == "rwkv5" || arch == "rwkv6") {
    c.chunk_size = 32;  // the pairwise intra-chunk scores cost O(Q²·K) per chunk
  } else if (arch == "hgrn2") {
    c.headdim = 128;
    c.norm_eps = 1e-6;
    c.chunk_size = 32;
  }
  return c;
}

std::string validate_model_config(const ModelConfig& c) {
  if (c.arch == "mamba2") {
    const int64_t d_inner = c.expand * c.d_model;
    if (d_inner % c.headdim != 0) {
      return absl::StrCat("model.d_model * model.expand (", d_inner, ") must be divisible by model.headdim (",
                          c.headdim, ")");
    }
    if (!(c.a_init_min > 0 && c.a_init_min <= c.a_init_max)) {
      return absl::StrCat("model.a_init_min (", c.a_init_min, ") must be positive and at most model.a_init_max (",
                          c.a_init_max, ")");
    }
    if ((d_inner / c.headdim) % c.ngroups != 0) {
      return absl::StrCat("the number of heads d_model * expand / headdim (", d_inner / c.headdim,
                          ") must be divisible by model.ngroups (", c.ngroups, ")");
    }
  }
  if (c.arch == "rwkv5" || c.arch == "rwkv6" || c.arch == "hgrn2") {
    if (c.d_model % c.headdim != 0) {
      return absl::StrCat("model.d_model (", c.d_model, ") must be divisible by model.headdim (", c.headdim, ")");
    }
  }
  return "";
}

int64_t mamba1_dt_rank(const ModelConfig& c) { return c.dt_rank > 0 ? c.dt_rank : (c.d_model + 15) / 16; }

int64_t rwkv_ffn_width(const ModelConfig& c) {
  return c.d_ffn > 0 ? c.d_ffn : (c.d_model * 7 / 2) / 32 * 32;
}

int64_t rwkv6_mix_rank(const ModelConfig& c) {
  return c.lora_rank_mix > 0 ? c.lora_rank_mix : (c.d_model < 4096 ? 32 : 64);
}

int64_t rwkv6_decay_rank(const ModelConfig& c) {
  return c.lora_rank_decay > 0 ? c.lora_rank_decay : (c.d_model < 4096 ? 64 : 128);
}

int64_t hgrn2_ffn_width(const ModelConfig& c) {
  if (c.d_ffn > 0) return c.d_ffn;
  const int64_t raw = c.d_model * 4 * 2 / 3;  // hidden_ratio 4, SwiGLU's 2/3
  return (raw + 255) / 256 * 256;
}

}  // namespace ssm
