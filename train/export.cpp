// train/export.cpp — the export targets of train/export.h: which architectures each takes, the
// config.json each expects, the tensor names, and the tokenizer files.
#include "train/export.h"

#include <algorithm>
#include <map>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>  // defines: nlohmann::ordered_json

#include "core/error.h"             // defines: UserError
#include "core/safetensors.h"       // defines: load_safetensors, save_safetensors
#include "core/torch_save.h"        // defines: save_torch_state_dict
#include "models/model_config.h"    // defines: mamba1_dt_rank
#include "train/checkpoint.h"       // defines: read_checkpoint_config
#include "train/fla_rwkv6.h"        // defines: rwkv6_to_fla
#include "train/pretrained.h"       // defines: pretrained_tensor_name
#include "train/run_dir.h"          // defines: write_file_atomically
#include "train/text/bpe_pipeline.h"  // defines: bpe::to_byte_level
#include "train/text/tokenizer.h"   // defines: ByteTokenizer, tokenizer_file

namespace ssm {
namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

namespace {

// What one target needs to know about the checkpoint.
struct Source {
  std::string dir;
  Config config;
  int64_t vocab_rows = 0;  // the embedding's rows (the padded vocabulary)
};

// ---- config.json of each target -------------------------------------------------------------

// The keys every transformers-style config.json ends with: the byte tokenizer's special ids (when
// the run used it; -1 leaves them out) and the stored dtype.
void add_token_ids_and_dtype(ojson& c, int64_t eos, int64_t pad) {
  if (eos >= 0) c["bos_token_id"] = c["eos_token_id"] = eos;
  if (pad >= 0) c["pad_token_id"] = pad;
  c["torch_dtype"] = "float32";
}

// transformers: MambaConfig / Mamba2Config. Keys left out take transformers' defaults, which are
// ssmlab's (time_step_limit (0, inf), RMSNorm, SiLU); the head is tied to the embedding.
ojson hf_config(const Source& s, int64_t eos, int64_t pad) {
  const ModelConfig& m = s.config.model;
  const bool v2 = m.arch == "mamba2";
  ojson c;
  c["architectures"] = {v2 ? "Mamba2ForCausalLM" : "MambaForCausalLM"};
  c["model_type"] = v2 ? "mamba2" : "mamba";
  c["vocab_size"] = s.vocab_rows;
  c["hidden_size"] = m.d_model;
  c["state_size"] = m.d_state;
  c["num_hidden_layers"] = m.n_layer;
  c["expand"] = m.expand;
  c["conv_kernel"] = m.d_conv;
  if (v2) {
    c["num_heads"] = m.expand * m.d_model / m.headdim;
    c["head_dim"] = m.headdim;
    c["n_groups"] = m.ngroups;
    c["chunk_size"] = m.chunk_size;
  } else {
    c["time_step_rank"] = mamba1_dt_rank(m);
  }
  c["layer_norm_epsilon"] = m.norm_eps;
  c["use_bias"] = false;
  c["use_conv_bias"] = true;
  c["hidden_act"] = "silu";
  c["residual_in_fp32"] = true;
  c["tie_word_embeddings"] = true;
  add_token_ids_and_dtype(c, eos, pad);
  return c;
}

// mamba_ssm: MambaConfig(**config.json), a dataclass that takes no other keys. Its models use
// RMSNorm eps 1e-5 everywhere, which the checkpoint must match.
ojson state_spaces_config(const Source& s) {
  const ModelConfig& m = s.config.model;
  SSM_USER_CHECK(m.norm_eps == 1e-5, s.dir, ": model.norm_eps is ", m.norm_eps,
                 "; state-spaces' config.json cannot say it (mamba_ssm's norms use 1e-5): export --to hf instead");
  ojson ssm_cfg;
  if (m.arch == "mamba2") {
    ssm_cfg = {{"layer", "Mamba2"}, {"d_state", m.d_state},   {"d_conv", m.d_conv},
               {"expand", m.expand}, {"headdim", m.headdim}, {"ngroups", m.ngroups},
               {"chunk_size", m.chunk_size}, {"rmsnorm", true}, {"norm_before_gate", false}};
  } else {
    ssm_cfg = {{"layer", "Mamba1"}, {"d_state", m.d_state}, {"d_conv", m.d_conv},
               {"expand", m.expand}, {"dt_rank", mamba1_dt_rank(m)}};
  }
  ojson c;
  c["d_model"] = m.d_model;
  c["d_intermediate"] = 0;
  c["n_layer"] = m.n_layer;
  c["vocab_size"] = s.vocab_rows;
  c["ssm_cfg"] = ssm_cfg;
  c["attn_layer_idx"] = ojson::array();
  c["attn_cfg"] = ojson::object();
  c["rms_norm"] = true;
  c["residual_in_fp32"] = true;
  c["fused_add_norm"] = true;
  c["pad_vocab_size_multiple"] = 1;  // vocab_size is already the padded row count
  c["tie_embeddings"] = true;
  return c;
}

// flash-linear-attention: HGRN2Config. fla's names are ssmlab's HGRN-2 names; its fused kernels
// are choices of fla's, left at their defaults.
ojson fla_config(const Source& s, int64_t eos, int64_t pad) {
  const ModelConfig& m = s.config.model;
  ojson c;
  c["architectures"] = {"HGRN2ForCausalLM"};
  c["model_type"] = "hgrn2";
  c["vocab_size"] = s.vocab_rows;
  c["hidden_size"] = m.d_model;
  c["num_hidden_layers"] = m.n_layer;
  c["num_heads"] = m.d_model / m.headdim;
  c["expand_ratio"] = m.headdim;
  c["intermediate_size"] = hgrn2_ffn_width(m);
  c["hidden_act"] = "swish";
  c["attn_mode"] = "chunk";
  c["use_short_conv"] = false;
  c["use_lower_bound"] = true;
  c["elementwise_affine"] = true;
  c["norm_eps"] = m.norm_eps;
  c["attn"] = nullptr;
  c["tie_word_embeddings"] = false;
  add_token_ids_and_dtype(c, eos, pad);
  return c;
}

// flash-linear-attention: RWKV6Config, for the tensors train/fla_rwkv6.h arranges. fla has one eps
// for the LayerNorms and the heads' GroupNorm (ln_x), where BlinkDL's RWKV-6 uses 1e-5 and 64e-5
// (GroupNorm(x/8, 1e-5)): only a model trained with the two equal can be written exactly.
ojson fla_rwkv6_config(const Source& s, int64_t eos, int64_t pad) {
  const ModelConfig& m = s.config.model;
  SSM_USER_CHECK(m.norm_eps == m.group_norm_eps, s.dir, ": model.norm_eps is ", m.norm_eps, " and group_norm_eps ",
                 m.group_norm_eps, "; fla's RWKV-6 has one eps for both (its LayerNorms and ln_x), so it cannot ",
                 "hold this model: export --to rwkv, or train with model.group_norm_eps equal to model.norm_eps");
  ojson c;
  c["architectures"] = {"RWKV6ForCausalLM"};
  c["model_type"] = "rwkv6";
  c["vocab_size"] = s.vocab_rows;
  c["hidden_size"] = m.d_model;
  c["num_hidden_layers"] = m.n_layer;
  c["num_heads"] = m.d_model / m.headdim;
  c["expand_k"] = 1;
  c["expand_v"] = 1;
  c["proj_low_rank_dim"] = rwkv6_mix_rank(m);
  c["gate_low_rank_dim"] = rwkv6_decay_rank(m);
  c["intermediate_size"] = rwkv_ffn_width(m);
  c["hidden_act"] = "sqrelu";
  c["norm_first"] = true;
  c["norm_bias"] = true;
  c["norm_eps"] = m.norm_eps;
  c["attn_mode"] = "chunk";
  c["attn"] = nullptr;
  c["tie_word_embeddings"] = false;
  add_token_ids_and_dtype(c, eos, pad);
  return c;
}

// The rwkv package reads only the .pth; this config.json is the one ssmlab reads beside BlinkDL's
// names (train/pretrained.h, layout rwkv). The package fixes the LayerNorm eps at 1e-5 and ln_x's
// GroupNorm eps at 64e-5 (1e-5 · head_size_divisor²), which the checkpoint must match.
ojson rwkv_config(const Source& s) {
  const ModelConfig& m = s.config.model;
  SSM_USER_CHECK(m.norm_eps == 1e-5 && m.group_norm_eps == 64e-5, s.dir, ": model.norm_eps ", m.norm_eps,
                 " and group_norm_eps ", m.group_norm_eps, " must be 1e-5 and 64e-5 for the rwkv package, which ",
                 "fixes both");
  ojson c;
  c["architecture"] = m.arch;
  c["n_embd"] = m.d_model;
  c["n_layer"] = m.n_layer;
  c["head_size"] = m.headdim;
  c["dim_ffn"] = rwkv_ffn_width(m);
  c["vocab_size"] = s.vocab_rows;
  if (m.arch == "rwkv6") {
    c["lora_rank_mix"] = rwkv6_mix_rank(m);
    c["lora_rank_decay"] = rwkv6_decay_rank(m);
  }
  c["layer_norm_epsilon"] = m.norm_eps;
  c["group_norm_epsilon"] = m.group_norm_eps;
  return c;
}

// ---- the tokenizer ----------------------------------------------------------------------------

// ssmlab's byte tokenizer as a Hugging Face tokenizer.json: byte-level BPE without merges, each
// byte's character mapped to the byte's own id, and the two specials after them. The pre-tokenizer
// keeps the text whole (use_regex false), so every byte becomes exactly its id, as in ssmlab.
ojson byte_tokenizer_json() {
  ojson vocab = ojson::object();
  for (int b = 0; b < 256; ++b) vocab[bpe::to_byte_level(std::string(1, static_cast<char>(b)))] = b;
  auto special = [](int64_t id, const char* text) {
    return ojson{{"id", id},           {"content", text}, {"single_word", false}, {"lstrip", false},
                 {"rstrip", false},    {"normalized", false}, {"special", true}};
  };
  ojson t;
  t["version"] = "1.0";
  t["truncation"] = nullptr;
  t["padding"] = nullptr;
  t["added_tokens"] = {special(ByteTokenizer::kEos, "<|endoftext|>"), special(ByteTokenizer::kPad, "<|pad|>")};
  t["normalizer"] = nullptr;
  t["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}};
  t["post_processor"] = nullptr;
  t["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}};
  t["model"] = {{"type", "BPE"},          {"dropout", nullptr},   {"unk_token", nullptr},
                {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr},
                {"fuse_unk", false},      {"byte_fallback", false}, {"ignore_merges", false},
                {"vocab", vocab},         {"merges", ojson::array()}};
  return t;
}

void write_json(const fs::path& path, const ojson& j, std::vector<std::string>& files) {
  write_file_atomically(path.string(), j.dump(2) + "\n");
  files.push_back(path.filename().string());
}

// tokenizer.json (the byte tokenizer's, or the checkpoint's copy) and, for transformers'
// AutoTokenizer, tokenizer_config.json. An RWKV vocabulary is copied as it is.
void write_tokenizer(const Source& s, const fs::path& out, bool for_transformers, std::vector<std::string>& files) {
  const std::string spec = s.config.data.tokenizer;
  if (spec == "byte") {
    write_json(out / "tokenizer.json", byte_tokenizer_json(), files);
    if (for_transformers) {
      write_json(out / "tokenizer_config.json",
                 ojson{{"tokenizer_class", "PreTrainedTokenizerFast"}, {"eos_token", "<|endoftext|>"},
                       {"pad_token", "<|pad|>"}, {"clean_up_tokenization_spaces", false}},
                 files);
    }
    return;
  }
  const fs::path file = tokenizer_file(spec);
  const bool is_json = file.extension() == ".json";
  const fs::path target = out / (is_json ? fs::path("tokenizer.json") : file.filename());
  fs::copy_file(file, target);
  files.push_back(target.filename().string());
  if (for_transformers && is_json) {
    write_json(out / "tokenizer_config.json", ojson{{"tokenizer_class", "PreTrainedTokenizerFast"}}, files);
  }
}

// The architectures each target's library has a model for.
void check_target_takes(const std::string& target, const std::string& arch) {
  const bool mamba = arch == "mamba1" || arch == "mamba2";
  if (target == "hf" || target == "state-spaces") {
    SSM_USER_CHECK(mamba, "ssmlab export --to ", target, ": ", target == "hf" ? "transformers" : "mamba_ssm",
                   " has no ", arch, " model; --to ", target, " takes mamba1 and mamba2 checkpoints",
                   arch == "hgrn2" ? " (HGRN-2: --to fla)" : arch == "mamba1" || arch == "mamba2" ? "" : " (RWKV: --to rwkv)");
  } else if (target == "fla") {
    SSM_USER_CHECK(arch == "hgrn2" || arch == "rwkv6", "ssmlab export --to fla takes hgrn2 and rwkv6 checkpoints, not ",
                   arch, arch == "rwkv5" ? " (RWKV-5: --to rwkv)" : "");
  } else {
    SSM_USER_CHECK(arch == "rwkv5" || arch == "rwkv6", "ssmlab export --to rwkv takes rwkv5 and rwkv6 checkpoints, not ",
                   arch);
  }
}

std::string load_hint(const std::string& target, const std::string& arch) {
  if (target == "hf") {
    return absl::StrCat("transformers.", arch == "mamba2" ? "Mamba2" : "Mamba", "ForCausalLM.from_pretrained(DIR); ",
                        "transformers.AutoTokenizer.from_pretrained(DIR)");
  }
  if (target == "state-spaces") return "mamba_ssm.models.mixer_seq_simple.MambaLMHeadModel.from_pretrained(DIR)";
  if (target == "fla") return "import fla; transformers.AutoModelForCausalLM.from_pretrained(DIR)";
  return "rwkv.model.RWKV(model='DIR/model.pth', strategy='cpu fp32')";
}

const char* library_of(const std::string& target) {
  if (target == "hf") return "transformers";
  if (target == "state-spaces") return "mamba_ssm";
  if (target == "fla") return "flash-linear-attention";
  return "the rwkv package";
}

}  // namespace

const std::vector<std::string>& export_targets() {
  static const std::vector<std::string> targets = {"hf", "state-spaces", "fla", "rwkv"};
  return targets;
}

ExportResult export_checkpoint(const std::string& model_dir, const std::string& target, const std::string& out_dir) {
  SSM_USER_CHECK(std::find(export_targets().begin(), export_targets().end(), target) != export_targets().end(),
                 "--to: unknown target '", target, "' (allowed: hf, state-spaces, fla, rwkv)");
  const fs::path in(model_dir), out(out_dir);
  SSM_USER_CHECK(fs::is_directory(in), "--model: '", model_dir, "' is not a directory");
  SSM_USER_CHECK(fs::exists(in / "config.yaml"), "--model: '", model_dir,
                 "' is not an ssmlab checkpoint (no config.yaml); export reads the checkpoints ssmlab writes");
  Source s{model_dir, read_checkpoint_config(model_dir), 0};
  check_target_takes(target, s.config.model.arch);
  std::error_code ec;
  SSM_USER_CHECK(!fs::exists(out, ec) || (fs::is_directory(out, ec) && fs::is_empty(out, ec)), "--out: '", out_dir,
                 "' exists and is not an empty directory; nothing was written");

  // The weights: read and renamed before anything is written.
  const SafetensorsFile weights = load_safetensors((in / "model.safetensors").string());
  const std::string layout = target == "hf" ? "hf-mamba" : target;  // only transformers renames
  std::vector<std::pair<std::string, Tensor>> tensors;
  if (target == "fla" && s.config.model.arch == "rwkv6") {
    std::map<std::string, Tensor> blinkdl;
    for (const std::string& name : weights.names()) blinkdl.emplace(name, weights.get(name));
    tensors = rwkv6_to_fla(blinkdl, s.config.model.n_layer);
  } else {
    for (const std::string& name : weights.names()) {
      tensors.emplace_back(pretrained_tensor_name(layout, name), weights.get(name));
    }
  }
  const std::string arch = s.config.model.arch;
  const std::string embedding = arch == "hgrn2"                    ? "model.embeddings.weight"
                                : arch == "rwkv5" || arch == "rwkv6" ? "emb.weight"
                                                                     : "backbone.embedding.weight";
  SSM_USER_CHECK(weights.contains(embedding), weights.path(), ": no ", embedding);
  s.vocab_rows = weights.shape(embedding)[0];

  // Everything that can refuse runs before the first file is written.
  const bool byte = s.config.data.tokenizer == "byte";
  const int64_t eos = byte ? ByteTokenizer::kEos : -1, pad = byte ? ByteTokenizer::kPad : -1;
  const ojson config_json = target == "hf"             ? hf_config(s, eos, pad)
                            : target == "state-spaces" ? state_spaces_config(s)
                            : target == "fla"          ? (arch == "rwkv6" ? fla_rwkv6_config(s, eos, pad)
                                                                          : fla_config(s, eos, pad))
                                                       : rwkv_config(s);
  ExportResult result;
  result.load_hint = load_hint(target, s.config.model.arch);

  fs::create_directories(out);
  save_safetensors((out / "model.safetensors").string(), tensors, {{"format", "pt"}});
  result.files.push_back("model.safetensors");
  if (target == "state-spaces" || target == "rwkv") {
    // mamba_ssm's from_pretrained opens pytorch_model.bin only, the rwkv package a .pth; the
    // safetensors copy serves everything else (ssmlab loading the export back among them).
    const std::string name = target == "rwkv" ? "model.pth" : "pytorch_model.bin";
    save_torch_state_dict((out / name).string(), tensors);
    result.files.push_back(name);
  }
  write_json(out / "config.json", config_json, result.files);
  write_tokenizer(s, out, target == "hf" || target == "fla", result.files);
  const std::string readme = absl::StrCat(
      "# ", fs::path(model_dir).lexically_normal().string(), ", exported for ", library_of(target),
      "\n\nWritten by `ssmlab export --to ", target, "` from the ssmlab checkpoint `", model_dir, "` (",
      s.config.model.arch, ", ", s.config.model.n_layer, " layers, d_model ", s.config.model.d_model,
      "). Load it with\n\n    ", result.load_hint, "\n\nTokenizer: ",
      byte ? "bytes (ids 0-255 are the UTF-8 bytes, 256 <|endoftext|>, 257 <|pad|>; the vocabulary is padded to "
           : "the checkpoint's (vocabulary padded to ",
      s.vocab_rows, " rows).\n\nTrained on sequences of ", s.config.data.seq_len,
      " tokens: ssmlab's evaluation commands read that from the checkpoint, not from this export, so give them ",
      "`--train-length ", s.config.data.seq_len, "` here.\n");
  write_file_atomically((out / "README.md").string(), readme);
  result.files.push_back("README.md");
  return result;
}

}  // namespace ssm
