// train/text/unicode.h — the Unicode pieces the tokenizers need: UTF-8 decoding that never fails,
// character classes (letter, number, white space), NFC normalisation, and the lossy UTF-8
// repair the reference decoders apply. Tables come from train/text/unicode_tables.cpp (generated).
//
// Invalid UTF-8 in the input is not an error: each invalid byte becomes one "raw byte" unit
// (a value above U+10FFFF), which has no class, never normalises and is written back unchanged.
// So text that is not UTF-8 still tokenizes and round-trips byte for byte.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ssm::unicode {

// Units at or above kRawByte stand for the single invalid input byte (unit - kRawByte).
constexpr char32_t kRawByte = 0x110000;

// Decodes the unit that starts at text[pos] (pos < text.size()) into `unit`; returns its length
// in bytes (1..4). Overlong forms, surrogates and values above U+10FFFF are invalid.
size_t decode_utf8(std::string_view text, size_t pos, char32_t& unit);

// Appends the UTF-8 encoding of `unit` (or the raw byte it stands for).
void append_utf8(std::string& out, char32_t unit);

bool is_letter(char32_t cp);       // \p{L}: general categories Lu Ll Lt Lm Lo
bool is_number(char32_t cp);       // \p{N}: Nd Nl No
bool is_white_space(char32_t cp);  // \s: the White_Space property

int combining_class(char32_t cp);  // canonical combining class, 0 for starters

// Unicode Normalization Form C (canonical decomposition, canonical ordering, canonical
// composition with the exclusions), with the Unicode 9.0 data. ASCII text is returned unchanged
// without work.
std::string nfc(std::string_view text);

bool is_valid_utf8(std::string_view bytes);

// Valid UTF-8 from arbitrary bytes: each maximal invalid subpart becomes one U+FFFD, as
// Rust's String::from_utf8_lossy does (the reference tokenizers' byte-level decoder uses it).
std::string utf8_lossy(std::string_view bytes);

// Unicode versions of the generated tables: the character classes follow the reference library's
// regex engine (16.0.0), NFC its normalisation crate (9.0.0; later marks are treated as starters).
const char* classes_unicode_version();
const char* nfc_unicode_version();

}  // namespace ssm::unicode
