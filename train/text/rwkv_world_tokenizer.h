// train/text/rwkv_world_tokenizer.h — the RWKV World tokenizer of RWKV-5/6 (rwkv_vocab_v20230424.txt).
//
// The vocabulary file has one token a line: `<id> <Python str or bytes literal> <byte length>`,
// e.g. `262 '\n ' 2` or `250 b'\xf9' 1`. A str literal stands for its UTF-8 encoding. The Python
// escapes are parsed here (\\ \' \" \n \t \r \a \b \f \v \xNN \uNNNN \UNNNNNNNN) and the byte length
// column is checked. Id 0 is end-of-text: it is not in the file, encodes from nothing and decodes
// to nothing. Every single byte must have a token, so that any text (even invalid UTF-8) encodes.
//
// Encoding is greedy longest match over the UTF-8 bytes (a byte trie); decoding concatenates the
// tokens' bytes. The embedding has 65536 rows, so vocab_size is 65536 (or more if the file's ids
// go higher). No BOS: RWKV prompts start directly with text.
#pragma once

#include <string>
#include <vector>

#include "train/text/byte_trie.h"  // defines: ByteTrie
#include "train/text/tokenizer.h"  // defines: Tokenizer, TokenId

namespace ssm {

class RwkvWorldTokenizer final : public Tokenizer {
 public:
  static constexpr TokenId kEndOfText = 0;
  static constexpr int64_t kVocabRows = 65536;

  // UserError naming `path` (and the line) when it cannot be read or a line is malformed.
  explicit RwkvWorldTokenizer(const std::string& path);

  std::vector<TokenId> encode(std::string_view text) const override;
  std::string decode(const std::vector<TokenId>& ids) const override;  // id 0 and unknown ids are dropped
  int64_t vocab_size() const override { return vocab_size_; }
  TokenId eos_id() const override { return kEndOfText; }
  std::string name() const override { return "rwkv-world"; }

  int64_t num_tokens() const { return num_tokens_; }  // lines read from the file

 private:
  ByteTrie trie_;
  std::vector<std::string> token_bytes_;  // id -> bytes ("" for ids not in the file)
  int64_t vocab_size_ = kVocabRows;
  int64_t num_tokens_ = 0;
};

// Parses one Python str/bytes literal (as repr() writes them) into bytes, a str as UTF-8.
// Returns false and sets `error` when the literal is malformed.
bool parse_python_literal(std::string_view literal, std::string& bytes, std::string& error);

}  // namespace ssm
