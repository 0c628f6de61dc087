// train/text/tokenizer.h — text <-> token ids. The interface every tokenizer implements, the
// byte-level tokenizer used by the from-scratch configs, and the factory that also builds the
// public checkpoints' tokenizers (train/text/bpe_tokenizer.h, train/text/rwkv_world_tokenizer.h).
//
// ByteTokenizer: ids 0..255 are the raw bytes of the UTF-8 text, so any text round-trips
// exactly and no vocabulary file is needed. Specials follow: 256 <|endoftext|> (document
// separator, EOS), 257 <|pad|>. The model pads its vocabulary further (to a multiple of 16).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ssm {

using TokenId = int32_t;

// The largest vocabulary ssmlab reads: ids below 2^24 (16,777,216). Every id up to the largest
// is a row of the model's embedding and of the tokenizer's id table, and the largest public
// vocabularies hold about 2^18; an id past this is a corrupt file, refused before any table is
// sized for it (an id of 2^31 - 1 would otherwise ask for gigabytes, or overflow TokenId).
constexpr int64_t kMaxVocabularySize = int64_t{1} << 24;

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Never adds a BOS (or any other) token of its own: callers that want one prepend bos_id().
  virtual std::vector<TokenId> encode(std::string_view text) const = 0;
  virtual std::string decode(const std::vector<TokenId>& ids) const = 0;
  virtual int64_t vocab_size() const = 0;  // ids are in [0, vocab_size)
  virtual TokenId eos_id() const = 0;      // separates documents
  virtual TokenId bos_id() const { return -1; }  // what the checkpoint's prompts start with; -1: none
  virtual std::string name() const = 0;    // "byte", "bpe:<file>", "rwkv-world"
};

class ByteTokenizer final : public Tokenizer {
 public:
  static constexpr TokenId kEos = 256;
  static constexpr TokenId kPad = 257;

  std::vector<TokenId> encode(std::string_view text) const override;
  std::string decode(const std::vector<TokenId>& ids) const override;  // specials are dropped
  int64_t vocab_size() const override { return 258; }
  TokenId eos_id() const override { return kEos; }
  std::string name() const override { return "byte"; }
};

// Builds a tokenizer from its spec: "byte", a path to a Hugging Face tokenizer.json (BPE), a path
// to an RWKV World vocabulary (.txt), or a directory holding one of these (see
// find_tokenizer_in_dir). UserError naming the path and the problem when it does not exist, is of
// an unknown kind or is corrupt.
std::unique_ptr<Tokenizer> make_tokenizer(const std::string& spec);

// The tokenizer a checkpoint directory ships: its tokenizer.json, else its rwkv_vocab*.txt (the
// first by name); nullptr when it has neither. UserError when `dir` is not a directory or the
// file found is corrupt.
std::unique_ptr<Tokenizer> find_tokenizer_in_dir(const std::string& dir);

// The tokenizer file a directory holds: its tokenizer.json, else its first rwkv_vocab*.txt by
// name; "" when it has neither. UserError when `dir` is not a directory.
std::string find_tokenizer_file(const std::string& dir);

// The file make_tokenizer(spec) reads: the spec itself, or the file found in a directory; "" for
// "byte", which needs none. UserError as make_tokenizer's when there is none.
std::string tokenizer_file(const std::string& spec);

}  // namespace ssm
