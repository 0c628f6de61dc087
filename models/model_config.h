// models/model_config.h — the architecture hyper-parameters (the `model:` section of a config).
//
// One struct for all five architectures; each uses a subset of the fields, and
// model_config_keys(arch) says which keys a config may set for it (any other key is an error).
// Lives in models/ because models are built from it; train/config.cpp parses it from YAML.
// Letters: D d_model, E = expand·D, P head dim, H heads, N d_state, G ngroups, W d_conv, F ffn width.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ssm {

struct ModelConfig {
  std::string arch = "mamba2";     // mamba1 | mamba2 | rwkv5 | rwkv6 | hgrn2
  int64_t d_model = 0;             // required
  int64_t n_layer = 0;             // required
  int64_t d_state = 128;           // N (Mamba-1: 16, Mamba-2: 128)
  // Head size: Mamba-2's P (64), RWKV's head_size (64), HGRN-2's key/value dim per head
  // (fla calls it expand_ratio, 128).
  int64_t headdim = 64;
  int64_t expand = 2;              // Mamba: E = expand·D
  int64_t d_conv = 4;              // Mamba: conv taps W
  int64_t ngroups = 1;             // Mamba-2: G groups of heads share B and C
  int64_t dt_rank = 0;             // Mamba-1: rank of the Δ projection; 0 = ceil(D/16)
  int64_t d_ffn = 0;               // RWKV channel-mix / HGRN-2 MLP width F; 0 = the reference formula
  int64_t lora_rank_mix = 0;       // RWKV-6 ddlerp rank; 0 = 32 (D < 4096) or 64
  int64_t lora_rank_decay = 0;     // RWKV-6 decay rank; 0 = 64 (D < 4096) or 128
  int64_t chunk_size = 64;         // Q of the chunked scan (affects rounding only)
  std::string scan = "auto";       // auto (recurrent on CPU, chunked on GPU) | chunked | recurrent
  int64_t pad_vocab_multiple = 16; // vocab is padded up to a multiple of this
  double norm_eps = 1e-5;          // RMSNorm / LayerNorm eps (HGRN-2: 1e-6)
  double group_norm_eps = 64e-5;   // RWKV's ln_x: GroupNorm(x/8, 1e-5) ≡ GroupNorm(x, 64e-5)
  std::string init = "mamba_ssm";  // Mamba-2 only: mamba_ssm | hf (they differ in A and conv bias)
  // Mamba-2, mamba_ssm init: A ~ U(a_init_min, a_init_max), mamba_ssm's A_init_range (1, 16).
  // Small values start heads that barely decay (α = exp(−Δ·A) ≈ 1 for a long time), like the
  // retention heads of long-trained checkpoints (docs/paper_protocols.md, retention strength).
  double a_init_min = 1.0;
  double a_init_max = 16.0;
};

// The architectures make_model builds, in the order they are listed to users.
const std::vector<std::string>& model_architectures();

// The `model:` keys an architecture accepts ("arch", "d_model", ... ), in writing order.
const std::vector<std::string>& model_config_keys(const std::string& arch);

// The defaults of an architecture (d_model and n_layer stay 0: they are required).
ModelConfig default_model_config(const std::string& arch);

// Checks the cross-field rules (positive sizes, divisibility, ranges, a parameter count that
// 64-bit sizes can hold); returns "" when valid, otherwise one sentence naming the offending
// keys, e.g. "model.d_model (100) must be divisible by ...".
std::string validate_model_config(const ModelConfig& cfg);

// The number of parameters make_model builds for `cfg` and a tokenizer of `vocab_size` ids,
// computed in double so that no size can overflow (exact below 2^53). Sizes must be positive.
double model_parameter_count(const ModelConfig& cfg, int64_t vocab_size);

// Before a model is built: UserError naming the largest size key when its parameters cannot be
// counted in 64 bits, or (check_memory) would need more than this machine's memory at
// `bytes_per_parameter`, e.g. "model.d_model: 1000000000 gives a mamba2 model of 6.25e+18
// parameters: would need ... bytes (... GiB), more than this machine has (... GiB)".
void check_model_size(const ModelConfig& cfg, int64_t vocab_size, int64_t bytes_per_parameter, bool check_memory);

// Derived sizes, with the 0 = "reference formula" defaults resolved.
int64_t mamba1_dt_rank(const ModelConfig& cfg);     // ceil(D/16)
int64_t rwkv_ffn_width(const ModelConfig& cfg);     // floor(3.5·D/32)·32
int64_t rwkv6_mix_rank(const ModelConfig& cfg);     // 32 or 64
int64_t rwkv6_decay_rank(const ModelConfig& cfg);   // 64 or 128
int64_t hgrn2_ffn_width(const ModelConfig& cfg);    // 256·ceil(floor(D·4·2/3)/256)

}  // namespace ssm
