// models/model_config.h — the architecture hyper-parameters (the `model:` section of a config).
//
// Lives in models/ because models are built from it; train/config.h parses and validates it.
// Letters: D d_model, E = expand·D, P headdim, H = E/P heads, N d_state, G ngroups, W d_conv.
#pragma once

#include <cstdint>
#include <string>

namespace ssm {

struct ModelConfig {
  std::string arch = "mamba2";        // mamba2 (more architectures arrive later)
  int64_t d_model = 0;                // required
  int64_t n_layer = 0;                // required
  int64_t d_state = 128;              // N
  int64_t headdim = 64;               // P
  int64_t expand = 2;                 // d_inner = expand * d_model
  int64_t d_conv = 4;                 // conv taps W
  int64_t ngroups = 1;                // G
  int64_t chunk_size = 64;            // Q of the chunked scan
  int64_t pad_vocab_multiple = 16;    // vocab is padded up to a multiple of this
  double norm_eps = 1e-5;
  std::string init = "mamba_ssm";     // mamba_ssm | hf (they differ in A and conv-bias init)
};

}  // namespace ssm
