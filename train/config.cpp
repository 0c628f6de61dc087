// train/config.cpp — reading, validating and writing run configs (train/config.h).
//
// How it works: the YAML text is parsed into a yaml-cpp tree, the `--set key.path=value`
// overrides are written into that tree, and then each section is read through a `Section`,
// which knows the section's allowed keys. Reading a key checks its type and range on the spot,
// so every error names the file, the full key path and what would have been accepted.
// Nothing is silently ignored: an unknown key anywhere is an error.
#include "train/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <map>

#include "absl/strings/str_join.h"   // defines: absl::StrJoin
#include "absl/strings/str_split.h"  // defines: absl::StrSplit
#include "core/checked_size.h"       // defines: checked_mul, check_allocation
#include "core/error.h"              // defines: UserError
#include "core/regular_file.h"       // defines: read_regular_file, kMaxConfigFileBytes

namespace ssm {

namespace {

// ---- describing values in messages ------------------------------------------------------

// What the user wrote, for "got ..." in messages: 'fast', a sequence, a mapping, nothing.
std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar: return absl::StrCat("'", node.Scalar(), "'");
    case YAML::NodeType::Sequence: return "a sequence";
    case YAML::NodeType::Map: return "a mapping";
    default: return "nothing";
  }
}

std::string join_key(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : absl::StrCat(prefix, ".", key);
}

// Shortest text that reads back as exactly the same double (e.g. 0.1, not 0.10000000000000001).
std::string shortest_double(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

// ---- one mapping of the config, read key by key -----------------------------------------

class Section {
 public:
  // `node` may be absent (every key then takes its default, required keys fail).
  Section(const std::string& source, const YAML::Node& node, std::string path, std::vector<std::string> allowed)
      : source_(source), node_(node), path_(std::move(path)), allowed_(std::move(allowed)) {
    if (!node_ || node_.IsNull()) return;
    if (!node_.IsMap()) {
      const std::string what = path_.empty() ? "the config" : absl::StrCat("'", path_, "'");
      fail(absl::StrCat(what, " must be a mapping of keys (", list_allowed(), "), got ", describe(node_)));
    }
    reject_unknown_and_duplicate_keys();
  }

  [[noreturn]] void fail(const std::string& what) const { throw UserError(absl::StrCat(source_, ": ", what)); }

  std::string key_path(const std::string& key) const { return join_key(path_, key); }

  // The value node of `key`, or an undefined node when absent (missing required keys fail).
  YAML::Node find(const std::string& key, bool required) const {
    SSM_CHECK(std::find(allowed_.begin(), allowed_.end(), key) != allowed_.end(), "config reader asks for key '",
              key_path(key), "' that its section does not allow");
    if (node_ && node_.IsMap() && node_[key]) return node_[key];
    if (required) fail(absl::StrCat("missing required key '", key_path(key), "'"));
    return YAML::Node(YAML::NodeType::Undefined);
  }

  int64_t integer(const std::string& key, int64_t fallback, bool required = false) const {
    const YAML::Node node = find(key, required);
    if (!node) return fallback;
    int64_t value = 0;
    if (!node.IsScalar() || !YAML::convert<int64_t>::decode(node, value)) {
      fail(absl::StrCat("'", key_path(key), "' must be an integer, got ", describe(node)));
    }
    return value;
  }

  int64_t positive_integer(const std::string& key, int64_t fallback, bool required = false) const {
    const int64_t value = integer(key, fallback, required);
    if (value <= 0) fail(absl::StrCat("'", key_path(key), "' must be a positive integer, got ", value));
    return value;
  }

  int64_t non_negative_integer(const std::string& key, int64_t fallback) const {
    const int64_t value = integer(key, fallback);
    if (value < 0) fail(absl::StrCat("'", key_path(key), "' must be an integer >= 0, got ", value));
    return value;
  }

  uint64_t unsigned_integer(const std::string& key, uint64_t fallback) const {
    const YAML::Node node = find(key, false);
    if (!node) return fallback;
    uint64_t value = 0;
    if (!node.IsScalar() || node.Scalar().starts_with("-") || !YAML::convert<uint64_t>::decode(node, value)) {
      fail(absl::StrCat("'", key_path(key), "' must be an integer >= 0, got ", describe(node)));
    }
    return value;
  }

  double number(const std::string& key, double fallback) const {
    const YAML::Node node = find(key, false);
    if (!node) return fallback;
    double value = 0;
    if (!node.IsScalar() || !YAML::convert<double>::decode(node, value)) {
      fail(absl::StrCat("'", key_path(key), "' must be a number, got ", describe(node)));
    }
    if (!std::isfinite(value)) fail(absl::StrCat("'", key_path(key), "' must be a finite number, got ", describe(node)));
    return value;
  }

  // A number that must satisfy `ok`; `rule` says what was expected ("> 0", "in [0, 1)").
  template <typename Predicate>
  double number_where(const std::string& key, double fallback, Predicate ok, const char* rule) const {
    const double value = number(key, fallback);
    if (!ok(value)) fail(absl::StrCat("'", key_path(key), "' must be ", rule, ", got ", shortest_double(value)));
    return value;
  }

  std::string text(const std::string& key, const std::string& fallback, bool required = false) const {
    const YAML::Node node = find(key, required);
    if (!node) return fallback;
    if (!node.IsScalar()) fail(absl::StrCat("'", key_path(key), "' must be a string, got ", describe(node)));
    return node.Scalar();
  }

  std::string choice(const std::string& key, const std::string& fallback, const std::vector<std::string>& options,
                     bool required = false) const {
    const std::string value = text(key, fallback, required);
    if (std::find(options.begin(), options.end(), value) == options.end()) {
      fail(absl::StrCat("'", key_path(key), "' must be one of ", absl::StrJoin(options, ", "), "; got '", value,
                        "'"));
    }
    return value;
  }

 private:
  std::string list_allowed() const { return absl::StrCat("allowed: ", absl::StrJoin(allowed_, ", ")); }

  void reject_unknown_and_duplicate_keys() const {
    std::map<std::string, int> seen;
    for (const auto& item : node_) {
      const std::string key = item.first.IsScalar() ? item.first.Scalar() : describe(item.first);
      if (std::find(allowed_.begin(), allowed_.end(), key) == allowed_.end()) {
        fail(absl::StrCat("unknown key '", key_path(key), "' (", list_allowed(), ")"));
      }
      if (++seen[key] > 1) fail(absl::StrCat("key '", key_path(key), "' appears twice"));
    }
  }

  std::string source_;
  YAML::Node node_;
  std::string path_;
  std::vector<std::string> allowed_;
};

// ---- the five sections --------------------------------------------------------------------

RunConfig read_run(const Section& s) {
  RunConfig run;
  run.seed = s.unsigned_integer("seed", run.seed);
  run.device = s.choice("device", run.device, {"auto", "cpu", "cuda"});
  run.precision = s.choice("precision", run.precision, {"fp32", "bf16-mixed"});
  return run;
}

// The `model:` keys, each bound to its ModelConfig field. Which keys an architecture accepts is
// models/model_config.h's business; here each key only needs its type and its rule.
struct IntegerKey {
  const char* key;
  int64_t ModelConfig::*field;
  bool zero_means_auto;  // 0 selects the reference formula (dt_rank, d_ffn, LoRA ranks)
};
const IntegerKey kModelIntegerKeys[] = {
    {"d_model", &ModelConfig::d_model, false},     {"n_layer", &ModelConfig::n_layer, false},
    {"d_state", &ModelConfig::d_state, false},     {"headdim", &ModelConfig::headdim, false},
    {"expand", &ModelConfig::expand, false},       {"d_conv", &ModelConfig::d_conv, false},
    {"ngroups", &ModelConfig::ngroups, false},     {"dt_rank", &ModelConfig::dt_rank, true},
    {"d_ffn", &ModelConfig::d_ffn, true},          {"lora_rank_mix", &ModelConfig::lora_rank_mix, true},
    {"lora_rank_decay", &ModelConfig::lora_rank_decay, true},
    {"chunk_size", &ModelConfig::chunk_size, false},
    {"pad_vocab_multiple", &ModelConfig::pad_vocab_multiple, false},
};
struct NumberKey {
  const char* key;
  double ModelConfig::*field;
};
const NumberKey kModelNumberKeys[] = {{"norm_eps", &ModelConfig::norm_eps},
                                      {"group_norm_eps", &ModelConfig::group_norm_eps},
                                      {"a_init_min", &ModelConfig::a_init_min},
                                      {"a_init_max", &ModelConfig::a_init_max}};

bool accepts(const std::vector<std::string>& keys, const char* key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

// Reads `arch` first (its keys and defaults depend on it), then every key of that architecture.
ModelConfig read_model(const std::string& source, const YAML::Node& node) {
  std::vector<std::string> all_keys;
  for (const std::string& arch : model_architectures()) {
    for (const std::string& key : model_config_keys(arch)) {
      if (!accepts(all_keys, key.c_str())) all_keys.push_back(key);
    }
  }
  const std::string arch = Section(source, node, "model", all_keys).choice("arch", "mamba2", model_architectures());
  const std::vector<std::string>& keys = model_config_keys(arch);
  const Section s(source, node, "model", keys);

  ModelConfig m = default_model_config(arch);
  for (const IntegerKey& k : kModelIntegerKeys) {
    if (!accepts(keys, k.key)) continue;
    const bool required = k.field == &ModelConfig::d_model || k.field == &ModelConfig::n_layer;
    m.*k.field = k.zero_means_auto ? s.non_negative_integer(k.key, m.*k.field)
                                   : s.positive_integer(k.key, m.*k.field, required);
  }
  for (const NumberKey& k : kModelNumberKeys) {
    if (accepts(keys, k.key)) m.*k.field = s.number_where(k.key, m.*k.field, [](double v) { return v > 0; }, "> 0");
  }
  if (accepts(keys, "init")) m.init = s.choice("init", m.init, {"mamba_ssm", "hf"});
  m.scan = s.choice("scan", m.scan, {"auto", "chunked", "recurrent"});
  if (const std::string problem = validate_model_config(m); !problem.empty()) s.fail(problem);
  return m;
}

// A key that only some kinds of source read: set on another kind, it is an error, not ignored.
void require_kind(const Section& s, const DataSource& src, const char* key, bool used, const char* kinds) {
  if (!used && s.find(key, false)) {
    s.fail(absl::StrCat("'", s.key_path(key), "' is only read by kind ", kinds, ", not ", src.kind, "; remove it"));
  }
}

DataSource read_source(const Section& s, int64_t sequence_tokens) {
  DataSource src;
  src.kind = s.choice("kind", src.kind, {"text", "jsonl", "tokens", "bible", "passkey"}, /*required=*/true);
  src.path = s.text("path", src.path);
  src.weight = s.number_where("weight", src.weight, [](double v) { return v > 0; }, "> 0");
  src.min_tokens = s.non_negative_integer("min_tokens", src.min_tokens);
  src.ramp_steps = s.non_negative_integer("ramp_steps", src.ramp_steps);
  src.min_doc_tokens = s.non_negative_integer("min_doc_tokens", src.min_doc_tokens);
  src.text_key = s.text("text_key", src.text_key);
  const bool passkey = src.kind == "passkey";
  // Checkpoints written before min_tokens became passkey-only hold "min_tokens: 0" on every
  // source; the default value changes nothing, so it is accepted anywhere.
  require_kind(s, src, "min_tokens", passkey || src.min_tokens == 0, "passkey");
  require_kind(s, src, "ramp_steps", passkey, "passkey");
  require_kind(s, src, "min_doc_tokens", !passkey, "text, jsonl, tokens and bible");
  require_kind(s, src, "text_key", src.kind == "jsonl", "jsonl");
  if (src.text_key.empty()) s.fail(absl::StrCat("'", s.key_path("text_key"), "' must not be empty"));
  if (!passkey && src.path.empty()) {
    s.fail(absl::StrCat("'", s.key_path("path"), "' is required for kind ", src.kind));
  }
  if (passkey && !src.path.empty()) {
    s.fail(absl::StrCat("'", s.key_path("path"), "' is not used by kind passkey (its text is generated); remove it"));
  }
  if (src.min_tokens > sequence_tokens) {
    s.fail(absl::StrCat("'", s.key_path("min_tokens"), "' (", src.min_tokens,
                        ") must not exceed data.seq_len · data.segments (", sequence_tokens, ")"));
  }
  return src;
}

const std::vector<std::string> kSourceKeys = {"kind", "path", "weight", "min_tokens", "ramp_steps", "min_doc_tokens",
                                                "text_key"};

DataConfig read_data(const Section& s, const std::string& source) {
  DataConfig d;
  // "byte", or the file (or checkpoint directory) of a public tokenizer: train/text/tokenizer.h.
  d.tokenizer = s.text("tokenizer", d.tokenizer);
  std::error_code ec;  // a symlink loop is a message, not an exception
  if (d.tokenizer != "byte" && !std::filesystem::exists(d.tokenizer, ec)) {
    s.fail(absl::StrCat("'data.tokenizer' must be byte, a tokenizer.json, an RWKV vocabulary .txt or a directory ",
                        "holding one; '", d.tokenizer, "'", ec ? ": " + ec.message() : " does not exist"));
  }
  d.seq_len = s.positive_integer("seq_len", d.seq_len);
  d.segments = s.positive_integer("segments", d.segments);
  d.batch_size = s.positive_integer("batch_size", d.batch_size);
  d.valid_fraction = s.number_where("valid_fraction", d.valid_fraction,
                                    [](double v) { return v >= 0 && v < 0.5; }, "in [0, 0.5)");
  d.cache_dir = s.text("cache_dir", d.cache_dir);
  const YAML::Node sources = s.find("sources", /*required=*/true);
  if (!sources.IsSequence() || sources.size() == 0) {
    s.fail(absl::StrCat("'data.sources' must be a non-empty sequence of {", absl::StrJoin(kSourceKeys, ", "),
                        "}, got ", describe(sources)));
  }
  // A sequence is seq_len · segments tokens, a batch batch_size of them, held as two i64 tensors
  // (tokens, targets): refused here, naming the keys, when that cannot be counted or held.
  const int64_t sequence_tokens =
      checked_mul(d.seq_len, d.segments, absl::StrCat(source, ": data.seq_len · data.segments"));
  const int64_t batch_tokens = checked_mul(d.batch_size, sequence_tokens,
                                           absl::StrCat(source, ": data.batch_size · data.seq_len · data.segments"));
  check_allocation(static_cast<double>(batch_tokens) * 2 * sizeof(int64_t),
                   absl::StrCat(source, ": data.batch_size · data.seq_len · data.segments (", batch_tokens,
                                " tokens per batch)"));
  for (size_t i = 0; i < sources.size(); ++i) {
    const Section item(source, sources[i], absl::StrCat("data.sources[", i, "]"), kSourceKeys);
    d.sources.push_back(read_source(item, sequence_tokens));
  }
  return d;
}

OptimConfig read_optim(const Section& s) {
  OptimConfig o;
  o.lr = s.number_where("lr", o.lr, [](double v) { return v > 0; }, "> 0");
  o.min_lr = s.number_where("min_lr", o.min_lr, [&](double v) { return v >= 0 && v <= o.lr; },
                            "in [0, optim.lr]");
  o.weight_decay = s.number_where("weight_decay", o.weight_decay, [](double v) { return v >= 0; }, ">= 0");
  o.beta1 = s.number_where("beta1", o.beta1, [](double v) { return v >= 0 && v < 1; }, "in [0, 1)");
  o.beta2 = s.number_where("beta2", o.beta2, [](double v) { return v >= 0 && v < 1; }, "in [0, 1)");
  o.eps = s.number_where("eps", o.eps, [](double v) { return v > 0; }, "> 0");
  o.grad_clip = s.number_where("grad_clip", o.grad_clip, [](double v) { return v >= 0; }, ">= 0 (0 disables)");
  o.schedule = s.choice("schedule", o.schedule, {"cosine", "wsd", "constant"});
  o.warmup_steps = s.non_negative_integer("warmup_steps", o.warmup_steps);
  o.decay_fraction = s.number_where("decay_fraction", o.decay_fraction,
                                    [](double v) { return v >= 0 && v <= 1; }, "in [0, 1]");
  return o;
}

TrainConfig read_train(const Section& s) {
  TrainConfig t;
  t.steps = s.positive_integer("steps", t.steps, /*required=*/true);
  t.grad_accum = s.positive_integer("grad_accum", t.grad_accum);
  t.log_every = s.positive_integer("log_every", t.log_every);
  t.eval_every = s.non_negative_integer("eval_every", t.eval_every);
  t.eval_batches = s.positive_integer("eval_batches", t.eval_batches);
  t.ckpt_every = s.positive_integer("ckpt_every", t.ckpt_every);
  t.keep_checkpoints = s.positive_integer("keep_checkpoints", t.keep_checkpoints);
  t.allreduce_bucket_mb = s.number_where("allreduce_bucket_mb", t.allreduce_bucket_mb,
                                         [](double v) { return v > 0 && v <= 4096; }, "in (0, 4096]");
  return t;
}

// ---- overrides ----------------------------------------------------------------------------

// One step of a key path: a mapping key, optionally indexing into a sequence ("sources[1]").
struct PathStep {
  std::string key;
  int64_t index = -1;  // -1: no index
};

std::vector<PathStep> split_key_path(const std::string& override_text, const std::string& path) {
  std::vector<PathStep> steps;
  // Every piece between dots counts: "train.steps." has an empty last key, which is an error
  // (reading it as "train.steps" would accept a typo).
  for (const std::string& part : std::vector<std::string>(absl::StrSplit(path, '.'))) {
    PathStep step;
    const size_t bracket = part.find('[');
    step.key = part.substr(0, bracket);
    if (bracket != std::string::npos) {
      const std::string digits = part.substr(bracket + 1, part.size() - bracket - 2);
      const bool ok = part.back() == ']' && !digits.empty() &&
                      std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (!ok) throw UserError(absl::StrCat("--set '", override_text, "': bad index in '", part, "'"));
      const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), step.index);
      if (error != std::errc() || end != digits.data() + digits.size()) {
        throw UserError(absl::StrCat("--set '", override_text, "': index ", digits, " in '", part,
                                     "' is too large"));
      }
    }
    if (step.key.empty()) throw UserError(absl::StrCat("--set '", override_text, "': empty key in '", path, "'"));
    steps.push_back(step);
  }
  if (steps.empty()) throw UserError(absl::StrCat("--set '", override_text, "': expected key.path=value"));
  return steps;
}

// Writes one "a.b=value" into the tree, creating mappings on the way. yaml-cpp nodes are
// references: `reset` re-points a handle, while `=` would overwrite the node it points at.
void apply_override(YAML::Node& root, const std::string& override_text) {
  const size_t eq = override_text.find('=');
  if (eq == std::string::npos) throw UserError(absl::StrCat("--set '", override_text, "': expected key.path=value"));
  const std::vector<PathStep> steps = split_key_path(override_text, override_text.substr(0, eq));
  YAML::Node value;
  try {
    value = YAML::Load(override_text.substr(eq + 1));
  } catch (const YAML::Exception& e) {
    throw UserError(absl::StrCat("--set '", override_text, "': the value is not valid YAML (", e.msg, ")"));
  }

  YAML::Node cursor;
  cursor.reset(root);
  std::string walked;
  for (size_t i = 0; i < steps.size(); ++i) {
    const PathStep& step = steps[i];
    const bool last = i + 1 == steps.size();
    if (!cursor.IsMap()) {
      const std::string what = walked.empty() ? "the config" : absl::StrCat("'", walked, "'");
      throw UserError(absl::StrCat("--set '", override_text, "': ", what, " is not a mapping"));
    }
    walked = join_key(walked, step.key);
    if (step.index < 0) {
      if (last) {
        cursor[step.key] = value;
        return;
      }
      if (!cursor[step.key] || cursor[step.key].IsNull()) cursor[step.key] = YAML::Node(YAML::NodeType::Map);
      YAML::Node next = cursor[step.key];
      cursor.reset(next);
      continue;
    }
    YAML::Node sequence = cursor[step.key];
    if (!sequence || !sequence.IsSequence() || step.index >= static_cast<int64_t>(sequence.size())) {
      throw UserError(absl::StrCat("--set '", override_text, "': '", walked, "' has no element ", step.index));
    }
    walked = absl::StrCat(walked, "[", step.index, "]");
    YAML::Node element = sequence[step.index];
    if (last) {
      element = value;  // assigning through the element handle replaces the element in place
      return;
    }
    cursor.reset(element);
  }
}

YAML::Node parse_yaml(const std::string& yaml_text, const std::string& source_name) {
  try {
    YAML::Node root = YAML::Load(yaml_text);
    if (!root || root.IsNull()) return YAML::Node(YAML::NodeType::Map);  // an empty file
    return root;
  } catch (const YAML::Exception& e) {
    throw UserError(absl::StrCat(source_name, ": invalid YAML at line ", e.mark.line + 1, ", column ",
                                 e.mark.column + 1, ": ", e.msg));
  }
}

// ---- writing ------------------------------------------------------------------------------

// A number as every YAML reader reads it back as a number: YAML 1.1 readers (PyYAML) take a
// float only with a '.' in the mantissa and a signed exponent, so 1e-05 would be the string
// "1e-05" to them; it is written 1.0e-05 (and 1e20 as 1.0e+20, infinity as .inf). Still the
// shortest digits that read back as exactly the same double.
std::string yaml_number(double value) {
  if (std::isnan(value)) return ".nan";
  if (std::isinf(value)) return value > 0 ? ".inf" : "-.inf";
  std::string text = shortest_double(value);
  const size_t e = text.find('e');
  if (e == std::string::npos) return text;  // 0.0003, or an integer, which every reader takes as a number
  std::string mantissa = text.substr(0, e), exponent = text.substr(e + 1);
  if (mantissa.find('.') == std::string::npos) mantissa += ".0";
  if (exponent[0] != '-' && exponent[0] != '+') exponent = "+" + exponent;
  return mantissa + "e" + exponent;
}

void emit_number(YAML::Emitter& out, const char* key, double value) {
  out << YAML::Key << key << YAML::Value << yaml_number(value);
}

template <typename T>
void emit(YAML::Emitter& out, const char* key, const T& value) {
  out << YAML::Key << key << YAML::Value << value;
}

}  // namespace

Config parse_config(const std::string& yaml_text, const std::string& source_name,
                    const std::vector<std::string>& overrides) {
  YAML::Node root = parse_yaml(yaml_text, source_name);
  try {
    for (const std::string& text : overrides) apply_override(root, text);
  } catch (const YAML::Exception& e) {
    throw UserError(absl::StrCat(source_name, ": cannot apply --set: ", e.msg));
  }

  const Section top(source_name, root, "", {"run", "model", "data", "optim", "train"});
  auto section = [&](const char* name, const std::vector<std::string>& keys) {
    return Section(source_name, top.find(name, false), name, keys);
  };
  Config config;
  config.source = source_name;
  config.run = read_run(section("run", {"seed", "device", "precision"}));
  config.model = read_model(source_name, top.find("model", false));
  config.data = read_data(section("data", {"tokenizer", "sources", "seq_len", "segments", "batch_size",
                                           "valid_fraction", "cache_dir"}),
                          source_name);
  config.optim = read_optim(section("optim", {"lr", "min_lr", "weight_decay", "beta1", "beta2", "eps", "grad_clip",
                                              "schedule", "warmup_steps", "decay_fraction"}));
  config.train = read_train(section("train", {"steps", "grad_accum", "log_every", "eval_every", "eval_batches",
                                              "ckpt_every", "keep_checkpoints", "allreduce_bucket_mb"}));
  // The trainer counts tokens per step and in total in int64: both must fit.
  const std::string what = absl::StrCat(source_name, ": data.batch_size · data.seq_len · data.segments");
  const int64_t per_step = checked_mul(config.data.batch_size * config.data.seq_len * config.data.segments,
                                       config.train.grad_accum, what + " · train.grad_accum");
  checked_mul(per_step, config.train.steps, what + " · train.grad_accum · train.steps");
  return config;
}

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  // A regular file of at most 16 MiB: a FIFO would block, /dev/zero or a 100 MB YAML list would
  // keep the parser busy for minutes (core/regular_file.h).
  const std::string text =
      read_regular_file(path, absl::StrCat("cannot read config '", path, "'"), kMaxConfigFileBytes, "a config");
  return parse_config(text, path, overrides);
}

std::string config_to_yaml(const Config& c) {
  YAML::Emitter out;
  out << YAML::BeginMap;

  out << YAML::Key << "run" << YAML::Value << YAML::BeginMap;
  emit(out, "seed", static_cast<unsigned long long>(c.run.seed));
  emit(out, "device", c.run.device);
  emit(out, "precision", c.run.precision);
  out << YAML::EndMap;

  const ModelConfig& m = c.model;
  out << YAML::Key << "model" << YAML::Value << YAML::BeginMap;
  const std::vector<std::string>& keys = model_config_keys(m.arch);
  emit(out, "arch", m.arch);
  for (const IntegerKey& k : kModelIntegerKeys) {
    if (accepts(keys, k.key)) emit(out, k.key, m.*k.field);
  }
  for (const NumberKey& k : kModelNumberKeys) {
    if (accepts(keys, k.key)) emit_number(out, k.key, m.*k.field);
  }
  if (accepts(keys, "init")) emit(out, "init", m.init);
  emit(out, "scan", m.scan);
  out << YAML::EndMap;

  const DataConfig& d = c.data;
  out << YAML::Key << "data" << YAML::Value << YAML::BeginMap;
  emit(out, "tokenizer", d.tokenizer);
  emit(out, "seq_len", d.seq_len);
  emit(out, "segments", d.segments);
  emit(out, "batch_size", d.batch_size);
  emit_number(out, "valid_fraction", d.valid_fraction);
  emit(out, "cache_dir", d.cache_dir);
  out << YAML::Key << "sources" << YAML::Value << YAML::BeginSeq;
  for (const DataSource& s : d.sources) {
    out << YAML::Flow << YAML::BeginMap;
    emit(out, "kind", s.kind);
    emit(out, "path", s.path);
    emit_number(out, "weight", s.weight);
    if (s.kind == "passkey") emit(out, "min_tokens", s.min_tokens);
    if (s.kind == "passkey" && s.ramp_steps > 0) emit(out, "ramp_steps", s.ramp_steps);
    if (s.kind != "passkey") emit(out, "min_doc_tokens", s.min_doc_tokens);
    if (s.kind == "jsonl") emit(out, "text_key", s.text_key);
    out << YAML::EndMap;
  }
  out << YAML::EndSeq << YAML::EndMap;

  const OptimConfig& o = c.optim;
  out << YAML::Key << "optim" << YAML::Value << YAML::BeginMap;
  emit_number(out, "lr", o.lr);
  emit_number(out, "min_lr", o.min_lr);
  emit_number(out, "weight_decay", o.weight_decay);
  emit_number(out, "beta1", o.beta1);
  emit_number(out, "beta2", o.beta2);
  emit_number(out, "eps", o.eps);
  emit_number(out, "grad_clip", o.grad_clip);
  emit(out, "schedule", o.schedule);
  emit(out, "warmup_steps", o.warmup_steps);
  emit_number(out, "decay_fraction", o.decay_fraction);
  out << YAML::EndMap;

  const TrainConfig& t = c.train;
  out << YAML::Key << "train" << YAML::Value << YAML::BeginMap;
  emit(out, "steps", t.steps);
  emit(out, "grad_accum", t.grad_accum);
  emit(out, "log_every", t.log_every);
  emit(out, "eval_every", t.eval_every);
  emit(out, "eval_batches", t.eval_batches);
  emit(out, "ckpt_every", t.ckpt_every);
  emit(out, "keep_checkpoints", t.keep_checkpoints);
  emit_number(out, "allreduce_bucket_mb", t.allreduce_bucket_mb);
  out << YAML::EndMap;

  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace ssm
