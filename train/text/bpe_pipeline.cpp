// train/text/bpe_pipeline.cpp — normalizers, pre-tokenizers and decoders (see bpe_pipeline.h). Each
// follows the reference library's definition, including its quirks (noted where they matter).
#include "train/text/bpe_pipeline.h"

#include <array>
#include <cctype>

#include "train/text/unicode.h"  // defines: decode_utf8, append_utf8, nfc, is_letter, utf8_lossy, ...

namespace ssm::bpe {

namespace {

// GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the other 68 bytes are
// moved, in order, to U+0100 upwards. (So a space is "Ġ" = U+0120 and a newline "Ċ" = U+010A.)
struct ByteAlphabet {
  std::array<std::string, 256> encoded;  // byte -> UTF-8 of its character
  std::array<int, 0x180> byte_of;        // character -> byte, -1 if not in the alphabet
  ByteAlphabet() {
    byte_of.fill(-1);
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      const char32_t c = printable ? static_cast<char32_t>(b) : next++;
      unicode::append_utf8(encoded[b], c);
      byte_of[c] = b;
    }
  }
};
const ByteAlphabet& alphabet() {
  static const ByteAlphabet table;
  return table;
}

std::string replace_all(std::string_view text, std::string_view pattern, std::string_view with) {
  if (pattern.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  for (size_t hit = text.find(pattern); hit != std::string_view::npos; hit = text.find(pattern, pos)) {
    out.append(text.substr(pos, hit - pos)).append(with);
    pos = hit + pattern.size();
  }
  out.append(text.substr(pos));
  return out;
}

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

// The three classes of the pattern's " ?X+" alternatives, in the pattern's order.
bool letter(char32_t c) { return unicode::is_letter(c); }
bool number(char32_t c) { return unicode::is_number(c); }
bool other(char32_t c) { return !unicode::is_white_space(c) && !unicode::is_letter(c) && !unicode::is_number(c); }

// Where the GPT-2 pattern's match starting at unit k ends (units u[0..n)). The alternatives are
// tried in order and the first that matches wins, as in the backtracking regex engine.
size_t gpt2_match_end(const std::vector<char32_t>& u, size_t k) {
  const size_t n = u.size();
  // 's 't 're 've 'm 'll 'd (lower case only: the pattern is case-sensitive)
  if (u[k] == '\'' && k + 1 < n) {
    const char32_t a = u[k + 1];
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return k + 2;
    if (k + 2 < n) {
      const char32_t b = u[k + 2];
      if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return k + 3;
    }
  }
  // " ?X+": the optional space is taken only when an X follows it.
  for (bool (*cls)(char32_t) : {letter, number, other}) {
    size_t j = k;
    if (u[j] == ' ' && j + 1 < n && cls(u[j + 1])) ++j;
    if (!cls(u[j])) continue;
    while (j < n && cls(u[j])) ++j;
    return j;
  }
  // \s+(?!\S) then \s+: a run of white space, less its last unit when a non-space follows (that
  // unit then starts the next word as its optional space), unless the run is a single unit.
  size_t j = k;
  while (j < n && unicode::is_white_space(u[j])) ++j;
  if (j < n && j - k >= 2) return j - 1;
  return j;
}

}  // namespace

std::string normalize(const std::vector<NormalizerStep>& steps, std::string_view text) {
  std::string s(text);
  for (const NormalizerStep& step : steps) {
    switch (step.kind) {
      case NormalizerStep::Kind::kNfc: s = unicode::nfc(s); break;
      case NormalizerStep::Kind::kPrepend:
        if (!s.empty()) s.insert(0, step.text);
        break;
      case NormalizerStep::Kind::kReplace: s = replace_all(s, step.text, step.with); break;
    }
  }
  return s;
}

std::vector<std::string_view> split_gpt2(std::string_view text) {
  std::vector<char32_t> units;
  std::vector<size_t> offsets;  // byte offset of each unit, plus the end
  units.reserve(text.size());
  offsets.reserve(text.size() + 1);
  for (size_t pos = 0; pos < text.size();) {
    char32_t u;
    offsets.push_back(pos);
    pos += unicode::decode_utf8(text, pos, u);
    units.push_back(u);
  }
  offsets.push_back(text.size());
  std::vector<std::string_view> pieces;
  for (size_t k = 0; k < units.size();) {
    const size_t end = gpt2_match_end(units, k);
    pieces.push_back(text.substr(offsets[k], offsets[end] - offsets[k]));
    k = end;
  }
  return pieces;
}

std::string to_byte_level(std::string_view bytes) {
  const ByteAlphabet& table = alphabet();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) out.append(table.encoded[static_cast<unsigned char>(c)]);
  return out;
}

void pre_tokenize(const PreTokenizerSpec& spec, std::string_view piece, bool at_text_start,
                  std::vector<std::string>& words) {
  switch (spec.kind) {
    case PreTokenizerSpec::Kind::kNone: words.emplace_back(piece); return;
    case PreTokenizerSpec::Kind::kByteLevel: {
      std::string text;
      text.reserve(piece.size() + 1);
      if (spec.add_prefix_space && !starts_with(piece, " ")) text.push_back(' ');
      text.append(piece);
      if (!spec.use_regex) {
        words.push_back(to_byte_level(text));
        return;
      }
      for (std::string_view word : split_gpt2(text)) words.push_back(to_byte_level(word));
      return;
    }
    case PreTokenizerSpec::Kind::kMetaspace: {
      std::string text = replace_all(piece, " ", spec.replacement);
      const bool prepend = spec.prepend == PrependScheme::kAlways ||
                           (spec.prepend == PrependScheme::kFirst && at_text_start);
      if (prepend && !starts_with(text, spec.replacement)) text.insert(0, spec.replacement);
      if (!spec.split) {
        words.push_back(std::move(text));
        return;
      }
      // Split before each replacement character, which starts the next word.
      size_t begin = 0;
      for (size_t hit = text.find(spec.replacement, 1); hit != std::string::npos;
           hit = text.find(spec.replacement, hit + spec.replacement.size())) {
        if (hit > begin) words.push_back(text.substr(begin, hit - begin));
        begin = hit;
      }
      if (begin < text.size()) words.push_back(text.substr(begin));
      return;
    }
  }
}

std::string decode_tokens(bool has_decoder, const std::vector<DecoderStep>& steps, std::vector<std::string> tokens) {
  std::string joined;
  if (!has_decoder) {
    for (size_t i = 0; i < tokens.size(); ++i) joined.append(i ? " " : "").append(tokens[i]);
    return joined;
  }
  using Kind = DecoderStep::Kind;
  for (const DecoderStep& step : steps) {
    std::vector<std::string> next;
    switch (step.kind) {
      case Kind::kByteLevel: {  // characters back to bytes; a token outside the alphabet as is
        std::string bytes;
        for (const std::string& token : tokens) {
          std::string mapped;
          bool in_alphabet = true;
          for (size_t pos = 0; pos < token.size() && in_alphabet;) {
            char32_t u;
            pos += unicode::decode_utf8(token, pos, u);
            const int b = u < alphabet().byte_of.size() ? alphabet().byte_of[u] : -1;
            in_alphabet = b >= 0;
            mapped.push_back(static_cast<char>(b));
          }
          bytes.append(in_alphabet ? mapped : token);
        }
        next.push_back(unicode::utf8_lossy(bytes));
        break;
      }
      case Kind::kMetaspace:  // the replacement becomes a space, but vanishes in the first token
        for (size_t i = 0; i < tokens.size(); ++i) {
          const bool drop = i == 0 && step.prepend != PrependScheme::kNever;
          next.push_back(replace_all(tokens[i], step.content, drop ? "" : " "));
        }
        break;
      case Kind::kReplace:
        for (const std::string& token : tokens) next.push_back(replace_all(token, step.pattern, step.content));
        break;
      case Kind::kByteFallback: {  // runs of <0xNN> become their bytes if valid UTF-8, else one U+FFFD each
        std::string run;
        auto flush = [&] {
          if (run.empty()) return;
          if (unicode::is_valid_utf8(run)) {
            next.push_back(run);
          } else {
            for (size_t i = 0; i < run.size(); ++i) next.emplace_back("\xEF\xBF\xBD");
          }
          run.clear();
        };
        for (std::string& token : tokens) {
          int value = -1;
          if (token.size() == 6 && starts_with(token, "<0x") && token[5] == '>') {
            const std::string hex = token.substr(3, 2);
            if (std::isxdigit(static_cast<unsigned char>(hex[0])) && std::isxdigit(static_cast<unsigned char>(hex[1]))) {
              value = std::stoi(hex, nullptr, 16);
            }
          }
          if (value >= 0) {
            run.push_back(static_cast<char>(value));
          } else {
            flush();
            next.push_back(std::move(token));
          }
        }
        flush();
        break;
      }
      case Kind::kFuse: {
        std::string all;
        for (const std::string& token : tokens) all.append(token);
        next.push_back(std::move(all));
        break;
      }
      case Kind::kStrip:  // up to `start` leading and `stop` trailing copies of one character
        for (const std::string& token : tokens) {
          std::string_view t = token;
          const std::string_view c = step.content;
          for (int i = 0; i < step.start && !c.empty() && starts_with(t, c); ++i) t.remove_prefix(c.size());
          for (int i = 0; i < step.stop && !c.empty() && t.size() >= c.size() && t.substr(t.size() - c.size()) == c; ++i) {
            t.remove_suffix(c.size());
          }
          next.emplace_back(t);
        }
        break;
    }
    tokens = std::move(next);
  }
  for (const std::string& token : tokens) joined.append(token);
  return joined;
}

}  // namespace ssm::bpe
