// train/text/rwkv_world_tokenizer.cpp — the RWKV World vocabulary reader (Python literal parsing,
// byte-length check) and greedy longest-match encoding (see rwkv_world_tokenizer.h).
#include "train/text/rwkv_world_tokenizer.h"

#include <charconv>
#include <sstream>

#include "core/error.h"     // defines: UserError, SSM_USER_CHECK
#include "core/regular_file.h"  // defines: read_regular_file
#include "train/text/unicode.h"  // defines: append_utf8

namespace ssm {

namespace {

bool parse_hex(std::string_view digits, uint32_t& value) {
  if (digits.empty()) return false;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, 16);
  return ec == std::errc() && end == digits.data() + digits.size();
}

template <typename T>
bool parse_decimal(std::string_view digits, T& value) {
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  return !digits.empty() && ec == std::errc() && end == digits.data() + digits.size();
}

}  // namespace

bool parse_python_literal(std::string_view lit, std::string& out, std::string& error) {
  out.clear();
  const bool is_bytes = !lit.empty() && (lit[0] == 'b' || lit[0] == 'B');
  if (is_bytes) lit.remove_prefix(1);
  if (lit.size() < 2 || (lit[0] != '\'' && lit[0] != '"') || lit.back() != lit[0]) {
    error = "expected a quoted str or bytes literal";
    return false;
  }
  const char quote = lit[0];
  const std::string_view body = lit.substr(1, lit.size() - 2);
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c == quote) {
      error = "unescaped quote inside the literal";
      return false;
    }
    if (c != '\\') {
      if (is_bytes && static_cast<unsigned char>(c) >= 0x80) {
        error = "non-ASCII character in a bytes literal";
        return false;
      }
      out.push_back(c);
      continue;
    }
    if (++i == body.size()) {
      error = "the literal ends in a backslash";
      return false;
    }
    switch (body[i]) {
      case '\\': out.push_back('\\'); continue;
      case '\'': out.push_back('\''); continue;
      case '"': out.push_back('"'); continue;
      case 'n': out.push_back('\n'); continue;
      case 't': out.push_back('\t'); continue;
      case 'r': out.push_back('\r'); continue;
      case 'a': out.push_back('\a'); continue;
      case 'b': out.push_back('\b'); continue;
      case 'f': out.push_back('\f'); continue;
      case 'v': out.push_back('\v'); continue;
      default: break;
    }
    // \xNN (a byte in bytes, a code point in str), \uNNNN and \UNNNNNNNN (str only)
    const char kind = body[i];
    const size_t digits = kind == 'x' ? 2 : kind == 'u' ? 4 : kind == 'U' ? 8 : 0;
    const std::string_view hex = body.substr(i + 1, digits);
    uint32_t value = 0;
    if (digits == 0 || (is_bytes && kind != 'x') || hex.size() != digits || !parse_hex(hex, value)) {
      error = absl::StrCat("unsupported or malformed escape '\\", std::string(body.substr(i, 1 + hex.size())), "'");
      return false;
    }
    i += digits;
    if (is_bytes) {
      out.push_back(static_cast<char>(value));
    } else {
      if (value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) {
        error = "escape outside the Unicode scalar values";
        return false;
      }
      unicode::append_utf8(out, value);
    }
  }
  return true;
}

RwkvWorldTokenizer::RwkvWorldTokenizer(const std::string& path) {
  std::istringstream in(read_regular_file(path, absl::StrCat("cannot read RWKV vocabulary '", path, "'")));
  std::string line, bytes, error;
  for (int64_t line_no = 1; std::getline(in, line); ++line_no) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const std::string where = absl::StrCat(path, ":", line_no, ": malformed RWKV vocabulary line '",
                                           line.substr(0, 60), line.size() > 60 ? "..." : "", "': ");
    const size_t first = line.find(' '), last = line.rfind(' ');
    SSM_USER_CHECK(first != std::string::npos && last > first, where, "expected '<id> <literal> <byte length>'");
    TokenId id = 0;
    size_t length = 0;
    SSM_USER_CHECK(parse_decimal(std::string_view(line).substr(0, first), id) && id > 0, where,
                   "the id must be a positive integer (0 is end-of-text)");
    SSM_USER_CHECK(id < kMaxVocabularySize, where, "id ", id, " is too large: ssmlab reads vocabularies of at most ",
                   kMaxVocabularySize, " ids");
    SSM_USER_CHECK(parse_decimal(std::string_view(line).substr(last + 1), length), where,
                   "the byte length must be an integer");
    SSM_USER_CHECK(parse_python_literal(std::string_view(line).substr(first + 1, last - first - 1), bytes, error),
                   where, error);
    SSM_USER_CHECK(!bytes.empty(), where, "empty token");
    SSM_USER_CHECK(bytes.size() == length, where, "the token has ", bytes.size(), " bytes, the line says ", length);
    if (static_cast<size_t>(id) >= token_bytes_.size()) token_bytes_.resize(static_cast<size_t>(id) + 1);
    SSM_USER_CHECK(token_bytes_[id].empty(), where, "id ", id, " appears twice");
    token_bytes_[id] = bytes;
    trie_.insert(bytes, id);
    ++num_tokens_;
  }
  SSM_USER_CHECK(num_tokens_ > 0, path, ": empty RWKV vocabulary");
  for (int b = 0; b < 256; ++b) {
    TokenId id;
    const char byte = static_cast<char>(b);
    SSM_USER_CHECK(trie_.longest_match(std::string_view(&byte, 1), 0, id) == 1, path,
                   ": the RWKV vocabulary has no token for the byte 0x", absl::Hex(b, absl::kZeroPad2),
                   " (every byte needs one)");
  }
  vocab_size_ = std::max<int64_t>(kVocabRows, static_cast<int64_t>(token_bytes_.size()));
}

std::vector<TokenId> RwkvWorldTokenizer::encode(std::string_view text) const {
  std::vector<TokenId> ids;
  ids.reserve(text.size() / 3 + 1);
  for (size_t pos = 0; pos < text.size();) {
    TokenId id = -1;
    const size_t len = trie_.longest_match(text, pos, id);
    SSM_CHECK(len > 0, "RWKV vocabulary lost a single-byte token");  // checked when loading
    ids.push_back(id);
    pos += len;
  }
  return ids;
}

std::string RwkvWorldTokenizer::decode(const std::vector<TokenId>& ids) const {
  std::string text;
  for (TokenId id : ids) {
    if (id > 0 && static_cast<size_t>(id) < token_bytes_.size()) text.append(token_bytes_[id]);
  }
  return text;
}

}  // namespace ssm
