// train/tokenizer.cpp — the byte-level tokenizer and the tokenizer factory.
#include "train/tokenizer.h"

#include "core/error.h"  // defines: SSM_USER_CHECK

namespace ssm {

std::vector<TokenId> ByteTokenizer::encode(std::string_view text) const {
  std::vector<TokenId> ids;
  ids.reserve(text.size());
  for (unsigned char c : text) ids.push_back(static_cast<TokenId>(c));
  return ids;
}

std::string ByteTokenizer::decode(const std::vector<TokenId>& ids) const {
  std::string text;
  text.reserve(ids.size());
  for (TokenId id : ids) {
    if (id >= 0 && id < 256) text.push_back(static_cast<char>(id));
  }
  return text;
}

std::unique_ptr<Tokenizer> make_tokenizer(const std::string& name) {
  if (name == "byte") return std::make_unique<ByteTokenizer>();
  throw UserError(absl::StrCat("unknown tokenizer '", name, "' (allowed: byte)"));
}

}  // namespace ssm
