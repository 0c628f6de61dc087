// train/text/bpe_model.h — the BPE model of a Hugging Face tokenizer.json: vocabulary, ranked merges,
// and the merge loop that turns one pre-token ("word", already in the model's alphabet) into ids.
//
// A word starts as one symbol per character (UTF-8 code point). A character missing from the
// vocabulary becomes its <0xNN> byte tokens when byte_fallback is set and they all exist, else
// the unknown token (consecutive ones fused into one when fuse_unk is set), else it is dropped —
// the reference library's rules. Then the adjacent pair with the lowest merge rank is merged,
// leftmost first among equal ranks, until no pair has a merge.
//
// Two implementations of the merge loop: `merge` (priority queue over a linked list of symbols,
// O(n log n), what encoding uses; inputs can be a whole multi-megabyte document) and
// `merge_naive` (the textbook loop: find the best pair, merge all its occurrences, repeat), kept
// as the readable reference the tests compare against. Not for reading files: see tokenizer_json.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "train/text/tokenizer.h"  // defines: TokenId

namespace ssm {

// Hash that lets unordered_map<std::string, ...> be searched with a string_view.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using Vocab = std::unordered_map<std::string, TokenId, StringHash, std::equal_to<>>;

struct BpeOptions {
  std::optional<std::string> unk_token;  // must be in the vocabulary when set
  bool fuse_unk = false;
  bool byte_fallback = false;
  bool ignore_merges = false;  // a word that is itself in the vocabulary is emitted whole
};

class BpeModel {
 public:
  // `merges` in rank order (rank = index). `source` names the file in error messages.
  // UserError when a merge names a token that is not in the vocabulary, or its result is not.
  BpeModel(Vocab vocab, const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options,
           const std::string& source);
  BpeModel(const BpeModel&) = delete;  // id_to_token_ points into vocab_
  BpeModel& operator=(const BpeModel&) = delete;

  // Appends the ids of `word` (in the model's alphabet) to `out`.
  void encode_word(std::string_view word, std::vector<TokenId>& out) const;

  // The word's starting symbols (characters, byte fallback, unknown token), before any merge.
  std::vector<TokenId> initial_symbols(std::string_view word) const;
  std::vector<TokenId> merge(const std::vector<TokenId>& symbols) const;
  std::vector<TokenId> merge_naive(std::vector<TokenId> symbols) const;

  std::optional<TokenId> token_to_id(std::string_view token) const;
  const std::string* id_to_token(TokenId id) const;  // nullptr for ids not in the vocabulary
  TokenId max_id() const { return static_cast<TokenId>(id_to_token_.size()) - 1; }

 private:
  struct MergeRule {
    int32_t rank;
    TokenId result;
  };
  const MergeRule* find_merge(TokenId left, TokenId right) const;

  Vocab vocab_;
  std::vector<const std::string*> id_to_token_;  // points into vocab_'s keys; nullptr = gap
  std::unordered_map<uint64_t, MergeRule> merges_;  // key: left << 32 | right
  BpeOptions options_;
  std::optional<TokenId> unk_id_;
  TokenId byte_tokens_[256];  // ids of <0x00>..<0xFF>, -1 where missing
};

}  // namespace ssm
