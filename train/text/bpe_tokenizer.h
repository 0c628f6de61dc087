// train/text/bpe_tokenizer.h — a Tokenizer over a Hugging Face tokenizer.json whose model is BPE: the
// GPT-2/GPT-NeoX byte-level files (Mamba-1/2) and the Llama/Mistral SentencePiece-BPE files
// (HGRN-2), giving the same ids as the reference library (Hugging Face tokenizers).
//
// Encoding, as the reference does it:
//   1. added tokens with normalized=false are cut out of the raw text (leftmost-longest);
//   2. each remaining piece is normalized, then added tokens with normalized=true are cut out;
//   3. the pre-tokenizer splits each piece into words (or keeps it whole), the BPE model encodes
//      each word. Byte-level words are cached per call (text repeats words); a whole SentencePiece
//      document is one word, which the priority-queue merge handles in O(n log n).
// No BOS/EOS is added (the post-processor is read only to learn bos_id). Decoding drops special
// added tokens and runs the file's decoder.
//
// bos_id: tokenizer_config.json's bos_token when that file sits beside the tokenizer.json and says
// add_bos_token: true; else the special token the post-processor's template starts with; else -1.
// eos_id: tokenizer_config.json's eos_token when present; else the first special added token among
// <|endoftext|>, </s>, <|end_of_text|>, <eos>; a file with neither is a UserError.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "train/text/bpe_model.h"       // defines: BpeModel
#include "train/text/byte_trie.h"       // defines: ByteTrie
#include "train/text/tokenizer.h"       // defines: Tokenizer, TokenId
#include "train/text/tokenizer_json.h"  // defines: TokenizerJson, AddedToken

namespace ssm {

class BpeTokenizer final : public Tokenizer {
 public:
  // Reads `path` (and tokenizer_config.json beside it, if any); UserError naming the file and
  // the problem when either is unreadable, corrupt or uses an unsupported component.
  explicit BpeTokenizer(const std::string& path);

  std::vector<TokenId> encode(std::string_view text) const override;
  std::string decode(const std::vector<TokenId>& ids) const override;  // special tokens are dropped
  int64_t vocab_size() const override { return vocab_size_; }
  TokenId eos_id() const override { return eos_; }
  TokenId bos_id() const override { return bos_; }
  std::string name() const override { return name_; }

  const BpeModel& model() const { return *model_; }
  // The normalizer alone (no added-token splitting): for text without added tokens and without
  // pre-tokenizer, this is the one word the model sees. For tests and inspection.
  std::string normalize(std::string_view text) const;

 private:
  struct Piece {
    std::string_view text;
    TokenId added;  // the added token this piece is, or -1 for text
    size_t offset;  // where it starts in the string it was cut from
  };
  static std::vector<Piece> split_added(std::string_view text, const ByteTrie& trie);
  TokenId id_of(const std::string& token, const std::string& source) const;
  void read_config(const std::string& config_path, const std::string& path);

  TokenizerJson spec_;  // its vocabulary and merges are moved into model_
  std::unique_ptr<BpeModel> model_;
  ByteTrie raw_added_, normalized_added_;
  std::unordered_map<TokenId, std::string> added_content_;
  std::unordered_set<std::string> special_contents_;  // skipped when decoding
  int64_t vocab_size_ = 0;
  TokenId bos_ = -1, eos_ = -1;
  std::string name_;
};

}  // namespace ssm
