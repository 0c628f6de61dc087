// train/pretrained.cpp — detecting a public checkpoint's layout, reading its config, mapping its
// tensor names onto ssmlab's reference names and loading the weights.
#include "train/pretrained.h"

#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>  // defines: nlohmann::json

#include "autograd/grad_mode.h"    // defines: NoGradGuard
#include "core/error.h"            // defines: UserError
#include "core/regular_file.h"     // defines: read_regular_file
#include "core/safetensors.h"      // defines: load_safetensors, SafetensorsFile
#include "models/model_factory.h"  // defines: make_model

namespace ssm {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// All tensors of a checkpoint, whether in one file or in shards.
class WeightIndex {
 public:
  explicit WeightIndex(const fs::path& dir) {
    const fs::path single = dir / "model.safetensors", index = dir / "model.safetensors.index.json";
    if (fs::exists(index)) {
      const json map = read_json(index).value("weight_map", json::object());
      SSM_USER_CHECK(map.is_object() && !map.empty(), index.string(), ": no \"weight_map\" object");
      for (const auto& [name, file] : map.items()) {
        SSM_USER_CHECK(file.is_string(), index.string(), ": weight_map[\"", name, "\"] is not a file name");
        files_.try_emplace(file.get<std::string>());
        where_[name] = file.get<std::string>();
      }
      for (auto& [file, st] : files_) st = load_safetensors((dir / file).string());
    } else {
      SSM_USER_CHECK(fs::exists(single), "'", dir.string(), "' has no model.safetensors (convert .bin/.pth ",
                     "checkpoints with scripts/convert_checkpoint.py)");
      files_["model.safetensors"] = load_safetensors(single.string());
      for (const std::string& name : files_["model.safetensors"].names()) where_[name] = "model.safetensors";
    }
    for (const auto& [name, file] : where_) {
      SSM_USER_CHECK(files_.at(file).contains(name), (dir / file).string(), ": the index lists '", name,
                     "' but the file does not hold it");
    }
  }

  bool contains(const std::string& name) const { return where_.count(name) != 0; }
  Tensor get(const std::string& name) const { return files_.at(where_.at(name)).get(name); }
  std::string file_of(const std::string& name) const { return files_.at(where_.at(name)).path(); }
  int64_t count_prefix(const std::string& prefix, const std::string& suffix) const {
    int64_t n = 0;
    while (contains(absl::StrCat(prefix, n, suffix))) ++n;
    return n;
  }

  static json read_json(const fs::path& path) {
    // A regular file only (core/regular_file.h): a FIFO named config.json would block.
    const std::string text = read_regular_file(path.string(), absl::StrCat("cannot read '", path.string(), "'"));
    try {
      return json::parse(text);
    } catch (const json::exception& e) {
      throw UserError(absl::StrCat(path.string(), ": not valid JSON (", e.what(), ")"));
    }
  }

 private:
  std::map<std::string, SafetensorsFile> files_;
  std::map<std::string, std::string> where_;
};

// A required integer from config.json, trying each of `keys` (families rename fields).
int64_t config_int(const json& cfg, const fs::path& path, std::initializer_list<const char*> keys) {
  for (const char* key : keys) {
    if (cfg.contains(key) && cfg[key].is_number_integer()) return cfg[key].get<int64_t>();
  }
  throw UserError(absl::StrCat(path.string(), ": missing integer \"", *keys.begin(), "\""));
}

double config_number(const json& cfg, std::initializer_list<const char*> keys, double fallback) {
  for (const char* key : keys) {
    if (cfg.contains(key) && cfg[key].is_number()) return cfg[key].get<double>();
  }
  return fallback;
}

Shape shape_of(const WeightIndex& w, const std::string& name, const std::string& dir) {
  SSM_USER_CHECK(w.contains(name), dir, ": missing tensor '", name, "'");
  return w.get(name).shape();
}

// RWKV sizes come from the tensors themselves (their .pth files carry no config).
void infer_rwkv(const WeightIndex& w, const std::string& prefix, const std::string& dir, PretrainedInfo& info) {
  const std::string att = prefix + "blocks.0." + (prefix.empty() ? "att." : "attention.");
  const std::string ffn = prefix + "blocks.0." + (prefix.empty() ? "ffn." : "feed_forward.");
  SSM_USER_CHECK(w.contains(att + "ln_x.weight") && w.contains(att + "gate.weight"), dir,
                 ": an RWKV checkpoint without ln_x and gate (RWKV-4 or 5.0/5.1); ssmlab supports v5.2 and v6");
  ModelConfig& m = info.model;
  m = default_model_config(w.contains(att + "time_maa_x") ? "rwkv6" : "rwkv5");
  const Shape emb = shape_of(w, prefix.empty() ? "emb.weight" : prefix + "embeddings.weight", dir);
  info.vocab_size = emb[0];
  m.d_model = emb[1];
  m.n_layer = w.count_prefix(prefix + "blocks.", ".ln1.weight");
  m.headdim = shape_of(w, att + "time_faaaa", dir).back();
  m.d_ffn = shape_of(w, ffn + "key.weight", dir)[0];
  if (m.arch == "rwkv6") {
    m.lora_rank_mix = shape_of(w, att + "time_maa_w1", dir)[1] / 5;
    m.lora_rank_decay = shape_of(w, att + "time_decay_w1", dir)[1];
  }
}

}  // namespace

std::string pretrained_tensor_name(const std::string& layout, const std::string& name) {
  if (layout == "hf-mamba" && name == "backbone.embedding.weight") return "backbone.embeddings.weight";
  if (layout != "hf-rwkv" || name == "head.weight") return name;
  // transformers' RWKV port: rwkv. prefix, longer module names, spelled-out mix slots.
  static const std::pair<const char*, const char*> renames[] = {
      {"emb.", "embeddings."},       {".ln0.", ".pre_ln."},          {".att.", ".attention."},
      {".ffn.", ".feed_forward."},   {"time_mix_k", "time_mix_key"}, {"time_mix_v", "time_mix_value"},
      {"time_mix_r", "time_mix_receptance"}, {"time_mix_g", "time_mix_gate"}};
  std::string out = "rwkv." + name;
  for (const auto& [from, to] : renames) {
    const size_t at = out.find(from);
    if (at != std::string::npos) out.replace(at, std::string(from).size(), to);
  }
  return out;
}

namespace {

// Equal shapes and bitwise-equal values after conversion to f32 (a tied head saved twice).
bool same_values(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return false;
  const Tensor fa = a.dtype() == Dtype::f32 ? a.clone_contiguous() : a.to(Dtype::f32);
  const Tensor fb = b.dtype() == Dtype::f32 ? b.clone_contiguous() : b.to(Dtype::f32);
  return std::memcmp(fa.raw_data(), fb.raw_data(), fa.nbytes()) == 0;
}

bool same_except_unit_dims(const Shape& a, const Shape& b) {
  Shape sa, sb;
  for (int64_t d : a) if (d != 1) sa.push_back(d);
  for (int64_t d : b) if (d != 1) sb.push_back(d);
  return sa == sb;
}

}  // namespace

bool is_pretrained_dir(const std::string& dir) {
  const fs::path p(dir);
  return fs::is_directory(p) && !fs::exists(p / "config.yaml") &&
         (fs::exists(p / "model.safetensors") || fs::exists(p / "model.safetensors.index.json") ||
          fs::exists(p / "config.json"));
}

PretrainedInfo read_pretrained_info(const std::string& dir) {
  const fs::path path(dir);
  SSM_USER_CHECK(fs::is_directory(path), "model directory '", dir, "' does not exist");
  const WeightIndex w(path);
  const fs::path config_path = path / "config.json";
  const json cfg = fs::exists(config_path) ? WeightIndex::read_json(config_path) : json::object();
  const std::string model_type = cfg.value("model_type", std::string());
  PretrainedInfo info;
  ModelConfig& m = info.model;

  if (cfg.contains("ssm_cfg") || model_type == "mamba" || model_type == "mamba2") {
    const bool hf = !model_type.empty();
    const bool v2 = model_type == "mamba2" || (cfg.contains("ssm_cfg") && cfg["ssm_cfg"].is_object() &&
                                               cfg["ssm_cfg"].value("layer", std::string()) == "Mamba2");
    info.layout = hf ? "hf-mamba" : "state-spaces";
    m = default_model_config(v2 ? "mamba2" : "mamba1");
    m.d_model = config_int(cfg, config_path, {"d_model", "hidden_size"});
    m.n_layer = config_int(cfg, config_path, {"n_layer", "num_hidden_layers"});
    m.norm_eps = config_number(cfg, {"layer_norm_epsilon"}, 1e-5);
    const json ssm = cfg.contains("ssm_cfg") && cfg["ssm_cfg"].is_object() ? cfg["ssm_cfg"] : cfg;
    m.d_state = hf ? config_int(cfg, config_path, {"state_size"}) : ssm.value("d_state", m.d_state);
    m.expand = hf ? config_int(cfg, config_path, {"expand"}) : ssm.value("expand", m.expand);
    m.d_conv = hf ? config_int(cfg, config_path, {"conv_kernel"}) : ssm.value("d_conv", m.d_conv);
    if (v2) {
      m.headdim = hf ? config_int(cfg, config_path, {"head_dim"}) : ssm.value("headdim", m.headdim);
      m.ngroups = hf ? config_int(cfg, config_path, {"n_groups"}) : ssm.value("ngroups", m.ngroups);
    } else if (cfg.contains("time_step_rank") && cfg["time_step_rank"].is_number_integer()) {
      m.dt_rank = cfg["time_step_rank"].get<int64_t>();
    }
    const std::string emb_name = pretrained_tensor_name(info.layout, "backbone.embedding.weight");
    info.vocab_size = shape_of(w, w.contains(emb_name) ? emb_name : "backbone.embedding.weight", dir)[0];
  } else if (model_type == "hgrn2") {
    info.layout = "fla";
    m = default_model_config("hgrn2");
    m.d_model = config_int(cfg, config_path, {"hidden_size"});
    m.n_layer = config_int(cfg, config_path, {"num_hidden_layers"});
    if (cfg.contains("expand_ratio") && cfg["expand_ratio"].is_number_integer()) {
      m.headdim = cfg["expand_ratio"].get<int64_t>();
    } else {
      m.headdim = m.d_model / config_int(cfg, config_path, {"num_heads"});
    }
    m.norm_eps = config_number(cfg, {"norm_eps", "rms_norm_eps"}, 1e-6);
    SSM_USER_CHECK(!cfg.value("use_short_conv", false), config_path.string(),
                   ": use_short_conv = true is not supported (no public HGRN-2 checkpoint uses it)");
    SSM_USER_CHECK(cfg.value("use_lower_bound", true), config_path.string(),
                   ": use_lower_bound = false is not supported");
    m.d_ffn = shape_of(w, "model.layers.0.mlp.gate_proj.weight", dir)[0];
    info.vocab_size = shape_of(w, "model.embeddings.weight", dir)[0];
  } else if (model_type == "rwkv5" || model_type == "rwkv6" || w.contains("rwkv.embeddings.weight")) {
    info.layout = "hf-rwkv";
    infer_rwkv(w, "rwkv.", dir, info);
  } else if (w.contains("emb.weight") && w.contains("blocks.0.att.time_faaaa")) {
    info.layout = "rwkv";
    infer_rwkv(w, "", dir, info);
  } else {
    throw UserError(absl::StrCat("'", dir, "': not a recognised checkpoint (expected a config.json with ssm_cfg or ",
                                 "model_type mamba/mamba2/rwkv5/rwkv6/hgrn2, or RWKV .pth tensor names)"));
  }
  if (m.arch == "rwkv5" || m.arch == "rwkv6") {
    m.norm_eps = config_number(cfg, {"layer_norm_epsilon"}, 1e-5);
    m.group_norm_eps = config_number(cfg, {"group_norm_epsilon"}, 64e-5);
  }
  m.pad_vocab_multiple = 1;  // the stored embedding is already padded
  if (const std::string problem = validate_model_config(m); !problem.empty()) {
    throw UserError(absl::StrCat(dir, ": ", problem));
  }
  return info;
}

std::unique_ptr<LanguageModel> load_pretrained(const std::string& dir, PretrainedInfo* info_out, Dtype dtype) {
  const PretrainedInfo info = read_pretrained_info(dir);
  const WeightIndex w{fs::path(dir)};
  try {  // every parameter is filled below: its memory must exist (models/model_config.h)
    check_model_size(info.model, info.vocab_size, static_cast<int64_t>(dtype_size(dtype)), /*check_memory=*/true);
  } catch (const UserError& e) {
    throw UserError(absl::StrCat(dir, ": ", e.what()));
  }
  std::unique_ptr<LanguageModel> model = make_model(info.model, info.vocab_size, 0, dtype, /*initialize=*/false);
  autograd::NoGradGuard no_grad;
  for (NamedParameter& p : model->named_parameters()) {
    // The layout's own name, or the reference name (e.g. old transformers Mamba files).
    std::string name = pretrained_tensor_name(info.layout, p.name);
    if (!w.contains(name) && w.contains(p.name)) name = p.name;
    SSM_USER_CHECK(w.contains(name), dir, ": missing tensor '", name, "'");
    Tensor stored = w.get(name);
    SSM_USER_CHECK(stored.shape() == p.tensor.shape() || same_except_unit_dims(stored.shape(), p.tensor.shape()),
                   w.file_of(name), ": tensor '", name, "' has shape ", shape_str(stored.shape()), ", ",
                   info.model.arch, " expects ", shape_str(p.tensor.shape()));
    if (stored.shape() != p.tensor.shape()) stored = stored.clone_contiguous().as_strided(
        p.tensor.shape(), contiguous_strides(p.tensor.shape()), 0);
    p.tensor.copy_from(stored);  // converts bf16 / f16 / f32 to the model's dtype
  }
  // Mamba ties the head to the embedding; a file with a different lm_head is a different model.
  if ((info.model.arch == "mamba1" || info.model.arch == "mamba2") && w.contains("lm_head.weight")) {
    const Tensor head = w.get("lm_head.weight");
    const std::string emb_name = pretrained_tensor_name(info.layout, "backbone.embedding.weight");
    const Tensor emb = w.get(w.contains(emb_name) ? emb_name : "backbone.embedding.weight");
    SSM_USER_CHECK(same_values(head, emb),
                   w.file_of("lm_head.weight"), ": lm_head.weight differs from the embedding; ssmlab's Mamba ",
                   "models tie the head, as the state-spaces checkpoints do");
  }
  if (info_out) *info_out = info;
  return model;
}

}  // namespace ssm
