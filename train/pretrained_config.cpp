// train/pretrained_config.cpp — config.json of each public layout, checked key by key against
// the tensors; sizes from the shapes, refusals for the features ssmlab does not implement.
#include "train/pretrained_config.h"

#include <cmath>
#include <optional>

#include "core/error.h"      // defines: UserError
#include "core/json_read.h"  // defines: describe_json

namespace ssm {
using json = nlohmann::json;

namespace {

// The keys of one JSON object of config.json (the top level, or ssm_cfg): typed reads that name
// the key in every error, and the agreement checks against the tensors.
class ConfigKeys {
 public:
  ConfigKeys(const json& object, std::string path, std::string prefix = "")
      : object_(object), path_(std::move(path)), prefix_(std::move(prefix)) {}

  // The value under `key`; nullptr when absent or null (Hugging Face writes null for "unset").
  const json* find(const std::string& key) const {
    const auto it = object_.find(key);
    return it == object_.end() || it->is_null() ? nullptr : &*it;
  }

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw UserError(absl::StrCat(path_, ": ", prefix_, key, " ", what));
  }

  // A feature ssmlab does not implement: loading on would give a different model.
  [[noreturn]] void unsupported(const std::string& key, const std::string& what) const {
    fail(key, absl::StrCat("= ", describe_json(*find(key)), " (", what,
                           ") is not implemented by ssmlab; refusing the checkpoint rather than loading a "
                           "different model"));
  }

  std::optional<int64_t> positive(const std::string& key) const {
    const json* v = find(key);
    if (!v) return std::nullopt;
    if (!v->is_number_integer() || (v->is_number_unsigned() && v->get<uint64_t>() > INT64_MAX) ||
        v->get<int64_t>() < 1) {
      fail(key, absl::StrCat("must be a positive integer, got ", describe_json(*v)));
    }
    return v->get<int64_t>();
  }

  std::optional<double> positive_number(const std::string& key) const {
    const json* v = find(key);
    if (!v) return std::nullopt;
    if (!v->is_number() || !std::isfinite(v->get<double>()) || v->get<double>() <= 0) {
      fail(key, absl::StrCat("must be a finite number > 0, got ", describe_json(*v)));
    }
    return v->get<double>();
  }

  std::optional<bool> flag(const std::string& key) const {
    const json* v = find(key);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) fail(key, absl::StrCat("must be true or false, got ", describe_json(*v)));
    return v->get<bool>();
  }

  std::optional<std::string> text(const std::string& key) const {
    const json* v = find(key);
    if (!v) return std::nullopt;
    if (!v->is_string()) fail(key, absl::StrCat("must be a string, got ", describe_json(*v)));
    return v->get<std::string>();
  }

  // The object under `key` (absent or null: an empty one), for nested sections like ssm_cfg.
  ConfigKeys section(const std::string& key) const {
    const json* v = find(key);
    if (v && !v->is_object()) fail(key, absl::StrCat("must be an object, got ", describe_json(*v)));
    return ConfigKeys(v ? *v : empty(), path_, absl::StrCat(prefix_, key, "."));
  }

  // A size the config states must be the one the tensors have (`source` says which tensor).
  void expect(const std::string& key, int64_t from_tensors, const std::string& source) const {
    const std::optional<int64_t> stated = positive(key);
    if (stated && *stated != from_tensors) {
      fail(key, absl::StrCat("is ", *stated, ", but the tensors say ", from_tensors, " (", source, ")"));
    }
  }

  // `key`, when present, must be true (or false, as `supported` says); otherwise unsupported.
  void require_flag(const std::string& key, bool supported, const std::string& what) const {
    const std::optional<bool> v = flag(key);
    if (v && *v != supported) unsupported(key, what);
  }

  void require_text(const std::string& key, std::initializer_list<const char*> supported, const std::string& what) const {
    const std::optional<std::string> v = text(key);
    if (!v) return;
    for (const char* s : supported) {
      if (*v == s) return;
    }
    unsupported(key, what);
  }

  // A value that must be absent, null, 0, false or empty: anything else switches a feature on.
  void require_off(const std::string& key, const std::string& what) const {
    const json* v = find(key);
    if (!v) return;
    const bool off = (v->is_boolean() && !v->get<bool>()) || (v->is_number() && v->get<double>() == 0) ||
                     ((v->is_array() || v->is_object() || v->is_string()) && v->empty());
    if (!off) unsupported(key, what);
  }

  const std::string& path() const { return path_; }

 private:
  static const json& empty() {
    static const json e = json::object();
    return e;
  }

  const json& object_;
  std::string path_;
  std::string prefix_;
};

// "<name> <shape>": where a size came from, for messages.
std::string shape_source(const WeightIndex& w, const std::string& name) {
  return absl::StrCat(name, " ", shape_str(w.shape(name)));
}

// +inf as transformers 5 writes it ({"__float__": "Infinity"}), as read_python_json_file rewrites
// Python's bare Infinity, or as a string.
bool is_positive_infinity(const json& value) {
  const json& v = value.is_object() && value.size() == 1 && value.contains("__float__") ? value["__float__"] : value;
  return v.is_string() && (v.get<std::string>() == "Infinity" || v.get<std::string>() == "inf");
}

// Mamba-2's Δ clamp (dt_limit / time_step_limit): ssmlab implements only none, (0, inf).
void require_no_dt_limit(const ConfigKeys& keys, const std::string& key) {
  const json* v = keys.find(key);
  if (!v) return;
  const bool none = v->is_array() && v->size() == 2 && (*v)[0].is_number() && (*v)[0].get<double>() == 0 &&
                    is_positive_infinity((*v)[1]);
  if (!none) keys.unsupported(key, "a clamp of the time step Δ; ssmlab implements only (0, inf)");
}

// dt_rank / time_step_rank: "auto" = ceil(d_model / 16), or the rank itself.
void expect_dt_rank(const ConfigKeys& keys, const std::string& key, int64_t d_model, int64_t from_tensors,
                    const std::string& source) {
  const json* v = keys.find(key);
  if (!v) return;
  if (v->is_string()) {
    if (v->get<std::string>() != "auto") keys.fail(key, absl::StrCat("must be \"auto\" or a positive integer, got ",
                                                                     describe_json(*v)));
    const int64_t automatic = (d_model + 15) / 16;
    if (automatic != from_tensors) {
      keys.fail(key, absl::StrCat("is \"auto\" (ceil(d_model / 16) = ", automatic, "), but the tensors say ",
                                  from_tensors, " (", source, ")"));
    }
    return;
  }
  keys.expect(key, from_tensors, source);
}

// vocab_size may be below the embedding's rows (publishers pad them), never above.
void check_vocab(const ConfigKeys& keys, const std::string& key, int64_t rows, const std::string& source) {
  const std::optional<int64_t> v = keys.positive(key);
  if (v && *v > rows) keys.fail(key, absl::StrCat("is ", *v, ", more than the embedding's ", rows, " rows (", source, ")"));
}

int64_t exact_quotient(int64_t a, int64_t b, const std::string& file, const std::string& what) {
  SSM_USER_CHECK(b > 0 && a % b == 0, file, ": ", what, " (", a, " / ", b, ") is not a whole number");
  return a / b;
}

// ---- Mamba: state-spaces (ssm_cfg) and transformers (model_type mamba / mamba2) ----------------

void read_mamba(const WeightIndex& w, const ConfigKeys& top, bool v2, PretrainedInfo& info) {
  const bool hf = info.layout == "hf-mamba";
  ModelConfig& m = info.model;
  m = default_model_config(v2 ? "mamba2" : "mamba1");
  const ConfigKeys ssm = hf ? top : top.section("ssm_cfg");
  const std::string emb_ref = "backbone.embedding.weight", emb_layout = pretrained_tensor_name(info.layout, emb_ref);
  const std::string emb = w.contains(emb_layout) || !w.contains(emb_ref) ? emb_layout : emb_ref;
  const std::string l0 = "backbone.layers.0.mixer.";
  const Shape& e = w.require_shape(emb, 2);
  info.vocab_size = e[0];
  m.d_model = e[1];
  m.n_layer = w.count_prefix("backbone.layers.", ".mixer.in_proj.weight");
  w.require_shape(l0 + "in_proj.weight", 2);
  const int64_t E = w.require_shape(l0 + "out_proj.weight", 2)[1];
  const std::string file = w.file_of(l0 + "out_proj.weight");
  m.expand = exact_quotient(E, m.d_model, file, "d_inner (out_proj.weight's columns) / d_model");
  const Shape& conv = w.require_shape(l0 + "conv1d.weight", 3);
  m.d_conv = conv[2];
  if (!v2) {
    m.d_state = w.require_shape(l0 + "A_log", 2)[1];
    m.dt_rank = w.require_shape(l0 + "dt_proj.weight", 2)[1];
  } else {
    const int64_t H = w.require_shape(l0 + "A_log", 1)[0];
    m.headdim = exact_quotient(E, H, file, "d_inner / the heads of A_log");
    SSM_USER_CHECK(conv[0] > E && (conv[0] - E) % 2 == 0, w.file_of(l0 + "conv1d.weight"), ": tensor '", l0,
                   "conv1d.weight' has shape ", shape_str(conv), "; Mamba-2 needs d_inner (", E,
                   ") + 2 * ngroups * d_state rows");
    const int64_t GN = (conv[0] - E) / 2;
    // B and C hold ngroups * d_state rows together; the config says how they split.
    m.d_state = ssm.positive(hf ? "state_size" : "d_state").value_or(128);
    m.ngroups = exact_quotient(GN, m.d_state, w.file_of(l0 + "conv1d.weight"),
                               absl::StrCat("ngroups = (conv1d rows - d_inner) / 2 / ", hf ? "state_size" : "ssm_cfg.d_state"));
  }
  m.norm_eps = top.positive_number("layer_norm_epsilon").value_or(top.positive_number("norm_epsilon").value_or(1e-5));

  const std::string emb_source = shape_source(w, emb), out_source = shape_source(w, l0 + "out_proj.weight");
  const std::string conv_source = shape_source(w, l0 + "conv1d.weight"), a_source = shape_source(w, l0 + "A_log");
  const std::string layers_source = absl::StrCat(m.n_layer, " backbone.layers.N.mixer.in_proj.weight");
  top.expect(hf ? "hidden_size" : "d_model", m.d_model, emb_source);
  top.expect(hf ? "num_hidden_layers" : "n_layer", m.n_layer, layers_source);
  check_vocab(top, "vocab_size", info.vocab_size, emb_source);
  ssm.expect("expand", m.expand, out_source);
  ssm.expect(hf ? "conv_kernel" : "d_conv", m.d_conv, conv_source);
  if (hf) top.expect("intermediate_size", E, out_source);
  if (!v2) {
    ssm.expect(hf ? "state_size" : "d_state", m.d_state, a_source);
    expect_dt_rank(ssm, hf ? "time_step_rank" : "dt_rank", m.d_model, m.dt_rank,
                   shape_source(w, l0 + "dt_proj.weight"));
  } else {
    ssm.expect(hf ? "head_dim" : "headdim", m.headdim, absl::StrCat(out_source, " and ", a_source));
    ssm.expect(hf ? "n_groups" : "ngroups", m.ngroups, conv_source);
    if (hf) top.expect("num_heads", E / m.headdim, a_source);
    // mamba_ssm's d_ssm < d_inner sends part of in_proj through a gated MLP instead of the SSM.
    ssm.expect("d_ssm", E, out_source);
    require_no_dt_limit(ssm, hf ? "time_step_limit" : "dt_limit");
    ssm.require_flag(hf ? "rms_norm" : "rmsnorm", true, hf ? "norms other than RMSNorm" : "no gated RMSNorm before out_proj");
    ssm.require_flag("norm_before_gate", false, "the gate applied after the norm");
    ssm.require_flag("D_has_hdim", false, "a skip D per channel instead of per head");
  }
  // Biases: Hugging Face spells them use_bias / use_conv_bias, mamba_ssm bias / conv_bias.
  ssm.require_flag(hf ? "use_bias" : "bias", false, "biases on in_proj and out_proj");
  ssm.require_flag(hf ? "use_conv_bias" : "conv_bias", true, "a conv1d without bias");
  if (hf) {
    top.require_text("hidden_act", {"silu", "swish"}, "an activation other than SiLU");
  } else {
    top.require_flag("rms_norm", true, "LayerNorm instead of RMSNorm");
    top.require_off("d_intermediate", "an MLP block after every mixer");
    top.require_off("attn_layer_idx", "attention layers among the Mamba layers");
    const std::optional<std::string> layer = ssm.text("layer");
    if (layer && *layer != "Mamba1" && *layer != "Mamba2") ssm.unsupported("layer", "a mixer other than Mamba1 / Mamba2");
  }
  // ssmlab's Mamba ties the head to the embedding; an untied head must be in the file (and is
  // then required to equal the embedding, train/pretrained.cpp).
  const char* tie = hf ? "tie_word_embeddings" : "tie_embeddings";
  if (top.flag(tie) == false && !w.contains("lm_head.weight")) {
    top.unsupported(tie, "a head of its own, but the file holds no lm_head.weight");
  }
}

// ---- RWKV-5 / RWKV-6: official names (config.json optional) and transformers' rwkv. names -------

void read_rwkv(const WeightIndex& w, const ConfigKeys& cfg, const std::string& prefix, PretrainedInfo& info) {
  const std::string att = prefix + "blocks.0." + (prefix.empty() ? "att." : "attention.");
  const std::string ffn = prefix + "blocks.0." + (prefix.empty() ? "ffn." : "feed_forward.");
  SSM_USER_CHECK(w.contains(att + "ln_x.weight") && w.contains(att + "gate.weight"), w.file_of(att + "time_faaaa"),
                 ": an RWKV checkpoint without ln_x and gate (RWKV-4 or 5.0/5.1); ssmlab supports v5.2 and v6");
  ModelConfig& m = info.model;
  m = default_model_config(w.contains(att + "time_maa_x") ? "rwkv6" : "rwkv5");
  const std::string emb = prefix.empty() ? "emb.weight" : prefix + "embeddings.weight";
  const Shape& e = w.require_shape(emb, 2);
  info.vocab_size = e[0];
  m.d_model = e[1];
  m.n_layer = w.count_prefix(prefix + "blocks.", ".ln1.weight");
  m.headdim = w.require_shape(att + "time_faaaa", 2)[1];
  m.d_ffn = w.require_shape(ffn + "key.weight", 2)[0];
  if (m.arch == "rwkv6") {
    m.lora_rank_mix = exact_quotient(w.require_shape(att + "time_maa_w1", 2)[1], 5, w.file_of(att + "time_maa_w1"),
                                     "the columns of time_maa_w1 / its 5 mix slots");
    m.lora_rank_decay = w.require_shape(att + "time_decay_w1", 2)[1];
  }
  m.norm_eps = cfg.positive_number("layer_norm_epsilon").value_or(1e-5);
  m.group_norm_eps = cfg.positive_number("group_norm_epsilon").value_or(64e-5);

  const std::string emb_source = shape_source(w, emb), faaaa = shape_source(w, att + "time_faaaa");
  const std::string ffn_source = shape_source(w, ffn + "key.weight");
  const std::string layers_source = absl::StrCat(m.n_layer, " ", prefix, "blocks.N.ln1.weight");
  const bool hf = !prefix.empty();
  // The family named in the config must be the one the tensors are (v6 has time_maa_x).
  const char* family_key = hf ? "model_type" : "architecture";
  if (const std::optional<std::string> family = cfg.text(family_key); family && *family != m.arch) {
    cfg.fail(family_key, absl::StrCat("is \"", *family, "\", but the tensors are ", m.arch, "'s (", att,
                                      m.arch == "rwkv6" ? "time_maa_x present)" : "time_maa_x absent)"));
  }
  cfg.expect(hf ? "hidden_size" : "n_embd", m.d_model, emb_source);
  cfg.expect(hf ? "num_hidden_layers" : "n_layer", m.n_layer, layers_source);
  cfg.expect("head_size", m.headdim, faaaa);
  cfg.expect(hf ? "intermediate_size" : "dim_ffn", m.d_ffn, ffn_source);
  check_vocab(cfg, "vocab_size", info.vocab_size, emb_source);
  if (m.arch == "rwkv6") {
    cfg.expect("lora_rank_mix", m.lora_rank_mix, shape_source(w, att + "time_maa_w1"));
    cfg.expect("lora_rank_decay", m.lora_rank_decay, shape_source(w, att + "time_decay_w1"));
  }
  if (hf) {
    // ssmlab's time mix works on d_model channels, and folds the head divisor 8 into ln_x's eps
    // (docs/architectures.md, RWKV GroupNorm scale).
    cfg.expect("attention_hidden_size", m.d_model, emb_source);
    if (const std::optional<int64_t> divisor = cfg.positive("head_size_divisor"); divisor && *divisor != 8) {
      cfg.unsupported("head_size_divisor", "a GroupNorm input scale other than 1/8");
    }
  }
  const char* tie = "tie_word_embeddings";
  if (cfg.flag(tie) == true) cfg.unsupported(tie, "a head tied to the embedding; RWKV's head.weight is its own");
}

// ---- RWKV-6: flash-linear-attention (model_type rwkv6, model.* names; train/fla_rwkv6.h) -------

void read_fla_rwkv6(const WeightIndex& w, const ConfigKeys& cfg, PretrainedInfo& info) {
  ModelConfig& m = info.model;
  m = default_model_config("rwkv6");
  const std::string a0 = "model.layers.0.attn.";
  const Shape& e = w.require_shape("model.embeddings.weight", 2);
  info.vocab_size = e[0];
  m.d_model = e[1];
  m.n_layer = w.count_prefix("model.layers.", ".attn_norm.weight");
  const Shape& bonus = w.require_shape(a0 + "bonus", 2);
  m.headdim = bonus[1];
  m.d_ffn = w.require_shape("model.layers.0.ffn.key.linear.weight", 2)[0];
  m.lora_rank_mix = exact_quotient(w.require_shape(a0 + "x_proj.0.linear.weight", 2)[0], 5,
                                   w.file_of(a0 + "x_proj.0.linear.weight"), "x_proj.0.linear.weight's rows / 5 slots");
  m.lora_rank_decay = w.require_shape(a0 + "w_proj.linear.lora.0.weight", 2)[0];
  // fla's RWKV-6 has one eps for its LayerNorms and for the GroupNorm of the heads' output.
  m.norm_eps = m.group_norm_eps = cfg.positive_number("norm_eps").value_or(1e-5);
  cfg.expect("hidden_size", m.d_model, shape_source(w, "model.embeddings.weight"));
  cfg.expect("num_hidden_layers", m.n_layer, absl::StrCat(m.n_layer, " model.layers.N.attn_norm.weight"));
  cfg.expect("num_heads", bonus[0], shape_source(w, a0 + "bonus"));
  cfg.expect("intermediate_size", m.d_ffn, shape_source(w, "model.layers.0.ffn.key.linear.weight"));
  cfg.expect("proj_low_rank_dim", m.lora_rank_mix, shape_source(w, a0 + "x_proj.0.linear.weight"));
  cfg.expect("gate_low_rank_dim", m.lora_rank_decay, shape_source(w, a0 + "w_proj.linear.lora.0.weight"));
  check_vocab(cfg, "vocab_size", info.vocab_size, shape_source(w, "model.embeddings.weight"));
  for (const char* key : {"expand_k", "expand_v"}) {
    if (const std::optional<double> v = cfg.positive_number(key); !v || *v != 1.0) {
      cfg.fail(key, absl::StrCat("must be 1 (keys and values as wide as the model, as in RWKV-6); ",
                                 v ? "it is another width" : "absent, fla's default is not 1"));
    }
  }
  cfg.require_text("hidden_act", {"sqrelu"}, "a channel mix other than RWKV's squared ReLU");
  cfg.require_flag("norm_first", true, "no LayerNorm before the first block");
  cfg.require_flag("norm_bias", true, "LayerNorms without bias");
  cfg.require_flag("tie_word_embeddings", false, "a head tied to the embedding; RWKV's head is its own");
  cfg.require_off("attn", "attention layers among the RWKV-6 layers");
}

// ---- HGRN-2: flash-linear-attention (model_type hgrn2) ----------------------------------------

void read_hgrn2(const WeightIndex& w, const ConfigKeys& cfg, PretrainedInfo& info) {
  ModelConfig& m = info.model;
  m = default_model_config("hgrn2");
  const Shape& e = w.require_shape("model.embeddings.weight", 2);
  info.vocab_size = e[0];
  m.d_model = e[1];
  m.n_layer = w.count_prefix("model.layers.", ".attn_norm.weight");
  m.d_ffn = w.require_shape("model.layers.0.mlp.gate_proj.weight", 2)[0];
  m.norm_eps = cfg.positive_number("norm_eps").value_or(cfg.positive_number("rms_norm_eps").value_or(1e-6));
  const std::string emb_source = shape_source(w, "model.embeddings.weight");
  cfg.expect("hidden_size", m.d_model, emb_source);
  cfg.expect("num_hidden_layers", m.n_layer, absl::StrCat(m.n_layer, " model.layers.N.attn_norm.weight"));
  cfg.expect("intermediate_size", m.d_ffn, shape_source(w, "model.layers.0.mlp.gate_proj.weight"));
  check_vocab(cfg, "vocab_size", info.vocab_size, emb_source);
  // fla: expand_ratio is the key/forget width per head, num_heads * expand_ratio = hidden_size in
  // every layer ssmlab builds; either key gives the other (fla's default: expand_ratio 128).
  const std::optional<int64_t> ratio = cfg.positive("expand_ratio"), heads = cfg.positive("num_heads");
  if (ratio) {
    m.headdim = *ratio;
    if (heads && *heads * *ratio != m.d_model) {
      cfg.fail("num_heads", absl::StrCat("(", *heads, ") * expand_ratio (", *ratio, ") must equal hidden_size (",
                                         m.d_model, "): ssmlab's HGRN-2 forget gate is hidden_size wide"));
    }
  } else if (heads) {
    m.headdim = exact_quotient(m.d_model, *heads, cfg.path(), "hidden_size / num_heads");
  } else {
    m.headdim = 128;
  }
  cfg.require_flag("use_short_conv", false, "a short convolution before the recurrence");
  cfg.require_flag("use_lower_bound", true, "forget gates without the per-layer lower bound");
  cfg.require_flag("elementwise_affine", true, "norms without weights");
  cfg.require_flag("tie_word_embeddings", false, "a head tied to the embedding; ssmlab loads lm_head.weight");
  cfg.require_text("hidden_act", {"swish", "silu"}, "an MLP activation other than SwiGLU's");
  cfg.require_off("attn", "attention layers among the HGRN-2 layers");
  cfg.require_off("attnres_block_size", "attention-residual blocks");
}

}  // namespace

PretrainedInfo read_pretrained_config(const WeightIndex& w, const json& cfg, const std::string& config_path,
                                      const std::string& dir) {
  SSM_USER_CHECK(cfg.is_object(), config_path, ": must be a JSON object of settings, got ", describe_json(cfg));
  const ConfigKeys top(cfg, config_path);
  const std::string model_type = top.text("model_type").value_or("");
  PretrainedInfo info;
  if (cfg.contains("ssm_cfg") || model_type == "mamba" || model_type == "mamba2") {
    info.layout = model_type.empty() ? "state-spaces" : "hf-mamba";
    const bool v2 = model_type == "mamba2" || top.section("ssm_cfg").text("layer") == "Mamba2";
    read_mamba(w, top, v2, info);
  } else if (model_type == "hgrn2") {
    info.layout = "fla";
    read_hgrn2(w, top, info);
  } else if (model_type == "rwkv6" && w.contains("model.embeddings.weight")) {
    info.layout = "fla-rwkv6";
    read_fla_rwkv6(w, top, info);
  } else if (model_type == "rwkv5" || model_type == "rwkv6" ||
             (model_type.empty() && w.contains("rwkv.embeddings.weight"))) {
    info.layout = "hf-rwkv";
    read_rwkv(w, top, "rwkv.", info);
  } else if (!model_type.empty()) {
    top.fail("model_type", absl::StrCat("\"", model_type, "\" is not a family ssmlab loads (mamba, mamba2, rwkv5, ",
                                        "rwkv6, hgrn2)"));
  } else if (w.contains("emb.weight") && w.contains("blocks.0.att.time_faaaa")) {
    info.layout = "rwkv";
    read_rwkv(w, top, "", info);
  } else {
    throw UserError(absl::StrCat("'", dir, "': not a recognised checkpoint (expected a config.json with ssm_cfg or ",
                                 "model_type mamba/mamba2/rwkv5/rwkv6/hgrn2, or RWKV .pth tensor names)"));
  }
  info.model.pad_vocab_multiple = 1;  // the stored embedding is already padded
  SSM_USER_CHECK(info.model.n_layer >= 1, dir, ": no layers found (the first layer's tensors are missing)");
  if (const std::string problem = validate_model_config(info.model); !problem.empty()) {
    throw UserError(absl::StrCat(dir, ": ", problem));
  }
  return info;
}

}  // namespace ssm
