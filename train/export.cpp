// train/export.cpp — the export targets of train/export.h: which architectures each takes, the
// config.json each expects, the tensor names, and the tokenizer files.
#include "train/export.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>  // defines: nlohmann::ordered_json

#include "core/error.h"             // defines: UserError
#include "core/safetensors.h"       // defines: load_safetensors, save_safetensors
#include "core/torch_save.h"        // defines: save_torch_state_dict
#include "models/model_config.h"    // defines: mamba1_dt_rank
#include "train/checkpoint.h"       // defines: read_checkpoint_config
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
  if (eos >= 0) c["bos_token_id"] = c["eos_token_id"] = eos;
  if (pad >= 0) c["pad_token_id"] = pad;
  c["torch_dtype"] = "float32";
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

void check_target_takes(const std::string& target, const std::string& arch) {
  const bool mamba = arch == "mamba1" || arch == "mamba2";
  if (target == "fla" || target == "rwkv") {
    throw UserError(absl::StrCat("ssmlab export --to ", target, " is not implemented yet (",
                                 target == "fla" ? "HGRN-2 and RWKV-6 for flash-linear-attention"
                                                 : "RWKV-5/6 .pth files for the rwkv package",
                                 "); --to hf and --to state-spaces export Mamba and Mamba-2"));
  }
  SSM_USER_CHECK(mamba, "ssmlab export --to ", target, ": ", target == "hf" ? "transformers" : "mamba_ssm",
                 " has no ", arch, " model; --to ", target, " takes mamba1 and mamba2 checkpoints");
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
  const std::string layout = target == "hf" ? "hf-mamba" : "state-spaces";
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const std::string& name : weights.names()) {
    tensors.emplace_back(pretrained_tensor_name(layout, name), weights.get(name));
  }
  SSM_USER_CHECK(weights.contains("backbone.embedding.weight"), weights.path(), ": no backbone.embedding.weight");
  s.vocab_rows = weights.shape("backbone.embedding.weight")[0];

  // Everything that can refuse runs before the first file is written.
  const bool byte = s.config.data.tokenizer == "byte";
  const ojson config_json = target == "hf" ? hf_config(s, byte ? ByteTokenizer::kEos : -1, byte ? ByteTokenizer::kPad : -1)
                                           : state_spaces_config(s);
  ExportResult result;
  result.load_hint = target == "hf" ? absl::StrCat("transformers.", s.config.model.arch == "mamba2" ? "Mamba2" : "Mamba",
                                                   "ForCausalLM.from_pretrained(DIR); "
                                                   "transformers.AutoTokenizer.from_pretrained(DIR)")
                                    : "mamba_ssm.models.mixer_seq_simple.MambaLMHeadModel.from_pretrained(DIR)";

  fs::create_directories(out);
  save_safetensors((out / "model.safetensors").string(), tensors, {{"format", "pt"}});
  result.files.push_back("model.safetensors");
  if (target == "state-spaces") {
    // mamba_ssm's from_pretrained opens pytorch_model.bin only; the safetensors copy serves
    // everything else (ssmlab loading the export back among them).
    save_torch_state_dict((out / "pytorch_model.bin").string(), tensors);
    result.files.push_back("pytorch_model.bin");
  }
  write_json(out / "config.json", config_json, result.files);
  write_tokenizer(s, out, target == "hf", result.files);
  const std::string readme = absl::StrCat(
      "# ", fs::path(model_dir).lexically_normal().string(), ", exported for ", target == "hf" ? "transformers" : "mamba_ssm",
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
