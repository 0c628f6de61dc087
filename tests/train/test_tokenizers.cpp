// tests/train/test_tokenizers.cpp — the public checkpoints' tokenizers against golden fixtures made by
// the reference libraries (scripts/golden/make_tokenizer_fixtures.py): exact ids, exact decoding
// and round trips; bos/eos ids; the factory and checkpoint-directory lookup; bad files naming
// their path; and the priority-queue BPE merge against the naive loop on a 200 KB input.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tests/support/testing.h"
#include "train/text/bpe_tokenizer.h"
#include "train/text/rwkv_world_tokenizer.h"
#include "train/text/tokenizer.h"

using namespace ssm;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const fs::path kFixtures = fs::path(SSMLAB_SOURCE_DIR) / "tests" / "data" / "tokenizers";
constexpr int kFixtureVersion = 1;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

json load_cases(const std::string& name) {
  const json doc = json::parse(read_text(kFixtures / name / "cases.json"));
  INFO("fixture " << name << " has an old format: regenerate it with " << doc.value("regenerate", "?"));
  REQUIRE(doc.at("format") == "ssmlab-tokenizer-fixture");
  REQUIRE(doc.at("version") == kFixtureVersion);
  return doc;
}

std::string tokenizer_path(const std::string& name, const json& doc) {
  return (kFixtures / name / doc.at("tokenizer_file").get<std::string>()).string();
}

fs::path fresh_dir(const std::string& name) { return testing::empty_temp_dir("tokenizers_" + name); }

// Every case of a fixture: encode == reference ids, decode == reference text, round trip.
void check_fixture(const std::string& name) {
  const json doc = load_cases(name);
  const std::unique_ptr<Tokenizer> tok = make_tokenizer(tokenizer_path(name, doc));
  CHECK(tok->vocab_size() == doc.at("vocab_size").get<int64_t>());
  for (const json& c : doc.at("cases")) {
    const std::string case_name = c.at("name"), text = c.at("text");
    const std::vector<TokenId> want = c.at("ids").get<std::vector<TokenId>>();
    SUBCASE((name + " / " + case_name + " (" + std::to_string(text.size()) + " bytes)").c_str()) {
      const std::vector<TokenId> got = tok->encode(text);
      CHECK(got == want);
      if (got != want) {
        size_t i = 0;
        while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
        MESSAGE("first difference at token " << i << " of " << want.size() << " (got " << got.size() << ")");
      }
      CHECK(tok->decode(want) == c.at("decoded").get<std::string>());
      if (c.at("round_trips").get<bool>()) CHECK(tok->decode(tok->encode(text)) == text);
    }
  }
}

}  // namespace

TEST_CASE("GPT-NeoX-20B byte-level BPE matches Hugging Face tokenizers") { check_fixture("gpt_neox"); }

TEST_CASE("Mistral SentencePiece BPE (Prepend/Replace normalizer) matches Hugging Face tokenizers") {
  check_fixture("mistral_legacy");
}

TEST_CASE("Mistral SentencePiece BPE (Metaspace pre-tokenizer) matches Hugging Face tokenizers") {
  check_fixture("mistral_metaspace");
}

TEST_CASE("RWKV World tokenizer matches the rwkv package's trie tokenizer") { check_fixture("rwkv_world"); }

TEST_CASE("RWKV World reference vector (docs/arch/rwkv5.md)") {
  RwkvWorldTokenizer tok((kFixtures / "rwkv_world" / "rwkv_vocab_v20230424.txt").string());
  const std::vector<TokenId> want = {6699, 304, 25740, 109, 39990, 4600, 4596, 22590, 30449, 4706};
  CHECK(tok.encode("The Eiffel tower is in the city of") == want);
  CHECK(tok.decode(want) == "The Eiffel tower is in the city of");
  CHECK(tok.vocab_size() == 65536);
  CHECK(tok.eos_id() == 0);
  CHECK(tok.bos_id() == -1);
  CHECK(tok.decode({0, 6699, 0}) == "The");  // end-of-text decodes to nothing
  CHECK(tok.name() == "rwkv-world");
}

TEST_CASE("bos and eos ids") {
  SUBCASE("GPT-NeoX: <|endoftext|> = 0, no BOS") {
    BpeTokenizer tok((kFixtures / "gpt_neox" / "tokenizer.json").string());
    CHECK(tok.eos_id() == 0);
    CHECK(tok.bos_id() == -1);
    CHECK(tok.name() == "bpe:gpt_neox/tokenizer.json");
  }
  SUBCASE("Mistral with tokenizer_config.json: <s> = 1, </s> = 2") {
    BpeTokenizer tok((kFixtures / "mistral_legacy" / "tokenizer.json").string());
    CHECK(tok.bos_id() == 1);
    CHECK(tok.eos_id() == 2);
    CHECK(tok.encode("<s>Hi").front() == 1);  // a BOS only where the text has one
    CHECK(tok.encode("Hi").front() != 1);
  }
  SUBCASE("Mistral without a config: BOS from the post-processor template") {
    BpeTokenizer tok((kFixtures / "mistral_metaspace" / "tokenizer.json").string());
    CHECK(tok.bos_id() == 1);
    CHECK(tok.eos_id() == 2);
  }
  SUBCASE("add_bos_token false falls back to the template; eos_token from the config") {
    const fs::path dir = fresh_dir("config");
    fs::copy_file(kFixtures / "mistral_legacy" / "tokenizer.json", dir / "tokenizer.json");
    write_text(dir / "tokenizer_config.json", R"({"add_bos_token": false, "bos_token": {"content": "</s>"},
                                                 "eos_token": {"content": "<unk>", "special": true}})");
    BpeTokenizer tok((dir / "tokenizer.json").string());
    CHECK(tok.bos_id() == 1);
    CHECK(tok.eos_id() == 0);
    write_text(dir / "tokenizer_config.json", R"({"add_bos_token": true, "bos_token": "<nope>"})");
    CHECK_THROWS_WITH_AS(BpeTokenizer((dir / "tokenizer.json").string()),
                         doctest::Contains("tokenizer_config.json: token '<nope>' is not in the vocabulary"), UserError);
    write_text(dir / "tokenizer_config.json", "{\"add_bos_token\": tr");
    CHECK_THROWS_WITH_AS(BpeTokenizer((dir / "tokenizer.json").string()),
                         doctest::Contains("tokenizer_config.json: malformed"), UserError);
  }
}

TEST_CASE("make_tokenizer and find_tokenizer_in_dir") {
  CHECK(make_tokenizer("byte")->name() == "byte");
  CHECK(make_tokenizer((kFixtures / "gpt_neox").string())->name() == "bpe:gpt_neox/tokenizer.json");
  CHECK(make_tokenizer((kFixtures / "rwkv_world").string())->name() == "rwkv-world");
  CHECK(find_tokenizer_in_dir((kFixtures / "mistral_legacy").string())->eos_id() == 2);
  CHECK(find_tokenizer_in_dir((kFixtures / "rwkv_world").string())->vocab_size() == 65536);
  CHECK(find_tokenizer_in_dir(fresh_dir("empty").string()) == nullptr);
  CHECK_THROWS_WITH_AS(find_tokenizer_in_dir("/nonexistent/ckpt"), doctest::Contains("/nonexistent/ckpt"), UserError);
  CHECK_THROWS_WITH_AS(make_tokenizer("/nonexistent/tokenizer.json"),
                       doctest::Contains("'/nonexistent/tokenizer.json': no such file"), UserError);
  CHECK_THROWS_WITH_AS(make_tokenizer(fresh_dir("empty2").string()), doctest::Contains("holds neither"), UserError);
  const fs::path odd = fresh_dir("odd") / "vocab.bin";
  write_text(odd, "x");
  CHECK_THROWS_WITH_AS(make_tokenizer(odd.string()), doctest::Contains("unknown kind of file"), UserError);
}

TEST_CASE("corrupt tokenizer.json files are UserErrors naming the path and the problem") {
  const std::string good = read_text(kFixtures / "gpt_neox" / "tokenizer.json");
  const fs::path dir = fresh_dir("bad_json");
  auto check_bad = [&](const std::string& what, std::string text, const std::string& message) {
    const fs::path path = dir / (what + ".json");
    write_text(path, text);
    CHECK_THROWS_WITH_AS(make_tokenizer(path.string()), doctest::Contains(path.string().c_str()), UserError);
    CHECK_THROWS_WITH_AS(make_tokenizer(path.string()), doctest::Contains(message.c_str()), UserError);
  };
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    const size_t at = text.find(from);
    REQUIRE(at != std::string::npos);
    return text.replace(at, from.size(), to);
  };
  SUBCASE("truncated") { check_bad("truncated", good.substr(0, good.size() / 2), "not valid JSON"); }
  SUBCASE("unknown model type") {
    check_bad("wordpiece", replace(R"("type": "BPE")", R"("type": "WordPiece")"), "unsupported model type 'WordPiece'");
  }
  SUBCASE("unsupported normalizer") {
    check_bad("nfkc", replace(R"("type": "NFC")", R"("type": "NFKC")"), "unsupported normalizer 'NFKC'");
  }
  SUBCASE("unsupported pre-tokenizer") {
    check_bad("whitespace", replace(R"("type": "ByteLevel")", R"("type": "Whitespace")"),
              "unsupported pre_tokenizer 'Whitespace'");
  }
  SUBCASE("merge of an unknown token") {
    check_bad("merge", replace(R"("merges": [)", R"("merges": ["qqq zzz",)"), "not in the vocabulary");
  }
  SUBCASE("added token whose id contradicts the vocabulary") {
    check_bad("ids", replace(R"("id": 0,)", R"("id": 5,)"), "added token '<|endoftext|>' has id 5");
  }
  SUBCASE("not a tokenizer") { check_bad("array", "[1, 2, 3]", "not a tokenizer.json"); }
  // Found by tests/fuzz/fuzz_tokenizer_json.cpp: a float id was converted to int with undefined
  // behaviour, a 64-bit one wrapped silently.
  SUBCASE("vocabulary ids that are no int") {
    check_bad("float_id", replace(R"("!": 2)", R"("!": 8.9e19)"), "a vocabulary id must be an integer in [0, 2^31), got 8.9e+19");
    check_bad("wide_id", replace(R"("!": 2)", R"("!": 4294967298)"), "a vocabulary id must be an integer in [0, 2^31)");
    check_bad("added_id", replace(R"("id": 0,)", R"("id": -1,)"), "an added token's id must be an integer in [0, 2^31)");
  }
  SUBCASE("no end-of-text token") {
    check_bad("noeos", replace(R"("special": true)", R"("special": false)"), "no end-of-text token");
  }
}

TEST_CASE("malformed RWKV vocabularies are UserErrors naming the path and the line") {
  const std::string good = read_text(kFixtures / "rwkv_world" / "rwkv_vocab_v20230424.txt");
  const fs::path dir = fresh_dir("bad_rwkv");
  auto check_bad = [&](const std::string& what, const std::string& extra_line, const std::string& message) {
    const fs::path path = dir / ("rwkv_vocab_" + what + ".txt");
    write_text(path, good + extra_line + "\n");
    CHECK_THROWS_WITH_AS(make_tokenizer(path.string()), doctest::Contains((path.string() + ":").c_str()), UserError);
    CHECK_THROWS_WITH_AS(make_tokenizer(path.string()), doctest::Contains(message.c_str()), UserError);
  };
  check_bad("length", "70000 'abc' 4", "the token has 3 bytes, the line says 4");
  check_bad("escape", "70000 '\\q' 1", "malformed escape");
  check_bad("unquoted", "70000 abc 3", "quoted");
  check_bad("noid", "x 'abc' 3", "positive integer");
  check_bad("zero", "0 'abc' 3", "0 is end-of-text");
  check_bad("twice", "1 'abc' 3", "appears twice");
  check_bad("fields", "70000", "expected '<id> <literal> <byte length>'");
  check_bad("nonascii", "70000 b'\xC3\xA9' 2", "non-ASCII character in a bytes literal");
  SUBCASE("a byte without a token") {
    const fs::path path = dir / "rwkv_vocab_nobyte.txt";
    std::string text = good;
    text.erase(text.find("256 b'\\xff' 1\n"), std::string("256 b'\\xff' 1\n").size());
    write_text(path, text);
    CHECK_THROWS_WITH_AS(make_tokenizer(path.string()), doctest::Contains("no token for the byte 0xff"), UserError);
  }
  SUBCASE("missing file") {
    CHECK_THROWS_WITH_AS(RwkvWorldTokenizer((dir / "absent.txt").string()), doctest::Contains("absent.txt"),
                         UserError);
  }
}

TEST_CASE("priority-queue BPE merge == naive merge loop on a 200 KB SentencePiece document") {
  // A 200 KB document of the fixture's own words (all in the trimmed vocabulary, or byte
  // fallback), which SentencePiece-style BPE encodes as one word of ~200K symbols.
  const json doc = load_cases("mistral_legacy");
  BpeTokenizer tok(tokenizer_path("mistral_legacy", doc));
  std::vector<std::string> words;
  std::istringstream main_text(doc.at("cases")[0].at("text").get<std::string>());
  for (std::string w; main_text >> w;) {
    if (w.find('<') == std::string::npos) words.push_back(w);  // no special tokens
  }
  REQUIRE(words.size() > 50);
  std::string text;
  uint64_t state = 12345;
  while (text.size() < 200000) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;  // a fixed LCG
    text += words[(state >> 33) % words.size()];
    text += (state >> 20) % 11 == 0 ? "\n" : (state >> 20) % 13 == 0 ? "  " : " ";
  }
  const std::string normalized = tok.normalize(text);
  const std::vector<TokenId> symbols = tok.model().initial_symbols(normalized);
  const std::vector<TokenId> fast = tok.model().merge(symbols);
  const std::vector<TokenId> naive = tok.model().merge_naive(symbols);
  MESSAGE(text.size() << " bytes: " << symbols.size() << " symbols merge to " << fast.size() << " tokens");
  CHECK(fast.size() < symbols.size() * 2 / 3);  // merges happened (CJK and emoji stay bytes)
  CHECK(fast == naive);
  const std::vector<TokenId> ids = tok.encode(text);
  CHECK(ids == fast);
  CHECK(tok.decode(ids) == text);
}
