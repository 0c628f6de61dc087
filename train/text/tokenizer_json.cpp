// train/text/tokenizer_json.cpp — tokenizer.json -> TokenizerJson, rejecting what is not supported
// (see tokenizer_json.h for the list). Field names and defaults are those of the reference
// library's serialisation (Hugging Face tokenizers).
#include "train/text/tokenizer_json.h"

#include <cstdint>

#include <nlohmann/json.hpp>  // defines: nlohmann::json

#include "core/error.h"     // defines: UserError, SSM_USER_CHECK
#include "core/regular_file.h"  // defines: read_regular_file
#include "train/text/unicode.h"  // defines: decode_utf8

namespace ssm {
using nlohmann::json;

namespace {

// A non-negative integer field as an int (ids, counts). json's get<int>() turns a float past int's
// range into undefined behaviour and wraps a large integer silently (tests/fuzz/fuzz_tokenizer_json).
int non_negative_int(const std::string& path, const json& value, const char* what) {
  SSM_USER_CHECK(value.is_number_integer() && value.get<int64_t>() >= 0 && value.get<int64_t>() <= INT32_MAX, path,
                 ": ", what, " must be an integer in [0, 2^31), got ", value.dump());
  return static_cast<int>(value.get<int64_t>());
}

std::string read_text(const std::string& path) {
  return read_regular_file(path, absl::StrCat("cannot read tokenizer file '", path, "'"));
}

std::string type_of(const json& node) { return node.is_object() ? node.value("type", std::string()) : ""; }

// A string field, or `fallback` when it is absent or null.
std::string string_or(const json& node, const char* key, const std::string& fallback) {
  const auto it = node.find(key);
  return it == node.end() || it->is_null() ? fallback : it->get<std::string>();
}
bool bool_or(const json& node, const char* key, bool fallback) {
  const auto it = node.find(key);
  return it == node.end() || it->is_null() ? fallback : it->get<bool>();
}

[[noreturn]] void unsupported(const std::string& path, const char* component, const json& node,
                              const char* supported) {
  std::string what = node.is_object() ? type_of(node) : node.dump();
  if (what.empty()) what = node.dump().substr(0, 80);
  throw UserError(absl::StrCat(path, ": unsupported ", component, " '", what, "' (supported: ", supported, ")"));
}

// Replace steps: only a plain-string pattern ({"String": "..."}); regex patterns are refused.
std::string plain_pattern(const std::string& path, const char* component, const json& node) {
  const json& pattern = node.at("pattern");
  SSM_USER_CHECK(pattern.contains("String"), path, ": unsupported ", component,
                 " Replace with a regex pattern (only plain-string patterns are supported)");
  return pattern.at("String").get<std::string>();
}

// Metaspace's replacement: one character, "▁" unless the file says otherwise.
std::string replacement_char(const std::string& path, const json& node) {
  const std::string r = string_or(node, "replacement", "\xE2\x96\x81");
  char32_t unit;
  SSM_USER_CHECK(!r.empty() && unicode::decode_utf8(r, 0, unit) == r.size(), path,
                 ": Metaspace replacement must be one character, got '", r, "'");
  return r;
}

PrependScheme prepend_scheme(const std::string& path, const json& node) {
  if (node.contains("prepend_scheme")) {
    const std::string s = node.at("prepend_scheme").get<std::string>();
    if (s == "always") return PrependScheme::kAlways;
    if (s == "first") return PrependScheme::kFirst;
    if (s == "never") return PrependScheme::kNever;
    throw UserError(absl::StrCat(path, ": unsupported Metaspace prepend_scheme '", s, "'"));
  }
  return bool_or(node, "add_prefix_space", true) ? PrependScheme::kAlways : PrependScheme::kNever;  // older files
}

void read_normalizer(const std::string& path, const json& node, std::vector<NormalizerStep>& steps) {
  if (node.is_null()) return;
  const std::string type = type_of(node);
  if (type == "Sequence") {
    for (const json& child : node.at("normalizers")) read_normalizer(path, child, steps);
  } else if (type == "NFC") {
    steps.push_back({NormalizerStep::Kind::kNfc, "", ""});
  } else if (type == "Prepend") {
    steps.push_back({NormalizerStep::Kind::kPrepend, node.at("prepend").get<std::string>(), ""});
  } else if (type == "Replace") {
    steps.push_back({NormalizerStep::Kind::kReplace, plain_pattern(path, "normalizer", node),
                     node.at("content").get<std::string>()});
  } else {
    unsupported(path, "normalizer", node, "NFC, Prepend, Replace, Sequence");
  }
}

PreTokenizerSpec read_pre_tokenizer(const std::string& path, const json& node) {
  PreTokenizerSpec spec;
  if (node.is_null()) return spec;
  const std::string type = type_of(node);
  if (type == "Sequence" && node.at("pretokenizers").size() == 1) return read_pre_tokenizer(path, node.at("pretokenizers")[0]);
  if (type == "ByteLevel") {
    spec.kind = PreTokenizerSpec::Kind::kByteLevel;
    spec.add_prefix_space = bool_or(node, "add_prefix_space", true);
    spec.use_regex = bool_or(node, "use_regex", true);
  } else if (type == "Metaspace") {
    spec.kind = PreTokenizerSpec::Kind::kMetaspace;
    spec.replacement = replacement_char(path, node);
    spec.prepend = prepend_scheme(path, node);
    spec.split = bool_or(node, "split", true);
  } else {
    unsupported(path, "pre_tokenizer", node, "ByteLevel, Metaspace");
  }
  return spec;
}

void read_decoder(const std::string& path, const json& node, std::vector<DecoderStep>& steps) {
  using Kind = DecoderStep::Kind;
  const std::string type = type_of(node);
  DecoderStep step{Kind::kFuse, "", "", 0, 0, PrependScheme::kAlways};
  if (type == "Sequence") {
    for (const json& child : node.at("decoders")) read_decoder(path, child, steps);
    return;
  } else if (type == "ByteLevel") {
    step.kind = Kind::kByteLevel;
  } else if (type == "Metaspace") {
    step.kind = Kind::kMetaspace;
    step.content = replacement_char(path, node);
    step.prepend = prepend_scheme(path, node);
  } else if (type == "Replace") {
    step.kind = Kind::kReplace;
    step.pattern = plain_pattern(path, "decoder", node);
    step.content = node.at("content").get<std::string>();
  } else if (type == "ByteFallback") {
    step.kind = Kind::kByteFallback;
  } else if (type == "Fuse") {
    step.kind = Kind::kFuse;
  } else if (type == "Strip") {
    step.kind = Kind::kStrip;
    step.content = node.at("content").get<std::string>();
    step.start = non_negative_int(path, node.at("start"), "the Strip decoder's start");
    step.stop = non_negative_int(path, node.at("stop"), "the Strip decoder's stop");
  } else {
    unsupported(path, "decoder", node, "ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip, Sequence");
  }
  steps.push_back(std::move(step));
}

// The id of the special token that starts the single-sequence template, or -1.
TokenId read_post_processor(const std::string& path, const json& node) {
  const std::string type = type_of(node);
  if (node.is_null() || type == "ByteLevel") return -1;
  if (type == "Sequence") {
    for (const json& child : node.at("processors")) {
      if (const TokenId id = read_post_processor(path, child); id >= 0) return id;
    }
    return -1;
  }
  if (type != "TemplateProcessing") unsupported(path, "post_processor", node, "ByteLevel, TemplateProcessing, Sequence");
  const json& single = node.at("single");
  if (single.empty() || !single[0].contains("SpecialToken")) return -1;
  const std::string name = single[0].at("SpecialToken").at("id").get<std::string>();
  const json& ids = node.at("special_tokens").at(name).at("ids");
  SSM_USER_CHECK(ids.size() == 1, path, ": the post_processor's leading special token '", name,
                 "' must be one id");
  return non_negative_int(path, ids[0], "the post_processor's special token id");
}

void read_model(const std::string& path, const json& model, TokenizerJson& out) {
  SSM_USER_CHECK(type_of(model) == "BPE", path, ": unsupported model type '", type_of(model),
                 "' (only BPE is supported)");
  const json dropout = model.value("dropout", json());
  SSM_USER_CHECK(dropout.is_null() || dropout.get<double>() == 0.0, path,
                 ": unsupported BPE dropout (encoding must be deterministic)");
  SSM_USER_CHECK(string_or(model, "continuing_subword_prefix", "").empty() &&
                     string_or(model, "end_of_word_suffix", "").empty(),
                 path, ": unsupported BPE continuing_subword_prefix / end_of_word_suffix");
  if (const auto it = model.find("unk_token"); it != model.end() && !it->is_null()) {
    out.bpe.unk_token = it->get<std::string>();
  }
  out.bpe.fuse_unk = bool_or(model, "fuse_unk", false);
  out.bpe.byte_fallback = bool_or(model, "byte_fallback", false);
  out.bpe.ignore_merges = bool_or(model, "ignore_merges", false);
  for (const auto& [token, id] : model.at("vocab").items()) {
    out.vocab.emplace(token, non_negative_int(path, id, "a vocabulary id"));
  }
  for (const json& merge : model.at("merges")) {
    if (merge.is_array()) {
      SSM_USER_CHECK(merge.size() == 2, path, ": a merge must be a pair, got ", merge.dump());
      out.merges.emplace_back(merge[0].get<std::string>(), merge[1].get<std::string>());
    } else {
      const std::string text = merge.get<std::string>();
      const size_t space = text.find(' ');
      SSM_USER_CHECK(space != std::string::npos && text.find(' ', space + 1) == std::string::npos, path,
                     ": a merge must be two tokens separated by one space, got '", text, "'");
      out.merges.emplace_back(text.substr(0, space), text.substr(space + 1));
    }
  }
}

void read_added_tokens(const std::string& path, const json& list, TokenizerJson& out) {
  for (const json& t : list) {
    AddedToken token{non_negative_int(path, t.at("id"), "an added token's id"), t.at("content").get<std::string>(), bool_or(t, "special", false),
                     bool_or(t, "normalized", true)};
    for (const char* option : {"single_word", "lstrip", "rstrip"}) {
      SSM_USER_CHECK(!bool_or(t, option, false), path, ": added token '", token.content, "' sets ", option,
                     ", which is not supported");
    }
    SSM_USER_CHECK(!token.content.empty() && token.id >= 0, path, ": added token ", t.dump(), " is invalid");
    out.added.push_back(std::move(token));
  }
}

}  // namespace

TokenizerJson read_tokenizer_json(const std::string& path) {
  const std::string text = read_text(path);
  TokenizerJson out;
  out.path = path;
  try {
    const json root = json::parse(text);
    SSM_USER_CHECK(root.is_object() && root.contains("model"), path, ": not a tokenizer.json (no \"model\")");
    read_model(path, root.at("model"), out);
    read_added_tokens(path, root.value("added_tokens", json::array()), out);
    read_normalizer(path, root.value("normalizer", json()), out.normalizer);
    out.pre_tokenizer = read_pre_tokenizer(path, root.value("pre_tokenizer", json()));
    const json decoder = root.value("decoder", json());
    out.has_decoder = !decoder.is_null();
    if (out.has_decoder) read_decoder(path, decoder, out.decoder);
    out.template_bos = read_post_processor(path, root.value("post_processor", json()));
  } catch (const json::parse_error& e) {
    throw UserError(absl::StrCat(path, ": not valid JSON (", e.what(), ")"));
  } catch (const json::exception& e) {
    throw UserError(absl::StrCat(path, ": malformed tokenizer.json (", e.what(), ")"));
  }
  return out;
}

}  // namespace ssm
