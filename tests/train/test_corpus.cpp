// tests/train/test_corpus.cpp — real corpora: the token file format (round trips at both widths, and
// every kind of corruption a one-line UserError), JSON Lines documents, dropping short
// documents, the tokenization cache (built once, rebuilt when the corpus changes) and document
// streams that read across document boundaries.
#include <filesystem>
#include <fstream>

#include "tests/support/testing.h"
#include "train/data/corpus_cache.h"
#include "train/data/dataset.h"
#include "train/data/token_corpus.h"
#include "train/data/token_file.h"
#include "train/text/tokenizer.h"

using namespace ssm;
using testing::read_bytes;
using testing::write_bytes;
namespace fs = std::filesystem;

namespace {

const ByteTokenizer kBytes;

fs::path fresh_dir(const std::string& name) { return testing::empty_temp_dir("corpus_" + name); }

DataSource source(const std::string& kind, const fs::path& path, int64_t min_doc_tokens = 0) {
  DataSource s;
  s.kind = kind;
  s.path = path.string();
  s.min_doc_tokens = min_doc_tokens;
  return s;
}

std::vector<TokenId> all_tokens(const TokenFile& f) {
  std::vector<TokenId> out;
  for (int64_t i = 0; i < f.size(); ++i) out.push_back(f.at(i));
  return out;
}

}  // namespace

TEST_CASE("token files round-trip at 16 and 32 bits, with the documented header") {
  const fs::path dir = fresh_dir("roundtrip");
  const std::vector<TokenId> ids = {5, 0, 257, 1, 256, 9};
  write_token_file((dir / "small.tok").string(), ids, 258, 256);
  const std::string bytes = read_bytes(dir / "small.tok");
  REQUIRE(bytes.size() == 32 + 2 * ids.size());  // uint16 for a vocabulary of 258
  CHECK(bytes.substr(0, 8) == "SSMLTOK1");
  CHECK(bytes[8] == 1);    // version
  CHECK(bytes[12] == 2);   // width
  CHECK(bytes[16] == 6);   // count
  const TokenFile small = TokenFile::open((dir / "small.tok").string(), 258, "small");
  CHECK(small.token_bytes() == 2);
  CHECK(small.separator() == 256);
  CHECK(small.vocab_size() == 258);
  CHECK(all_tokens(small) == ids);

  const std::vector<TokenId> big = {70000, 3, 100276, 65535, 65536};
  write_token_file((dir / "big.tok").string(), big, 100277, 100276);
  const TokenFile wide = TokenFile::open((dir / "big.tok").string(), 100277, "big");
  CHECK(wide.token_bytes() == 4);
  CHECK(fs::file_size(dir / "big.tok") == 32 + 4 * big.size());
  CHECK(all_tokens(wide) == big);
}

TEST_CASE("corrupt or truncated token files are one-line user errors naming the file") {
  const fs::path dir = fresh_dir("corrupt");
  write_token_file((dir / "good.tok").string(), {1, 2, 3, 256, 4, 5}, 258, 256);
  const std::string good = read_bytes(dir / "good.tok");
  auto error_of = [&](const std::string& bytes, int64_t vocab = 258) {
    write_bytes(dir / "bad.tok", bytes);
    try {
      TokenFile::open((dir / "bad.tok").string(), vocab, "data.sources[0].path 'bad.tok'");
    } catch (const UserError& e) {
      const std::string message = e.what();
      CHECK(message.starts_with("data.sources[0].path 'bad.tok': "));
      CHECK(message.find('\n') == std::string::npos);
      return message;
    }
    return std::string("no error");
  };
  CHECK(error_of(good.substr(0, 20)).find("shorter than its 32-byte header") != std::string::npos);
  CHECK(error_of("XXXXXXXX" + good.substr(8)).find("bad magic") != std::string::npos);
  std::string v2 = good;
  v2[8] = 2;
  CHECK(error_of(v2).find("unsupported token file version 2") != std::string::npos);
  std::string w3 = good;
  w3[12] = 3;
  CHECK(error_of(w3).find("bad token width 3") != std::string::npos);
  CHECK(error_of(good.substr(0, good.size() - 3)).find("truncated or corrupt token file") != std::string::npos);
  CHECK(error_of(good + "xx").find("holds 14 bytes after the header") != std::string::npos);
  std::string huge_count = good;
  huge_count[23] = 0x7f;  // a count that overflows any size computation
  CHECK(error_of(huge_count).find("truncated or corrupt") != std::string::npos);
  std::string bad_id = good;
  bad_id[32 + 2 * 4 + 1] = static_cast<char>(0xff);  // token 4's high byte: id 0xff04, above 258
  CHECK(error_of(bad_id).find("token 4 has id") != std::string::npos);
  CHECK(error_of(good, 200).find("made for a vocabulary of 258") != std::string::npos);
  CHECK_THROWS_WITH_AS(TokenFile::open((dir / "missing.tok").string(), 258, "x"),
                       doctest::Contains("cannot open token file"), UserError);
}

TEST_CASE("documents: split at separators, short ones dropped, the last held out; streams read across them") {
  const fs::path dir = fresh_dir("docs");
  // Documents of 3, 1, 5, 2 and 4 tokens (and an empty one between two separators).
  const std::vector<TokenId> ids = {1, 2, 3, 9, 4, 9, 9, 5, 6, 7, 8, 10, 9, 11, 12, 9, 13, 14, 15, 16};
  write_token_file((dir / "d.tok").string(), ids, 258, 9);
  const TokenFile file = TokenFile::open((dir / "d.tok").string(), 258, "d");

  const TokenCorpus all = split_token_corpus(file, 256, 0, 0.2, "k", "d");  // ceil(0.2·5) = 1 held out
  CHECK(all.dropped_docs == 0);
  REQUIRE(all.train.num_docs() == 4);
  REQUIRE(all.valid.num_docs() == 1);
  CHECK(all.valid.document(0) == std::vector<TokenId>{13, 14, 15, 16});
  CHECK(all.train.tokens() == std::vector<TokenId>{1, 2, 3, 256, 4, 256, 5, 6, 7, 8, 10, 256, 11, 12, 256});
  // Any window copies what the materialized stream holds.
  const std::vector<TokenId> stream = all.train.tokens();
  for (int64_t start = 0; start < all.train.size(); ++start) {
    for (int64_t n = 0; start + n <= all.train.size(); ++n) {
      std::vector<int64_t> window;
      all.train.copy(start, n, window);
      REQUIRE(std::equal(window.begin(), window.end(), stream.begin() + start));
    }
  }

  const TokenCorpus long_only = split_token_corpus(file, 256, 3, 0.0, "k", "d");  // drops the 1- and 2-token docs
  CHECK(long_only.dropped_docs == 2);
  CHECK(long_only.train.num_docs() == 3);
  CHECK(long_only.valid.empty());
  CHECK_THROWS_WITH_AS(split_token_corpus(file, 256, 6, 0.0, "data.sources[1]", "d"),
                       "data.sources[1]: all 5 documents of 'd' are shorter than min_doc_tokens (6)", UserError);

  // No separator: one document, whose tail is held out.
  write_token_file((dir / "one.tok").string(), {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 258, kNoSeparator);
  const TokenCorpus one = split_token_corpus(TokenFile::open((dir / "one.tok").string(), 258, "one"), 256, 0, 0.2,
                                             "k", "one");
  CHECK(one.train.tokens() == std::vector<TokenId>{1, 2, 3, 4, 5, 6, 7, 8, 256});
  CHECK(one.valid.tokens() == std::vector<TokenId>{9, 10, 256});
}

TEST_CASE("JSON Lines: one document per line from the configured field; bad lines name file and line") {
  const fs::path dir = fresh_dir("jsonl");
  fs::create_directories(dir / "shards" / "b");
  std::ofstream(dir / "shards" / "a.jsonl") << R"({"text": "first doc", "id": 1})" << "\n\n"
                                            << R"({"text": "second"})" << "\n";
  std::ofstream(dir / "shards" / "b" / "c.jsonl") << R"({"text": "third, in a subfolder"})" << "\n";
  std::ofstream(dir / "shards" / "ignored.txt") << "not a jsonl file";
  const Corpus corpus = load_corpus(source("jsonl", dir / "shards"), "data.sources[0]", kBytes, 0.0,
                                    (dir / "cache").string());
  REQUIRE(corpus.train_docs.size() == 3);
  CHECK(kBytes.decode(corpus.train_docs[0]) == "first doc");
  CHECK(kBytes.decode(corpus.train_docs[1]) == "second");
  CHECK(kBytes.decode(corpus.train_docs[2]) == "third, in a subfolder");

  std::ofstream(dir / "content.jsonl") << R"({"content": "by another key"})" << "\n";
  DataSource keyed = source("jsonl", dir / "content.jsonl");
  keyed.text_key = "content";
  CHECK(kBytes.decode(load_corpus(keyed, "k", kBytes, 0.0, (dir / "cache").string()).train_docs[0]) ==
        "by another key");
  CHECK_THROWS_WITH_AS(load_corpus(source("jsonl", dir / "content.jsonl"), "data.sources[2]", kBytes, 0.0,
                                   (dir / "cache").string()),
                       doctest::Contains(("data.sources[2]: '" + (dir / "content.jsonl").string() +
                                          "' line 1: no string field 'text'").c_str()),
                       UserError);
  std::ofstream(dir / "truncated.jsonl") << R"({"text": "ok"})" << "\n" << R"({"text": "cut sh)";
  CHECK_THROWS_WITH_AS(load_corpus(source("jsonl", dir / "truncated.jsonl"), "data.sources[0]", kBytes, 0.0,
                                   (dir / "cache").string()),
                       doctest::Contains("line 2: not valid JSON"), UserError);
  std::ofstream(dir / "array.jsonl") << "[1, 2]\n";
  CHECK_THROWS_WITH_AS(load_corpus(source("jsonl", dir / "array.jsonl"), "k", kBytes, 0.0, (dir / "cache").string()),
                       doctest::Contains("expected a JSON object"), UserError);
}

TEST_CASE("the token cache: built once, reused, rebuilt when the corpus changes; tokens sources bypass it") {
  const fs::path dir = fresh_dir("cache");
  fs::create_directories(dir / "texts" / "deep");
  std::ofstream(dir / "texts" / "a.txt") << "alpha alpha";
  std::ofstream(dir / "texts" / "deep" / "b.txt") << "beta";
  const std::string cache = (dir / "cache").string();
  const DataSource src = source("text", dir / "texts");
  const TokenFile first = corpus_token_file(src, "data.sources[0]", kBytes, cache);
  std::vector<fs::path> entries;
  for (const auto& e : fs::directory_iterator(cache)) entries.push_back(e.path());
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].filename().string().starts_with("texts-"));
  CHECK(entries[0].extension() == ".tok");
  CHECK(kBytes.decode(all_tokens(first)) == "alpha alphabeta");  // the EOS ids decode to nothing
  CHECK(first.size() == 11 + 1 + 4 + 1);

  // Reused: the entry is not rewritten (same inode, same time).
  const auto written = fs::last_write_time(entries[0]);
  corpus_token_file(src, "data.sources[0]", kBytes, cache);
  CHECK(fs::last_write_time(entries[0]) == written);
  // A damaged entry is rebuilt, not fatal.
  fs::resize_file(entries[0], 20);
  CHECK(corpus_token_file(src, "data.sources[0]", kBytes, cache).size() == 17);
  // A changed corpus gets a new entry.
  std::ofstream(dir / "texts" / "deep" / "b.txt") << "beta gamma";
  CHECK(corpus_token_file(src, "data.sources[0]", kBytes, cache).size() == 23);
  int count = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(cache)) ++count;
  CHECK(count == 2);

  // kind tokens: the file itself, validated against the tokenizer.
  write_token_file((dir / "pre.tok").string(), {104, 105, 256, 33}, 258, 256);
  const TokenFile pre = corpus_token_file(source("tokens", dir / "pre.tok"), "data.sources[1]", kBytes, cache);
  CHECK(pre.path() == (dir / "pre.tok").string());
  CHECK(all_tokens(pre) == std::vector<TokenId>{104, 105, 256, 33});
  CHECK_THROWS_WITH_AS(corpus_token_file(source("tokens", dir / "texts"), "data.sources[1]", kBytes, cache),
                       doctest::Contains("is a directory; kind tokens reads one token file"), UserError);
  CHECK(resolve_cache_dir("/x/y") == "/x/y");
}

TEST_CASE("TrainingData over every kind of corpus; min_doc_tokens applies") {
  const fs::path dir = fresh_dir("training_data");
  std::ofstream(dir / "docs.jsonl") << R"({"text": "short"})" << "\n"
                                    << R"({"text": ")" << std::string(300, 'x') << R"("})" << "\n"
                                    << R"({"text": ")" << std::string(300, 'y') << R"("})" << "\n";
  DataConfig cfg;
  cfg.seq_len = 64;
  cfg.batch_size = 4;
  cfg.valid_fraction = 0.4;
  cfg.cache_dir = (dir / "cache").string();
  DataSource jsonl = source("jsonl", dir / "docs.jsonl", 100);
  cfg.sources = {jsonl};
  const TrainingData data(cfg, kBytes, 1);
  REQUIRE(data.corpora().size() == 1);
  CHECK(data.corpora()[0].dropped_docs == 1);
  CHECK(data.train_stream(0) == [] {
    std::vector<TokenId> s(300, 'x');
    s.push_back(256);
    return s;
  }());
  CHECK(kBytes.decode(data.longest_valid_doc()) == std::string(300, 'y'));
  const std::vector<int64_t> tokens = data.batch(0, 0).tokens.to_vector<int64_t>();
  CHECK(std::all_of(tokens.begin(), tokens.end(), [](int64_t t) { return t == 'x' || t == 256; }));
}
