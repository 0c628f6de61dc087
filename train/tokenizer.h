// train/tokenizer.h — text <-> token ids. The interface every tokenizer implements, and the
// byte-level tokenizer used by the from-scratch configs.
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

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual std::vector<TokenId> encode(std::string_view text) const = 0;
  virtual std::string decode(const std::vector<TokenId>& ids) const = 0;
  virtual int64_t vocab_size() const = 0;  // ids are in [0, vocab_size)
  virtual TokenId eos_id() const = 0;      // separates documents
  virtual std::string name() const = 0;    // "byte", "gpt-neox", ...
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

// Builds a tokenizer by its config name ("byte"); UserError naming the allowed names otherwise.
std::unique_ptr<Tokenizer> make_tokenizer(const std::string& name);

}  // namespace ssm
