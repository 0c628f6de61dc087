// models/model_config.cpp — per-architecture keys, defaults, validation and derived sizes.
#include "models/model_config.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "absl/strings/str_cat.h"     // defines: absl::StrCat
#include "absl/strings/str_format.h"  // defines: absl::StrFormat
#include "core/checked_size.h"        // defines: check_allocation, describe_bytes
#include "core/error.h"               // defines: UserError

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

namespace {

// The integer keys that are sizes; the first kPositiveSizeKeys must be positive, the rest may be
// 0 ("use the reference formula").
struct SizeKey {
  const char* key;
  int64_t ModelConfig::*field;
};
const SizeKey kSizeKeys[] = {{"d_model", &ModelConfig::d_model},
                             {"n_layer", &ModelConfig::n_layer},
                             {"d_state", &ModelConfig::d_state},
                             {"headdim", &ModelConfig::headdim},
                             {"expand", &ModelConfig::expand},
                             {"d_conv", &ModelConfig::d_conv},
                             {"ngroups", &ModelConfig::ngroups},
                             {"pad_vocab_multiple", &ModelConfig::pad_vocab_multiple},
                             {"chunk_size", &ModelConfig::chunk_size},
                             {"dt_rank", &ModelConfig::dt_rank},
                             {"d_ffn", &ModelConfig::d_ffn},
                             {"lora_rank_mix", &ModelConfig::lora_rank_mix},
                             {"lora_rank_decay", &ModelConfig::lora_rank_decay}};
constexpr size_t kPositiveSizeKeys = 9;

bool uses(const ModelConfig& c, const char* key) {
  const std::vector<std::string>& keys = model_config_keys(c.arch);
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

// "model.d_model: 1000000000" for the largest size key the architecture reads (or the
// vocabulary when it is larger): the one to make smaller when the model is too large.
std::string largest_size(const ModelConfig& c, int64_t vocab_size) {
  std::string name = "the vocabulary";
  int64_t largest = vocab_size;
  for (const SizeKey& k : kSizeKeys) {
    if (k.field == &ModelConfig::chunk_size) continue;  // not a parameter size
    if (uses(c, k.key) && c.*k.field > largest) name = absl::StrCat("model.", k.key), largest = c.*k.field;
  }
  return absl::StrCat(name, ": ", largest);
}

// Where a parameter count stops fitting 64-bit sizes (with room for 8 bytes each): any model
// past it is refused before a single size is computed in integers.
constexpr double kMaxParameters = 1ll << 59;

}  // namespace

double model_parameter_count(const ModelConfig& c, int64_t vocab_size) {
  // The same formulas as the models' init_parameters, in double; tests/models/test_model_size.cpp
  // holds them equal to num_parameters().
  const auto D = static_cast<double>(c.d_model), L = static_cast<double>(c.n_layer);
  const double pad = static_cast<double>(std::max<int64_t>(c.pad_vocab_multiple, 1));
  const double V = std::ceil(static_cast<double>(vocab_size) / pad) * pad;
  if (c.arch == "mamba1" || c.arch == "mamba2") {
    const double E = static_cast<double>(c.expand) * D, N = static_cast<double>(c.d_state);
    const auto W = static_cast<double>(c.d_conv);
    double layer = 0;
    if (c.arch == "mamba1") {
      const double R = c.dt_rank > 0 ? static_cast<double>(c.dt_rank) : std::ceil(D / 16);
      layer = D + 2 * E * D + E * W + E + (R + 2 * N) * E + E * R + E + E * N + E + D * E;
    } else {
      const double H = E / static_cast<double>(c.headdim), GN = static_cast<double>(c.ngroups) * N;
      layer = D + (2 * E + 2 * GN + H) * D + (E + 2 * GN) * W + (E + 2 * GN) + 3 * H + E + D * E;
    }
    return V * D + D + L * layer;
  }
  if (c.arch == "rwkv5" || c.arch == "rwkv6") {
    const double F = c.d_ffn > 0 ? static_cast<double>(c.d_ffn) : std::floor(D * 3.5 / 32) * 32;
    double layer = 4 * D + D + D + 5 * D * D + 2 * D + 2 * D + F * D + D * D + D * F;
    if (c.arch == "rwkv5") {
      layer += 4 * D;  // the k, v, r, g token-shift mixes
    } else {
      const double rm = c.lora_rank_mix > 0 ? static_cast<double>(c.lora_rank_mix) : (D < 4096 ? 32 : 64);
      const double rd = c.lora_rank_decay > 0 ? static_cast<double>(c.lora_rank_decay) : (D < 4096 ? 64 : 128);
      layer += 6 * D + 2 * D * 5 * rm + 2 * D * rd;  // six mixes, the ddlerp and decay LoRAs
    }
    return 2 * V * D + 4 * D + L * layer;
  }
  // hgrn2
  const double F = c.d_ffn > 0 ? static_cast<double>(c.d_ffn) : std::ceil(std::floor(D * 8 / 3) / 256) * 256;
  return 2 * V * D + L * D + D + L * (3 * D + 4 * D * D + 3 * F * D);
}

void check_model_size(const ModelConfig& c, int64_t vocab_size, int64_t bytes_per_parameter, bool check_memory) {
  const double params = model_parameter_count(c, vocab_size);
  const std::string what = absl::StrCat(largest_size(c, vocab_size), " gives a ", c.arch, " model of ",
                                        absl::StrFormat("%.4g", params), " parameters");
  const double bytes = params * static_cast<double>(bytes_per_parameter);
  if (check_memory) check_allocation(bytes, what);
  if (!(params <= kMaxParameters)) {
    throw UserError(absl::StrCat(what, ": would need ", describe_bytes(bytes), ", more than any machine has"));
  }
}

std::string validate_model_config(const ModelConfig& c) {
  for (size_t i = 0; i < std::size(kSizeKeys); ++i) {
    const SizeKey& k = kSizeKeys[i];
    const int64_t value = c.*k.field;
    if (!uses(c, k.key) || value > 0 || (i >= kPositiveSizeKeys && value == 0)) continue;
    return absl::StrCat("model.", k.key, " must be ", i < kPositiveSizeKeys ? "positive" : ">= 0 (0: the default)",
                        ", got ", value);
  }
  // Every size below is an integer product of these keys: refuse a model whose count is not
  // far inside 64 bits before any of them is computed (a wrapped size would allocate too little).
  try {
    check_model_size(c, 1, 4, /*check_memory=*/false);
  } catch (const UserError& e) {
    return e.what();
  }
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
