// train/text/unicode.cpp — UTF-8 decoding and repair, character classes and NFC over the generated
// tables (see unicode.h). NFC follows UAX #15 step by step: full canonical decomposition (Hangul
// algorithmically), stable reordering of non-starters by combining class, then canonical
// composition where a mark is not blocked from the last starter.
#include "train/text/unicode.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "train/text/unicode_tables.h"  // defines: kLetterRanges, kDecompositions, kCompositions, ...

namespace ssm::unicode {
namespace tbl = unicode_tables;

namespace {

// Hangul syllable arithmetic (Unicode §3.12).
constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr char32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount;
constexpr char32_t kSCount = kLCount * kNCount;

bool in_ranges(const tbl::CodeRange* rows, size_t n, char32_t cp) {
  const tbl::CodeRange* end = rows + n;
  const tbl::CodeRange* it =
      std::upper_bound(rows, end, cp, [](char32_t c, const tbl::CodeRange& r) { return c < r.first; });
  return it != rows && cp <= (it - 1)->last;
}

// Length of the sequence a lead byte announces (0 if it cannot start one), and the range its
// second byte must fall in (this is what excludes overlongs, surrogates and > U+10FFFF).
struct Lead {
  int length;
  unsigned char lo, hi;
};
Lead lead_of(unsigned char b) {
  if (b < 0x80) return {1, 0, 0};
  if (b >= 0xC2 && b <= 0xDF) return {2, 0x80, 0xBF};
  if (b == 0xE0) return {3, 0xA0, 0xBF};
  if (b == 0xED) return {3, 0x80, 0x9F};
  if (b >= 0xE1 && b <= 0xEF) return {3, 0x80, 0xBF};
  if (b == 0xF0) return {4, 0x90, 0xBF};
  if (b >= 0xF1 && b <= 0xF3) return {4, 0x80, 0xBF};
  if (b == 0xF4) return {4, 0x80, 0x8F};
  return {0, 0, 0};
}

// Checks the sequence at text[pos]: returns the number of bytes that form a valid prefix of it
// (the whole sequence when `complete` is set). 0 means the lead byte itself is invalid.
size_t scan_sequence(std::string_view text, size_t pos, bool& complete, char32_t& cp) {
  const unsigned char b0 = static_cast<unsigned char>(text[pos]);
  const Lead lead = lead_of(b0);
  complete = false;
  if (lead.length == 0) return 0;
  if (lead.length == 1) {
    complete = true;
    cp = b0;
    return 1;
  }
  cp = b0 & (0x7F >> lead.length);
  for (int k = 1; k < lead.length; ++k) {
    if (pos + k >= text.size()) return static_cast<size_t>(k);
    const unsigned char b = static_cast<unsigned char>(text[pos + k]);
    const unsigned char lo = k == 1 ? lead.lo : 0x80, hi = k == 1 ? lead.hi : 0xBF;
    if (b < lo || b > hi) return static_cast<size_t>(k);
    cp = (cp << 6) | (b & 0x3F);
  }
  complete = true;
  return static_cast<size_t>(lead.length);
}

const tbl::Decomposition* find_decomposition(char32_t cp) {
  const tbl::Decomposition* end = tbl::kDecompositions + tbl::kDecompositionsSize;
  const tbl::Decomposition* it = std::lower_bound(
      tbl::kDecompositions, end, cp, [](const tbl::Decomposition& d, char32_t c) { return d.cp < c; });
  return it != end && it->cp == cp ? it : nullptr;
}

void decompose_into(char32_t cp, std::u32string& out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    const char32_t s = cp - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount != 0) out.push_back(kTBase + s % kTCount);
    return;
  }
  const tbl::Decomposition* d = cp < 0xC0 || cp >= kRawByte ? nullptr : find_decomposition(cp);
  if (d == nullptr) {
    out.push_back(cp);
    return;
  }
  decompose_into(d->first, out);
  if (d->second != 0) decompose_into(d->second, out);
}

// The primary composite of (a, b), or 0 when there is none.
char32_t compose_pair(char32_t a, char32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount) {
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  }
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase &&
      b < kTBase + kTCount) {
    return a + (b - kTBase);
  }
  const tbl::Composition* end = tbl::kCompositions + tbl::kCompositionsSize;
  const tbl::Composition* it =
      std::lower_bound(tbl::kCompositions, end, std::pair<char32_t, char32_t>(a, b),
                       [](const tbl::Composition& c, const std::pair<char32_t, char32_t>& key) {
                         return c.first != key.first ? c.first < key.first : c.second < key.second;
                       });
  return it != end && it->first == a && it->second == b ? it->composite : 0;
}

}  // namespace

size_t decode_utf8(std::string_view text, size_t pos, char32_t& unit) {
  bool complete = false;
  const size_t n = scan_sequence(text, pos, complete, unit);
  if (complete) return n;
  unit = kRawByte + static_cast<unsigned char>(text[pos]);
  return 1;
}

void append_utf8(std::string& out, char32_t u) {
  if (u >= kRawByte) {
    out.push_back(static_cast<char>(u - kRawByte));
  } else if (u < 0x80) {
    out.push_back(static_cast<char>(u));
  } else if (u < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (u >> 6)));
    out.push_back(static_cast<char>(0x80 | (u & 0x3F)));
  } else if (u < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (u >> 12)));
    out.push_back(static_cast<char>(0x80 | ((u >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (u & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (u >> 18)));
    out.push_back(static_cast<char>(0x80 | ((u >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((u >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (u & 0x3F)));
  }
}

bool is_letter(char32_t cp) {
  if (cp < 0x80) return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
  return in_ranges(tbl::kLetterRanges, tbl::kLetterRangesSize, cp);
}

bool is_number(char32_t cp) {
  if (cp < 0x80) return cp >= '0' && cp <= '9';
  return in_ranges(tbl::kNumberRanges, tbl::kNumberRangesSize, cp);
}

bool is_white_space(char32_t cp) {
  if (cp < 0x80) return cp == ' ' || (cp >= 0x09 && cp <= 0x0D);
  return in_ranges(tbl::kWhiteSpaceRanges, tbl::kWhiteSpaceRangesSize, cp);
}

int combining_class(char32_t cp) {
  if (cp < 0x300 || cp >= kRawByte) return 0;
  const tbl::ClassRange* end = tbl::kCombiningClasses + tbl::kCombiningClassesSize;
  const tbl::ClassRange* it = std::upper_bound(tbl::kCombiningClasses, end, cp,
                                               [](char32_t c, const tbl::ClassRange& r) { return c < r.first; });
  if (it == tbl::kCombiningClasses || cp > (it - 1)->last) return 0;
  return static_cast<int>((it - 1)->ccc);
}

std::string nfc(std::string_view text) {
  if (std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
    return std::string(text);
  }
  // 1. Full canonical decomposition.
  std::u32string units;
  units.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    char32_t u;
    pos += decode_utf8(text, pos, u);
    decompose_into(u, units);
  }
  // 2. Canonical ordering: each run of non-starters sorted stably by combining class.
  std::vector<int> ccc(units.size());
  for (size_t i = 0; i < units.size(); ++i) ccc[i] = combining_class(units[i]);
  for (size_t i = 0; i < units.size();) {
    if (ccc[i] == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < units.size() && ccc[j] != 0) ++j;
    for (size_t a = i + 1; a < j; ++a) {  // insertion sort: runs are a handful of marks
      for (size_t b = a; b > i && ccc[b - 1] > ccc[b]; --b) {
        std::swap(ccc[b - 1], ccc[b]);
        std::swap(units[b - 1], units[b]);
      }
    }
    i = j;
  }
  // 3. Canonical composition. A unit is blocked from the last starter when a unit between them
  // has a class >= its own (or is a starter). last_class 256 marks "no starter to compose with".
  std::string out;
  out.reserve(text.size());
  std::u32string composed;
  composed.reserve(units.size());
  size_t starter = 0;
  int last_class = 256;
  for (size_t i = 0; i < units.size(); ++i) {
    const char32_t u = units[i];
    const int cc = ccc[i];
    if (last_class != 256 && (last_class < cc || last_class == 0)) {
      if (const char32_t c = compose_pair(composed[starter], u)) {
        composed[starter] = c;
        continue;
      }
    }
    if (cc == 0) {
      starter = composed.size();
      last_class = 0;
    } else if (last_class != 256) {
      last_class = cc;
    }
    composed.push_back(u);
  }
  for (char32_t u : composed) append_utf8(out, u);
  return out;
}

bool is_valid_utf8(std::string_view bytes) {
  for (size_t pos = 0; pos < bytes.size();) {
    bool complete = false;
    char32_t cp;
    const size_t n = scan_sequence(bytes, pos, complete, cp);
    if (!complete) return false;
    pos += n;
  }
  return true;
}

std::string utf8_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t pos = 0; pos < bytes.size();) {
    bool complete = false;
    char32_t cp;
    const size_t n = scan_sequence(bytes, pos, complete, cp);
    if (complete) {
      out.append(bytes.substr(pos, n));
      pos += n;
    } else {
      out.append("\xEF\xBF\xBD");  // U+FFFD for the maximal invalid subpart
      pos += std::max<size_t>(n, 1);
    }
  }
  return out;
}

const char* classes_unicode_version() { return tbl::kClassesVersion; }
const char* nfc_unicode_version() { return tbl::kNfcVersion; }

}  // namespace ssm::unicode
