// train/text/bpe_tokenizer.cpp — the tokenizer.json tokenizer: added-token splitting, the encode and
// decode pipelines, and bos/eos from tokenizer_config.json (see bpe_tokenizer.h).
#include "train/text/bpe_tokenizer.h"

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>  // defines: nlohmann::json

#include "core/error.h"          // defines: UserError, SSM_USER_CHECK
#include "core/regular_file.h"   // defines: read_regular_file
#include "train/text/bpe_pipeline.h"  // defines: bpe::normalize, bpe::pre_tokenize, bpe::decode_tokens

namespace ssm {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Words longer than this are not cached: they are rare, and a SentencePiece document is one word.
constexpr size_t kMaxCachedWord = 256;

// A token field of tokenizer_config.json: "text", {"content": "text", ...} or null/absent ("").
std::string config_token(const json& config, const char* key) {
  const auto it = config.find(key);
  if (it == config.end() || it->is_null()) return "";
  if (it->is_object()) return it->at("content").get<std::string>();
  return it->get<std::string>();
}

}  // namespace

BpeTokenizer::BpeTokenizer(const std::string& path) : spec_(read_tokenizer_json(path)) {
  model_ = std::make_unique<BpeModel>(std::move(spec_.vocab), spec_.merges, spec_.bpe, path);
  spec_.merges.clear();
  vocab_size_ = static_cast<int64_t>(model_->max_id()) + 1;
  for (const AddedToken& token : spec_.added) {
    const auto in_model = model_->token_to_id(token.content);
    SSM_USER_CHECK(!in_model || *in_model == token.id, path, ": added token '", token.content, "' has id ", token.id,
                   " but the model's vocabulary gives it id ", *in_model);
    added_content_[token.id] = token.content;
    if (token.special) special_contents_.insert(token.content);
    // The reference matches normalized added tokens by their normalized form.
    if (token.normalized) {
      const std::string pattern = bpe::normalize(spec_.normalizer, token.content);
      if (!pattern.empty()) normalized_added_.insert(pattern, token.id);
    } else {
      raw_added_.insert(token.content, token.id);
    }
    SSM_USER_CHECK(token.id < kMaxVocabularySize, path, ": added token '", token.content, "' has id ", token.id,
                   ", too large: ssmlab reads vocabularies of at most ", kMaxVocabularySize, " ids");
    vocab_size_ = std::max<int64_t>(vocab_size_, int64_t{token.id} + 1);
  }
  bos_ = spec_.template_bos;
  const fs::path config_path = fs::path(path).parent_path() / "tokenizer_config.json";
  if (fs::exists(config_path)) read_config(config_path.string(), path);
  if (eos_ < 0) {
    for (const char* name : {"<|endoftext|>", "</s>", "<|end_of_text|>", "<eos>"}) {
      if (special_contents_.count(name) != 0) {
        eos_ = id_of(name, path);
        break;
      }
    }
  }
  SSM_USER_CHECK(eos_ >= 0, path, ": no end-of-text token: no special token <|endoftext|>, </s>, ",
                 "<|end_of_text|> or <eos>, and no tokenizer_config.json beside it naming eos_token");
  const fs::path file(path);
  name_ = "bpe:" + (file.filename() == "tokenizer.json" && file.has_parent_path()
                        ? (file.parent_path().filename() / file.filename()).string()
                        : file.filename().string());
}

void BpeTokenizer::read_config(const std::string& config_path, const std::string& path) {
  const std::string text = read_regular_file(config_path, absl::StrCat("cannot read '", config_path, "'"));
  try {
    const json config = json::parse(text);
    SSM_USER_CHECK(config.is_object(), config_path, ": not a JSON object");
    const std::string bos = config_token(config, "bos_token");
    const auto add_bos = config.find("add_bos_token");
    if (!bos.empty() && add_bos != config.end() && add_bos->is_boolean() && add_bos->get<bool>()) {
      bos_ = id_of(bos, config_path);
    }
    const std::string eos = config_token(config, "eos_token");
    if (!eos.empty()) eos_ = id_of(eos, config_path);
  } catch (const json::exception& e) {
    throw UserError(absl::StrCat(config_path, ": malformed tokenizer_config.json (", e.what(), ")"));
  }
}

TokenId BpeTokenizer::id_of(const std::string& token, const std::string& source) const {
  for (const AddedToken& added : spec_.added) {
    if (added.content == token) return added.id;
  }
  const auto id = model_->token_to_id(token);
  SSM_USER_CHECK(id.has_value(), source, ": token '", token, "' is not in the vocabulary of ", spec_.path);
  return *id;
}

std::vector<BpeTokenizer::Piece> BpeTokenizer::split_added(std::string_view text, const ByteTrie& trie) {
  std::vector<Piece> pieces;
  size_t start = 0;  // start of the text not yet emitted
  for (size_t pos = 0; pos < text.size() && !trie.empty();) {
    TokenId id = -1;
    const size_t len = trie.longest_match(text, pos, id);
    if (len == 0) {
      ++pos;
      continue;
    }
    if (pos > start) pieces.push_back({text.substr(start, pos - start), -1, start});
    pieces.push_back({text.substr(pos, len), id, pos});
    pos += len;
    start = pos;
  }
  if (start < text.size()) pieces.push_back({text.substr(start), -1, start});
  return pieces;
}

std::string BpeTokenizer::normalize(std::string_view text) const { return bpe::normalize(spec_.normalizer, text); }

std::vector<TokenId> BpeTokenizer::encode(std::string_view text) const {
  std::vector<TokenId> ids;
  std::unordered_map<std::string, std::vector<TokenId>> cache;  // word -> ids, for this call
  std::vector<std::string> words;
  for (const Piece& raw : split_added(text, raw_added_)) {
    if (raw.added >= 0) {
      ids.push_back(raw.added);
      continue;
    }
    const std::string normalized = bpe::normalize(spec_.normalizer, raw.text);
    for (const Piece& piece : split_added(normalized, normalized_added_)) {
      if (piece.added >= 0) {
        ids.push_back(piece.added);
        continue;
      }
      words.clear();
      bpe::pre_tokenize(spec_.pre_tokenizer, piece.text, raw.offset == 0 && piece.offset == 0, words);
      for (const std::string& word : words) {
        if (word.size() > kMaxCachedWord) {
          model_->encode_word(word, ids);
          continue;
        }
        auto [it, inserted] = cache.try_emplace(word);
        if (inserted) model_->encode_word(word, it->second);
        ids.insert(ids.end(), it->second.begin(), it->second.end());
      }
    }
  }
  return ids;
}

std::string BpeTokenizer::decode(const std::vector<TokenId>& ids) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (TokenId id : ids) {
    const auto added = added_content_.find(id);
    const std::string* token = added != added_content_.end() ? &added->second : model_->id_to_token(id);
    if (token == nullptr || special_contents_.count(*token) != 0) continue;  // unknown id, or special
    tokens.push_back(*token);
  }
  return bpe::decode_tokens(spec_.has_decoder, spec_.decoder, std::move(tokens));
}

}  // namespace ssm
