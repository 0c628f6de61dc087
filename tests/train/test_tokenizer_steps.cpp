// tests/train/test_tokenizer_steps.cpp — the pieces under the tokenizers, each against values taken from
// the reference libraries (Hugging Face tokenizers' normalizer, pre-tokenizers and decoders;
// Python's unicodedata of the same Unicode versions): UTF-8 handling, character classes, NFC, the GPT-2 split pattern, Metaspace, the
// decoder chain, the BPE model's unknown-token rules, and the Python literal parser of the RWKV
// vocabulary.
#include <filesystem>
#include <fstream>

#include "tests/support/testing.h"
#include "train/text/bpe_pipeline.h"
#include "train/text/bpe_tokenizer.h"
#include "train/text/rwkv_world_tokenizer.h"
#include "train/text/unicode.h"

using namespace ssm;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> split(std::string_view text) {
  std::vector<std::string> out;
  for (std::string_view piece : bpe::split_gpt2(text)) out.emplace_back(piece);
  return out;
}

std::string literal(std::string_view lit) {
  std::string bytes, error;
  REQUIRE_MESSAGE(parse_python_literal(lit, bytes, error), error);
  return bytes;
}

DecoderStep step(DecoderStep::Kind kind) { return DecoderStep{kind, "", "", 0, 0, PrependScheme::kAlways}; }

}  // namespace

TEST_CASE("UTF-8: invalid bytes pass through; lossy repair replaces maximal subparts") {
  char32_t u;
  CHECK(unicode::decode_utf8("\xE2\x82\xAC", 0, u) == 3);
  CHECK(u == 0x20AC);
  CHECK(unicode::decode_utf8("\xC0\x80", 0, u) == 1);  // overlong
  CHECK(u == unicode::kRawByte + 0xC0);
  CHECK(unicode::decode_utf8("\xED\xA0\x80", 0, u) == 1);  // surrogate
  CHECK(unicode::is_valid_utf8("caf\xC3\xA9"));
  CHECK_FALSE(unicode::is_valid_utf8("caf\xC3"));
  // Rust's String::from_utf8_lossy examples.
  CHECK(unicode::utf8_lossy("Hello \xF0\x90\x80World") == "Hello \xEF\xBF\xBDWorld");
  CHECK(unicode::utf8_lossy("\xE0\x80x") == "\xEF\xBF\xBD\xEF\xBF\xBDx");
  CHECK(unicode::utf8_lossy("\xF4\x90\x80\x80") == "\uFFFD\uFFFD\uFFFD\uFFFD");  // above U+10FFFF
  CHECK(unicode::nfc("a\xFF" "e\xCC\x81") == "a\xFF\xC3\xA9");  // the raw byte survives NFC
}

TEST_CASE("character classes (Unicode general categories and White_Space)") {
  CHECK(unicode::is_letter(U'a'));
  CHECK(unicode::is_letter(U'Ω'));
  CHECK(unicode::is_letter(U'中'));
  CHECK(unicode::is_letter(U'ー'));  // Lm
  CHECK_FALSE(unicode::is_letter(0x301));
  CHECK(unicode::is_number(U'٣'));
  CHECK(unicode::is_number(U'Ⅻ'));  // Nl
  CHECK(unicode::is_number(U'½'));  // No
  CHECK_FALSE(unicode::is_number(U'a'));
  for (char32_t c : {0x09u, 0x0Bu, 0x20u, 0x85u, 0xA0u, 0x1680u, 0x2009u, 0x2028u, 0x3000u}) CHECK(unicode::is_white_space(c));
  CHECK_FALSE(unicode::is_white_space(0x200B));  // zero-width space is not White_Space
  CHECK(unicode::combining_class(0x301) == 230);
  CHECK(unicode::combining_class(0x323) == 220);
  CHECK(std::string(unicode::classes_unicode_version()) == "16.0.0");  // the reference library's regex engine
  CHECK(std::string(unicode::nfc_unicode_version()) == "9.0.0");       // and its normalisation crate
  CHECK(unicode::is_letter(0x1C89));  // CYRILLIC CAPITAL LETTER TJE, new in 16.0
  CHECK(unicode::combining_class(0x1DF5) == 230);  // in 9.0
  CHECK(unicode::combining_class(0x8D3) == 0);     // ARABIC SMALL LOW WAW, 11.0: a starter for NFC here
}

TEST_CASE("NFC equals the reference library's (Unicode 9.0 data)") {
  CHECK(unicode::nfc("e\u0301") == "\u00e9");
  CHECK(unicode::nfc("A\u030angstro\u0308m") == "\u00c5ngstr\u00f6m");
  CHECK(unicode::nfc("\u212b\u2126") == "\u00c5\u03a9");             // singletons
  CHECK(unicode::nfc("\u0958") == "\u0915\u093c");                   // composition exclusion
  CHECK(unicode::nfc("\u1112\u1161\u11ab") == "\ud55c");             // Hangul L V T
  CHECK(unicode::nfc("\u1100\u1161\u11a8\u11a8") == "\uac01\u11a8");
  CHECK(unicode::nfc("a\u0301\u0323") == "\u1ea1\u0301");            // reordered, then composed
  CHECK(unicode::nfc("Tie\u0302\u0301ng") == "Ti\u1ebfng");          // two marks, two compositions
  CHECK(unicode::nfc("\u0301abc") == "\u0301abc");                   // no starter to compose with
  CHECK(unicode::nfc("\u0e40\u0e01\u0e47") == "\u0e40\u0e01\u0e47");
  CHECK(unicode::nfc("\u00c5\u0327") == "\u00c5\u0327");             // blocked after reordering
  CHECK(unicode::nfc("plain ASCII") == "plain ASCII");
}

TEST_CASE("GPT-2 split pattern equals the ByteLevel pre-tokenizer's") {
  using V = std::vector<std::string>;
  CHECK(split("Hello  there\n\n  x") == V{"Hello", " ", " there", "\n\n ", " x"});
  CHECK(split("it's DON'T 'll'") == V{"it", "'s", " DON", "'", "T", " '", "ll", "'"});
  CHECK(split("a1b22 c333d\u00a0e\u3000f") == V{"a", "1", "b", "22", " c", "333", "d", "\u00a0", "e", "\u3000", "f"});
  CHECK(split("  \t\n x") == V{"  \t\n", " x"});
  CHECK(split("x   ") == V{"x", "   "});
  CHECK(split("中文：我爱。한국어") == V{"中文", "：", "我爱", "。", "한국어"});
  CHECK(split("🙂👍🏽 !!?") == V{"🙂👍🏽", " !!?"});
  CHECK(split("x\u0301y") == V{"x", "\u0301", "y"});
  CHECK(split("3.14 ٣٤٥ Ⅻ½") == V{"3", ".", "14", " ٣٤٥", " Ⅻ½"});
  CHECK(split("\r\n\r\nA") == V{"\r\n\r", "\n", "A"});
  CHECK(bpe::to_byte_level(" \n\xC3\xA9") == "\u0120\u010a\u00c3\u00a9");
}

TEST_CASE("ByteLevel pre-tokenizer with add_prefix_space") {
  PreTokenizerSpec spec;
  spec.kind = PreTokenizerSpec::Kind::kByteLevel;
  spec.add_prefix_space = true;
  std::vector<std::string> words;
  bpe::pre_tokenize(spec, "Hello  there\n\n  x", true, words);
  CHECK(words == std::vector<std::string>{"\u0120Hello", "\u0120", "\u0120there", "\u010a\u010a\u0120", "\u0120x"});
  words.clear();
  spec.use_regex = false;
  bpe::pre_tokenize(spec, " a b", false, words);  // already starts with a space: nothing added
  CHECK(words == std::vector<std::string>{"\u0120a\u0120b"});
}

TEST_CASE("Metaspace pre-tokenizer") {
  PreTokenizerSpec spec;
  spec.kind = PreTokenizerSpec::Kind::kMetaspace;
  spec.replacement = "\u2581";
  std::vector<std::string> words;
  bpe::pre_tokenize(spec, "a  b c", false, words);
  CHECK(words == std::vector<std::string>{"\u2581a", "\u2581", "\u2581b", "\u2581c"});
  words.clear();
  bpe::pre_tokenize(spec, " hello", false, words);
  CHECK(words == std::vector<std::string>{"\u2581hello"});
  spec.prepend = PrependScheme::kFirst;
  spec.split = false;
  words.clear();
  bpe::pre_tokenize(spec, "x y", false, words);
  CHECK(words == std::vector<std::string>{"x\u2581y"});
  words.clear();
  bpe::pre_tokenize(spec, "x y", true, words);
  CHECK(words == std::vector<std::string>{"\u2581x\u2581y"});
}

TEST_CASE("decoders equal the reference library's") {
  using Kind = DecoderStep::Kind;
  DecoderStep meta = step(Kind::kMetaspace);
  meta.content = "\u2581";
  const std::vector<std::string> pieces = {"\u2581\u2581a\u2581b", "\u2581c\u2581", "d"};
  CHECK(bpe::decode_tokens(true, {meta}, pieces) == "ab c d");
  meta.prepend = PrependScheme::kNever;
  CHECK(bpe::decode_tokens(true, {meta}, pieces) == "  a b c d");
  const DecoderStep strip{Kind::kStrip, "", " ", 2, 1, PrependScheme::kAlways};  // content, start, stop
  CHECK(bpe::decode_tokens(true, {strip}, {"  a ", " b  "}) == "ab ");
  CHECK(bpe::decode_tokens(true, {step(Kind::kByteFallback)},
                           {"<0xE2>", "<0x82>", "a", "<0xE2>", "<0x82>", "<0xAC>", "<0x41>", "<0xff>"}) ==
        "\uFFFD\uFFFDa\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD");
  CHECK(bpe::decode_tokens(true, {step(Kind::kByteFallback)}, {"<0xE2>", "<0x82>", "<0xAC>", "!"}) == "\u20ac!");
  CHECK(bpe::decode_tokens(true, {step(Kind::kByteLevel)}, {"\u0120a", "  ", "\u00e9x", "\u00c3"}) ==
        " a  \uFFFDx\uFFFD");
  CHECK(bpe::decode_tokens(false, {}, {"a", "b"}) == "a b");
}

TEST_CASE("BPE model: byte fallback, unknown tokens fused or not, characters dropped") {
  const fs::path dir = fs::temp_directory_path() / "ssmlab_test_tokenizer_steps";
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto make = [&](const std::string& name, const std::string& model_extra) {
    const fs::path path = dir / (name + ".json");
    std::ofstream(path) << R"({"added_tokens": [{"id": 0, "content": "</s>", "special": true}],
      "normalizer": null, "pre_tokenizer": null, "post_processor": null, "decoder": null,
      "model": {"type": "BPE", "vocab": {"</s>": 0, "<unk>": 1, "a": 2, "b": 3, "ab": 4, "<0xC3>": 5,
                "<0xA9>": 6}, "merges": [["a", "b"]])"
                        << model_extra << "}}";
    return std::make_unique<BpeTokenizer>(path.string());
  };
  CHECK(make("plain", "")->encode("abxyb") == std::vector<TokenId>{4, 3});  // no unk: dropped
  CHECK(make("unk", R"(, "unk_token": "<unk>")")->encode("abxyb") == std::vector<TokenId>{4, 1, 1, 3});
  CHECK(make("fuse", R"(, "unk_token": "<unk>", "fuse_unk": true)")->encode("abxyb") == std::vector<TokenId>{4, 1, 3});
  const auto fallback = make("fallback", R"(, "unk_token": "<unk>", "byte_fallback": true)");
  CHECK(fallback->encode("a\u00e9\u00e8b") == std::vector<TokenId>{2, 5, 6, 1, 3});  // è lacks <0xA8>
  CHECK(fallback->encode("ab</s>ab") == std::vector<TokenId>{4, 0, 4});
  CHECK(fallback->decode({4, 0, 4}) == "ab ab");  // no decoder: joined with spaces, </s> dropped
  CHECK(fallback->eos_id() == 0);
  CHECK(fallback->vocab_size() == 7);
}

TEST_CASE("Python literals of the RWKV vocabulary") {
  CHECK(literal("'abc'") == "abc");
  CHECK(literal("\"it's\"") == "it's");
  CHECK(literal("'\\n\\t\\r\\\\\\'\\\"'") == "\n\t\r\\'\"");
  CHECK(literal("'\\x00\\x7f'") == std::string("\x00\x7f", 2));
  CHECK(literal("'\\xe9'") == "\u00e9");  // a code point in a str: two bytes
  CHECK(literal("b'\\xe9'") == "\xe9");   // a byte in a bytes literal
  CHECK(literal("'\\u2002'") == "\u2002");
  CHECK(literal("'\\U0001F642'") == "\U0001F642");
  CHECK(literal("'中文'") == "中文");
  CHECK(literal("'\\a\\b\\f\\v'") == "\a\b\f\v");
  std::string bytes, error;
  for (const char* bad : {"abc", "'abc", "b'\\u1234'", "'\\x4'", "'\\q'", "'a'b'", "'\\U00110000'", "'\\'"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_python_literal(bad, bytes, error));
    CHECK_FALSE(error.empty());
  }
}
