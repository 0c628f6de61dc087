// train/pretrained.cpp — mapping a public checkpoint's tensor names onto ssmlab's reference names
// and loading the weights, every tensor of the file accounted for (the layout and the config are
// read in train/pretrained_config.cpp).
#include "train/pretrained.h"

#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <nlohmann/json.hpp>  // defines: nlohmann::json

#include "autograd/grad_mode.h"        // defines: NoGradGuard
#include "core/error.h"                // defines: UserError
#include "core/json_read.h"            // defines: read_python_json_file
#include "models/model_factory.h"      // defines: make_model
#include "train/fla_rwkv6.h"           // defines: rwkv6_from_fla
#include "train/pretrained_config.h"   // defines: read_pretrained_config
#include "train/weight_index.h"        // defines: WeightIndex

namespace ssm {
namespace fs = std::filesystem;
using json = nlohmann::json;

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

namespace {

PretrainedInfo read_info(const WeightIndex& w, const std::string& dir) {
  const fs::path config_path = fs::path(dir) / "config.json";
  const json cfg = fs::exists(config_path) ? read_python_json_file(config_path.string()) : json::object();
  return read_pretrained_config(w, cfg, config_path.string(), dir);
}

}  // namespace

PretrainedInfo read_pretrained_info(const std::string& dir) {
  SSM_USER_CHECK(fs::is_directory(fs::path(dir)), "model directory '", dir, "' does not exist");
  return read_info(WeightIndex(dir), dir);
}

std::unique_ptr<LanguageModel> load_pretrained(const std::string& dir, PretrainedInfo* info_out, Dtype dtype) {
  SSM_USER_CHECK(fs::is_directory(fs::path(dir)), "model directory '", dir, "' does not exist");
  const WeightIndex w(dir);
  const PretrainedInfo info = read_info(w, dir);
  try {  // every parameter is filled below: its memory must exist (models/model_config.h)
    check_model_size(info.model, info.vocab_size, static_cast<int64_t>(dtype_size(dtype)), /*check_memory=*/true);
  } catch (const UserError& e) {
    throw UserError(absl::StrCat(dir, ": ", e.what()));
  }
  std::unique_ptr<LanguageModel> model = make_model(info.model, info.vocab_size, 0, dtype, /*initialize=*/false);
  autograd::NoGradGuard no_grad;
  std::set<std::string> used;
  // fla's RWKV-6 arranges the same numbers differently: rearranged into BlinkDL's tensors first
  // (and every tensor of its files accounted for there).
  std::map<std::string, Tensor> rearranged;
  if (info.layout == "fla-rwkv6") {
    rearranged = rwkv6_from_fla(w, info.model.n_layer);
    for (NamedParameter& p : model->named_parameters()) {
      const auto it = rearranged.find(p.name);
      SSM_CHECK(it != rearranged.end() && it->second.numel() == p.tensor.numel(), "fla RWKV-6: no ", p.name);
      p.tensor.copy_from(it->second.as_strided(p.tensor.shape(), contiguous_strides(p.tensor.shape()), 0));
    }
    if (info_out) *info_out = info;
    return model;
  }
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
    used.insert(name);
  }
  // Mamba ties the head to the embedding; a file with a different lm_head is a different model.
  if ((info.model.arch == "mamba1" || info.model.arch == "mamba2") && w.contains("lm_head.weight")) {
    const Tensor head = w.get("lm_head.weight");
    const std::string emb_name = pretrained_tensor_name(info.layout, "backbone.embedding.weight");
    const Tensor emb = w.get(w.contains(emb_name) ? emb_name : "backbone.embedding.weight");
    SSM_USER_CHECK(same_values(head, emb),
                   w.file_of("lm_head.weight"), ": lm_head.weight differs from the embedding; ssmlab's Mamba ",
                   "models tie the head, as the state-spaces checkpoints do");
    used.insert("lm_head.weight");
  }
  // Every tensor must have been loaded: one left over belongs to something ssmlab does not build
  // (a bias, an MLP, an extra layer) and would otherwise be dropped silently.
  for (const std::string& name : w.names()) {
    SSM_USER_CHECK(used.count(name) != 0, w.file_of(name), ": tensor '", name, "' ", shape_str(w.shape(name)),
                   " has no place in ssmlab's ", info.model.arch, " (", info.model.n_layer,
                   " layers); refusing the checkpoint rather than loading it without that tensor");
  }
  if (info_out) *info_out = info;
  return model;
}

}  // namespace ssm
