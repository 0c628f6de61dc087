// tests/support/pretrained_fixtures.h — tiny models written out in the public checkpoint layouts
// (tensor names, shards, config.json), shared by the loading tests and the strict-loading tests.
#pragma once

#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/grad_mode.h"
#include "core/safetensors.h"
#include "models/model_factory.h"
#include "ops/ops.h"
#include "tests/support/model_fixtures.h"  // defines: perturb

namespace ssm::testing {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// A two-layer model of `arch` with d_model 8 and non-trivial weights; `adjust` may change the
// config before the model is built.
inline std::unique_ptr<LanguageModel> tiny_model(const std::string& arch, int64_t vocab,
                                                 const std::function<void(ModelConfig&)>& adjust = nullptr) {
  ModelConfig c = default_model_config(arch);
  c.d_model = 8;
  c.n_layer = 2;
  c.headdim = arch == "mamba2" ? 4 : c.headdim;
  c.d_state = arch == "mamba2" ? 4 : c.d_state;
  if (arch == "rwkv5" || arch == "rwkv6" || arch == "hgrn2") {
    c.headdim = 4;
    c.d_ffn = 12;
  }
  if (arch == "rwkv6") {
    c.lora_rank_mix = 2;
    c.lora_rank_decay = 3;
  }
  c.pad_vocab_multiple = 1;
  if (adjust) adjust(c);
  auto model = make_model(c, vocab, 5);
  perturb(*model, 50);
  return model;
}

// The model's parameters under their reference names (detached CPU tensors), to edit before writing.
inline NamedTensors model_tensors(LanguageModel& model) {
  NamedTensors out;
  for (const NamedParameter& p : model.named_parameters()) out.emplace_back(p.name, p.tensor.detach());
  return out;
}

// `tensors` as the directory's only model.safetensors (the directory is emptied first).
inline void write_tensors(const std::filesystem::path& dir, const NamedTensors& tensors) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  save_safetensors((dir / "model.safetensors").string(), tensors);
}

// The model's tensors under `rename(name)`, in `dtype`, as one file or split into two shards.
inline void write_weights(LanguageModel& model, const std::filesystem::path& dir,
                          const std::function<std::string(const std::string&)>& rename, Dtype dtype = Dtype::f32,
                          bool sharded = false) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  NamedTensors a, b;
  for (const NamedParameter& p : model.named_parameters()) {
    Tensor t = p.tensor.detach().to(dtype);
    (sharded && a.size() > b.size() ? b : a).emplace_back(rename(p.name), t);
  }
  if (!sharded) {
    save_safetensors((dir / "model.safetensors").string(), a);
    return;
  }
  save_safetensors((dir / "model-00001-of-00002.safetensors").string(), a);
  save_safetensors((dir / "model-00002-of-00002.safetensors").string(), b);
  std::ofstream index(dir / "model.safetensors.index.json");
  index << "{\"metadata\": {}, \"weight_map\": {";
  for (size_t i = 0; i < a.size() + b.size(); ++i) {
    const bool first = i < a.size();
    index << (i ? ", " : "") << "\"" << (first ? a[i].first : b[i - a.size()].first) << "\": \""
          << (first ? "model-00001-of-00002" : "model-00002-of-00002") << ".safetensors\"";
  }
  index << "}}";
}

inline void write_text(const std::filesystem::path& path, const std::string& text) { std::ofstream(path) << text; }

}  // namespace ssm::testing
