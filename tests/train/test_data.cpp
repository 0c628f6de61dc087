// tests/train/test_data.cpp — the passkey prompt (sizes hand-computed in bytes), corpora read from
// disk and their validation split, and the stateless batch sampler: determinism, shifted targets,
// passkey rows that score only the answer, mixture proportions, windows inside the stream.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "tests/support/testing.h"
#include "train/data/dataset.h"
#include "train/data/passkey_prompt.h"
#include "train/text/tokenizer.h"

using namespace ssm;
namespace fs = std::filesystem;

namespace {

const ByteTokenizer kBytes;

// Byte lengths of the default pieces (counted by hand; checked against the strings below).
constexpr int64_t kPrefix = 93, kBlock = 90, kSuffix = 37, kNeedle = 57;  // needle with a 5-digit key

fs::path fresh_dir(const std::string& name) { return testing::empty_temp_dir("data_" + name); }

size_t count_occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// A directory of `n` documents doc0.txt ... with recognisable, distinct lines.
fs::path write_docs(const fs::path& dir, int n, int lines_per_doc = 40) {
  fs::create_directories(dir);
  for (int d = 0; d < n; ++d) {
    std::ofstream out(dir / ("doc" + std::to_string(d) + ".txt"));
    for (int i = 0; i < lines_per_doc; ++i) out << "document " << d << " says line " << i << ".\n";
  }
  return dir;
}

std::vector<TokenId> encode(const std::string& s) { return kBytes.encode(s); }

// Row b of a (B, T) i64 tensor.
std::vector<int64_t> row(const Tensor& t, int64_t b) {
  const std::vector<int64_t> all = t.to_vector<int64_t>();
  const int64_t T = t.size(1);
  return std::vector<int64_t>(all.begin() + b * T, all.begin() + (b + 1) * T);
}

std::string decode(const std::vector<int64_t>& ids) {
  std::vector<TokenId> narrow(ids.begin(), ids.end());
  return kBytes.decode(narrow);
}

bool same_batch(const Batch& a, const Batch& b) {
  return a.tokens.to_vector<int64_t>() == b.tokens.to_vector<int64_t>() &&
         a.targets.to_vector<int64_t>() == b.targets.to_vector<int64_t>();
}

bool is_passkey_row(const std::vector<int64_t>& tokens) {
  return decode(tokens).starts_with("There is an important info");
}

DataConfig data_config(std::vector<DataSource> sources, int64_t seq_len = 256, int64_t batch_size = 8) {
  DataConfig c;
  c.sources = std::move(sources);
  c.seq_len = seq_len;
  c.batch_size = batch_size;
  c.valid_fraction = 0.25;
  return c;
}

}  // namespace

// ---- passkey prompt ---------------------------------------------------------------------------

TEST_CASE("passkey pieces have the byte lengths the sizing tests assume") {
  const PasskeyPieces p;
  CHECK(static_cast<int64_t>(p.prefix.size()) == kPrefix);
  CHECK(static_cast<int64_t>(p.block.size()) == kBlock);
  CHECK(static_cast<int64_t>(p.suffix.size()) == kSuffix);
  CHECK(build_passkey_prompt(kBytes, 1000, 0.0, "04217").text.find("The passkey is 04217. Remember it. 04217 is "
                                                                    "the passkey.\n") != std::string::npos);
}

TEST_CASE("passkey prompt sizing follows (T - prefix - suffix) // block") {
  for (int64_t target : {220, 309, 310, 1024, 1030, 4096}) {
    CAPTURE(target);
    const PasskeyPrompt p = build_passkey_prompt(kBytes, target, 0.5, "04217");
    const int64_t blocks = (target - kPrefix - kSuffix) / kBlock;
    CHECK(p.num_blocks == blocks);
    CHECK(p.num_tokens <= target);
    CHECK(p.num_tokens == static_cast<int64_t>(encode(p.text).size()));
    CHECK(p.num_tokens == kPrefix + kSuffix + (blocks - 1) * kBlock + kNeedle);
    CHECK(p.answer == "04217");
    CHECK(p.text.starts_with(PasskeyPieces{}.prefix));
    CHECK(p.text.ends_with("\nWhat is the pass key? The passkey is"));
    CHECK(count_occurrences(p.text, "04217") == 2);  // "The passkey is K. Remember it. K is the passkey."
    CHECK(count_occurrences(p.text, PasskeyPieces{}.block) == static_cast<size_t>(blocks - 1));
  }
  CHECK(build_passkey_prompt(kBytes, 309, 0.0, "1").num_blocks == 1);
  CHECK(build_passkey_prompt(kBytes, 310, 0.0, "1").num_blocks == 2);
}

TEST_CASE("the needle replaces block floor(depth * (num_blocks - 1))") {
  const int64_t target = 130 + 10 * kBlock;  // exactly 10 blocks
  const std::string needle = "The passkey is 55555. Remember it. 55555 is the passkey.\n";
  auto needle_block_of = [&](double depth) {
    const PasskeyPrompt p = build_passkey_prompt(kBytes, target, depth, "55555");
    REQUIRE(p.num_blocks == 10);
    // Where the needle really is in the text: every block before it is kBlock bytes.
    const size_t at = p.text.find(needle);
    REQUIRE(at != std::string::npos);
    CHECK((static_cast<int64_t>(at) - kPrefix) % kBlock == 0);
    CHECK((static_cast<int64_t>(at) - kPrefix) / kBlock == p.needle_block);
    return p.needle_block;
  };
  CHECK(needle_block_of(0.0) == 0);
  CHECK(needle_block_of(1.0) == 9);
  CHECK(needle_block_of(0.5) == 4);  // floor(4.5)
  CHECK(needle_block_of(0.999) == 8);
  // The benchmark's depths (i + 0.5) / n, here n = 4: floor(0.125·9)=1, floor(0.375·9)=3, 5, 7.
  const std::vector<int64_t> expected = {1, 3, 5, 7};
  for (int i = 0; i < 4; ++i) CHECK(needle_block_of((i + 0.5) / 4) == expected[i]);
}

TEST_CASE("passkey prompt errors") {
  CHECK_THROWS_WITH_AS(build_passkey_prompt(kBytes, 219, 0.5, "04217"),
                       doctest::Contains("target length 219 tokens is too short"), UserError);
  CHECK_NOTHROW(build_passkey_prompt(kBytes, 220, 0.5, "04217"));
  CHECK_THROWS_WITH_AS(build_passkey_prompt(kBytes, 1000, 1.5, "04217"), doctest::Contains("depth"), UserError);
  // A needle longer than a block: blocks are dropped so the prompt still fits the target.
  PasskeyPieces long_needle;
  long_needle.needle = std::string(200, 'x') + "{K}\n";
  const PasskeyPrompt p = build_passkey_prompt(kBytes, 1000, 0.5, "12345", long_needle);
  CHECK(p.num_tokens <= 1000);
  CHECK(p.num_blocks == 8);  // 9 by the formula, but 130 + 8·90 + 206 = 1056 > 1000; 8 blocks make 966
}

TEST_CASE("random passkeys are 5 digits, zero padded, deterministic per seed") {
  Rng a(7), b(7), c(8);
  std::vector<std::string> from_a, from_c;
  bool saw_leading_zero = false;
  for (int i = 0; i < 3000; ++i) {
    const std::string k = random_passkey(a);
    REQUIRE(k.size() == 5);
    CHECK(std::all_of(k.begin(), k.end(), [](char ch) { return ch >= '0' && ch <= '9'; }));
    CHECK(k == random_passkey(b));
    saw_leading_zero |= k[0] == '0';
    if (i < 20) {
      from_a.push_back(k);
      from_c.push_back(random_passkey(c));
    }
  }
  CHECK(saw_leading_zero);
  CHECK(from_a != from_c);
  CHECK(std::set<std::string>(from_a.begin(), from_a.end()).size() > 15);
}

TEST_CASE("passkey scoring is a substring match") {
  CHECK(passkey_correct("The passkey is 04217.", "04217"));
  CHECK(passkey_correct(" 04217", "04217"));
  CHECK_FALSE(passkey_correct("0421", "04217"));
  CHECK_FALSE(passkey_correct("04 217", "04217"));
  CHECK_FALSE(passkey_correct("anything", ""));
}

// ---- corpora --------------------------------------------------------------------------------

TEST_CASE("a directory corpus: *.txt sorted by name, the last documents held out") {
  const fs::path dir = write_docs(fresh_dir("corpus") / "docs", 5, 3);
  std::ofstream(dir / "notes.md") << "not a document";
  const DataSource src{"text", dir.string(), 1.0, 0};

  const Corpus c = load_corpus(src, "data.sources[0]", kBytes, 0.2);  // ceil(0.2·5) = 1
  REQUIRE(c.train_docs.size() == 4);
  REQUIRE(c.valid_docs.size() == 1);
  CHECK(kBytes.decode(c.train_docs[0]).starts_with("document 0 says"));
  CHECK(kBytes.decode(c.train_docs[3]).starts_with("document 3 says"));
  CHECK(kBytes.decode(c.valid_docs[0]).starts_with("document 4 says"));

  CHECK(load_corpus(src, "k", kBytes, 0.25).valid_docs.size() == 2);   // ceil(1.25)
  CHECK(load_corpus(src, "k", kBytes, 0.01).valid_docs.size() == 1);   // at least one
  CHECK(load_corpus(src, "k", kBytes, 0.0).valid_docs.empty());
  CHECK(load_corpus(src, "k", kBytes, 0.0).train_docs.size() == 5);
  CHECK_THROWS_WITH_AS(load_corpus(src, "k", kBytes, 0.0).longest_valid_doc(),
                       doctest::Contains("no held-out documents"), UserError);

  const std::vector<TokenId> joined = join_documents({{1, 2}, {3}}, 256);
  CHECK(joined == std::vector<TokenId>{1, 2, 256, 3, 256});
}

TEST_CASE("a single-file corpus holds out its tail; the longest held-out document is found") {
  const fs::path dir = fresh_dir("single");
  std::ofstream(dir / "book.txt") << std::string(90, 'a') << std::string(10, 'z');
  const Corpus c = load_corpus({"text", (dir / "book.txt").string(), 1.0, 0}, "data.sources[0]", kBytes, 0.1);
  REQUIRE(c.train_docs.size() == 1);
  REQUIRE(c.valid_docs.size() == 1);
  CHECK(kBytes.decode(c.valid_docs[0]) == std::string(10, 'z'));
  CHECK(c.train_docs[0].size() == 90);
  CHECK(kBytes.decode(c.longest_valid_doc()) == std::string(10, 'z'));

  const fs::path docs = fresh_dir("longest") / "docs";
  fs::create_directories(docs);
  for (auto [name, len] : std::vector<std::pair<std::string, int>>{{"a", 5}, {"b", 5}, {"c", 30}, {"d", 7}}) {
    std::ofstream(docs / (name + ".txt")) << std::string(len, name[0]);
  }
  const Corpus multi = load_corpus({"text", docs.string(), 1.0, 0}, "k", kBytes, 0.49);  // c and d held out
  CHECK(kBytes.decode(multi.longest_valid_doc()) == std::string(30, 'c'));
}

TEST_CASE("corpus errors name the config key and the path") {
  const fs::path dir = fresh_dir("errors");
  const std::string missing = (dir / "missing").string();
  CHECK_THROWS_WITH_AS(load_corpus({"text", missing, 1.0, 0}, "data.sources[0]", kBytes, 0.1),
                       ("data.sources[0].path: '" + missing + "' does not exist").c_str(), UserError);
  CHECK_THROWS_WITH_AS(load_corpus({"bible", missing, 1.0, 0}, "data.sources[2]", kBytes, 0.1),
                       doctest::Contains(("data.sources[2].path: '" + missing + "' does not exist; create the Bible "
                                          "corpus with `make corpus`").c_str()),
                       UserError);
  fs::create_directories(dir / "no_txt");
  CHECK_THROWS_WITH_AS(load_corpus({"text", (dir / "no_txt").string(), 1.0, 0}, "data.sources[0]", kBytes, 0.1),
                       doctest::Contains("holds no .txt files"), UserError);
  fs::create_directories(dir / "blank");
  std::ofstream(dir / "blank" / "a.txt");
  CHECK_THROWS_WITH_AS(load_corpus({"text", (dir / "blank").string(), 1.0, 0}, "data.sources[0]", kBytes, 0.1),
                       doctest::Contains("empty corpus"), UserError);
  std::ofstream(dir / "file.txt") << "x";
  CHECK_THROWS_WITH_AS(load_corpus({"bible", (dir / "file.txt").string(), 1.0, 0}, "data.sources[0]", kBytes, 0.1),
                       doctest::Contains("must be a directory of book files"), UserError);

  // Through TrainingData, the key names the entry's position in data.sources.
  const DataConfig cfg = data_config({{"passkey", "", 1.0, 0}, {"text", missing, 1.0, 0}});
  CHECK_THROWS_WITH_AS(TrainingData(cfg, kBytes, 1), doctest::Contains("data.sources[1].path: '"), UserError);
}

// ---- batches --------------------------------------------------------------------------------

TEST_CASE("batches are a pure function of (seed, step, micro, rank)") {
  const fs::path docs = write_docs(fresh_dir("determinism") / "docs", 6);
  const DataConfig cfg = data_config({{"text", docs.string(), 3.0, 0}, {"passkey", "", 1.0, 0}});
  const TrainingData data(cfg, kBytes, 11);
  const Batch b = data.batch(3, 1);
  CHECK(b.tokens.dtype() == Dtype::i64);
  CHECK(b.targets.dtype() == Dtype::i64);
  CHECK(b.tokens.shape() == Shape{8, 256});
  CHECK(b.targets.shape() == Shape{8, 256});

  (void)data.batch(5, 0);  // drawing other batches first changes nothing
  CHECK(same_batch(b, data.batch(3, 1)));
  CHECK(same_batch(b, TrainingData(cfg, kBytes, 11).batch(3, 1)));  // a fresh object (a resumed run)
  CHECK(same_batch(b, data.batch(3, 1, 0)));
  CHECK_FALSE(same_batch(b, data.batch(3, 2)));
  CHECK_FALSE(same_batch(b, data.batch(4, 1)));
  CHECK_FALSE(same_batch(b, data.batch(1, 3)));
  CHECK_FALSE(same_batch(b, data.batch(3, 1, 1, 2)));
  CHECK_FALSE(same_batch(b, TrainingData(cfg, kBytes, 12).batch(3, 1)));

  CHECK(same_batch(data.valid_batch(2), data.valid_batch(2)));
  CHECK_FALSE(same_batch(data.valid_batch(2), data.valid_batch(3)));
  CHECK_FALSE(same_batch(data.valid_batch(0), data.batch(0, 0)));
}

TEST_CASE("data-parallel shards: process r of W at micro m draws global micro-batch m·W + r") {
  const fs::path docs = write_docs(fresh_dir("shards") / "docs", 6);
  const DataConfig cfg = data_config({{"text", docs.string(), 3.0, 0}, {"passkey", "", 1.0, 0}}, 256, 2);
  const TrainingData data(cfg, kBytes, 4);
  for (int64_t world : {2, 3}) {
    for (int64_t rank = 0; rank < world; ++rank) {
      for (int64_t micro = 0; micro < 2; ++micro) {
        CAPTURE(world);
        CAPTURE(rank);
        CAPTURE(micro);
        CHECK(same_batch(data.batch(5, micro, rank, world), data.batch(5, micro * world + rank)));
      }
    }
  }
  CHECK_FALSE(same_batch(data.batch(5, 0, 1, 2), data.batch(5, 0, 0, 2)));
}

TEST_CASE("segments: a sequence is seq_len · segments tokens, passkey prompts may fill all of it") {
  const fs::path docs = write_docs(fresh_dir("segments") / "docs", 4);
  DataConfig cfg = data_config({{"text", docs.string(), 1.0, 0}, {"passkey", "", 1.0, 500}}, 128, 4);
  cfg.segments = 4;
  const TrainingData data(cfg, kBytes, 2);
  CHECK(data.sequence_tokens() == 512);
  const Batch b = data.batch(0, 0);
  CHECK(b.tokens.shape() == Shape{4, 512});
  CHECK(b.targets.shape() == Shape{4, 512});
  cfg.segments = 1;  // min_tokens 500 no longer fits a 128-token sequence
  CHECK_THROWS_WITH_AS(TrainingData(cfg, kBytes, 2), doctest::Contains("leaves no room for the answer"), UserError);
}

TEST_CASE("text windows lie inside the training stream and targets are the tokens shifted by one") {
  const fs::path docs = write_docs(fresh_dir("windows") / "docs", 4);
  const DataConfig cfg = data_config({{"text", docs.string(), 1.0, 0}}, 64, 6);
  const TrainingData data(cfg, kBytes, 5);
  const std::vector<TokenId> stream = data.train_stream(0);
  REQUIRE(data.corpora().size() == 1);
  const Corpus corpus = load_corpus(cfg.sources[0], "data.sources[0]", kBytes, cfg.valid_fraction);
  CHECK(stream == join_documents(corpus.train_docs, ByteTokenizer::kEos));
  CHECK(count_occurrences(kBytes.decode(stream), "document 3") == 0);  // held out
  const std::vector<TokenId> valid_stream = data.valid_stream(0);
  CHECK(valid_stream == join_documents(corpus.valid_docs, ByteTokenizer::kEos));

  std::set<int64_t> starts;
  for (int64_t step = 0; step < 20; ++step) {
    for (const bool validation : {false, true}) {
      const Batch b = validation ? data.valid_batch(step) : data.batch(step, 0);
      const std::vector<TokenId>& source = validation ? valid_stream : stream;
      for (int64_t r = 0; r < 6; ++r) {
        const std::vector<int64_t> tokens = row(b.tokens, r), targets = row(b.targets, r);
        for (size_t t = 0; t + 1 < tokens.size(); ++t) CHECK(targets[t] == tokens[t + 1]);
        // The window: the tokens plus the last target, found verbatim in the stream.
        std::vector<TokenId> window(tokens.begin(), tokens.end());
        window.push_back(static_cast<TokenId>(targets.back()));
        const auto at = std::search(source.begin(), source.end(), window.begin(), window.end());
        CHECK(at != source.end());
        if (!validation) starts.insert(at - source.begin());
      }
    }
  }
  CHECK(starts.size() > 100);  // windows start all over the stream
}

TEST_CASE("a stream shorter than a window is used whole, and the rest is padding that is not scored") {
  const fs::path dir = fresh_dir("short");
  std::ofstream(dir / "tiny.txt") << "hello";
  DataConfig cfg = data_config({{"text", (dir / "tiny.txt").string(), 1.0, 0}}, 32, 2);
  cfg.valid_fraction = 0;
  const TrainingData data(cfg, kBytes, 1);
  const std::vector<int64_t> tokens = row(data.batch(0, 0).tokens, 0), targets = row(data.batch(0, 0).targets, 0);
  CHECK(decode(tokens) == "hello");
  CHECK(tokens[5] == ByteTokenizer::kEos);
  CHECK(targets[4] == ByteTokenizer::kEos);  // the document's end is scored
  for (size_t t = 0; t < 5; ++t) CHECK(targets[t] == tokens[t + 1]);
  for (size_t t = 5; t < targets.size(); ++t) CHECK(targets[t] == kIgnoreTarget);
  // No held-out data and no passkey source: validation has nothing to draw from.
  CHECK_THROWS_WITH_AS(data.valid_batch(0), doctest::Contains("no validation data"), UserError);
  CHECK_THROWS_WITH_AS(data.longest_valid_doc(), doctest::Contains("no held-out documents"), UserError);
}

TEST_CASE("passkey rows score exactly the answer tokens") {
  const int64_t seq_len = 1024;
  const DataConfig cfg = data_config({{"passkey", "", 1.0, 250}}, seq_len, 16);
  const TrainingData data(cfg, kBytes, 3);
  std::set<int64_t> lengths, needle_offsets;
  for (int64_t step = 0; step < 8; ++step) {
    const Batch b = step < 6 ? data.batch(step, 0) : data.valid_batch(step);
    for (int64_t r = 0; r < 16; ++r) {
      const std::vector<int64_t> tokens = row(b.tokens, r), targets = row(b.targets, r);
      std::vector<int64_t> scored;
      for (int64_t t = 0; t < seq_len; ++t) {
        if (targets[t] != kIgnoreTarget) scored.push_back(t);
      }
      REQUIRE(scored.size() == 7);                  // " ddddd."
      CHECK(scored.back() - scored.front() == 6);   // one contiguous run
      std::vector<int64_t> answer_ids;
      for (int64_t t : scored) {
        answer_ids.push_back(targets[t]);
        if (t + 1 < seq_len) CHECK(targets[t] == tokens[t + 1]);
      }
      const std::string answer = decode(answer_ids);
      REQUIRE(answer.size() == 7);
      CHECK(answer.front() == ' ');
      CHECK(answer.back() == '.');
      const std::string key = answer.substr(1, 5);
      CHECK(std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; }));

      // The scored run starts right where the prompt ends; the prompt holds the same key.
      const int64_t prompt_len = scored.front() + 1;
      const std::string prompt = decode(std::vector<int64_t>(tokens.begin(), tokens.begin() + prompt_len));
      CHECK(prompt.starts_with(PasskeyPieces{}.prefix));
      CHECK(prompt.ends_with(PasskeyPieces{}.suffix));
      CHECK(count_occurrences(prompt, key) == 2);
      CHECK(prompt_len >= 250 - kBlock);  // drawn target >= min_tokens, rounded down to whole blocks
      CHECK(prompt_len + 7 <= seq_len + 1);
      for (int64_t t = prompt_len + 7; t < seq_len; ++t) CHECK(tokens[t] == ByteTokenizer::kEos);
      lengths.insert(prompt_len);
      needle_offsets.insert(static_cast<int64_t>(prompt.find("The passkey is " + key)));
    }
  }
  CHECK(lengths.size() >= 5);         // targets 250..1018 give 1 to 9 blocks
  CHECK(needle_offsets.size() >= 5);  // the needle moves
}

TEST_CASE("ramp_steps: the longest passkey prompt grows with the step; validation sees the full range") {
  const int64_t seq_len = 1024;
  DataSource source{"passkey", "", 1.0, 0};
  source.ramp_steps = 100;
  const TrainingData data(data_config({source}, seq_len, 16), kBytes, 5);
  // The longest prompt (in bytes) over the rows of a few batches.
  const auto longest_prompt = [&](const std::vector<Batch>& batches) {
    int64_t longest = 0;
    for (const Batch& b : batches) {
      for (int64_t r = 0; r < 16; ++r) {
        const std::vector<int64_t> targets = row(b.targets, r);
        const auto first_scored = std::find_if(targets.begin(), targets.end(), [](int64_t t) { return t != kIgnoreTarget; });
        longest = std::max(longest, static_cast<int64_t>(first_scored - targets.begin()) + 1);
      }
    }
    return longest;
  };
  const int64_t shortest = kPrefix + kBlock + kSuffix;  // 220: min_tokens 0 is raised to one block
  const int64_t full = seq_len + 1 - 7 - shortest;      // the range of drawn targets, " ddddd." excluded
  // Step s draws targets in [220, 220 + full·(s + 1)/100]; prompts are whole blocks at most that long.
  for (int64_t step : {0, 9, 49}) {
    std::vector<Batch> batches;
    for (int64_t micro = 0; micro < 4; ++micro) batches.push_back(data.batch(step, micro));
    const int64_t bound = shortest + full * (step + 1) / 100;
    CHECK(longest_prompt(batches) <= bound);
    CHECK(longest_prompt(batches) > bound - 2 * kBlock);  // 64 rows reach near the bound
  }
  std::vector<Batch> late, valid;
  for (int64_t micro = 0; micro < 4; ++micro) late.push_back(data.batch(99, micro));
  for (int64_t i = 0; i < 4; ++i) valid.push_back(data.valid_batch(i));
  CHECK(longest_prompt(late) > seq_len - 2 * kBlock);   // the ramp is over at step 99
  CHECK(longest_prompt(valid) > seq_len - 2 * kBlock);  // validation never ramps
  // Without a ramp, step 0 already draws from the full range.
  const TrainingData flat(data_config({{"passkey", "", 1.0, 0}}, seq_len, 16), kBytes, 5);
  std::vector<Batch> first;
  for (int64_t micro = 0; micro < 4; ++micro) first.push_back(flat.batch(0, micro));
  CHECK(longest_prompt(first) > seq_len - 2 * kBlock);
}

TEST_CASE("sources are mixed in proportion to their weights") {
  const fs::path docs = write_docs(fresh_dir("mixture") / "docs", 4);
  const DataConfig cfg = data_config({{"text", docs.string(), 3.0, 0}, {"passkey", "", 1.0, 0}}, 256, 8);
  const TrainingData data(cfg, kBytes, 9);
  int passkey = 0, total = 0;
  for (int64_t step = 0; step < 300; ++step) {
    const Batch b = data.batch(step, 0);
    for (int64_t r = 0; r < 8; ++r, ++total) passkey += is_passkey_row(row(b.tokens, r));
  }
  const double share = static_cast<double>(passkey) / total;
  MESSAGE("passkey share " << share << " over " << total << " rows (expected 0.25)");
  CHECK(share == doctest::Approx(0.25).epsilon(0.16));  // ~4.5 sigma for 2400 draws
}

TEST_CASE("passkey sources that cannot fit seq_len are rejected up front") {
  CHECK_THROWS_WITH_AS(TrainingData(data_config({{"passkey", "", 1.0, 0}}, 200), kBytes, 1),
                       doctest::Contains("data.sources[0]: data.seq_len (200) is too short for a passkey prompt"),
                       UserError);
  CHECK_THROWS_WITH_AS(TrainingData(data_config({{"passkey", "", 1.0, 255}}, 256), kBytes, 1),
                       doctest::Contains("data.sources[0].min_tokens (255) leaves no room for the answer"), UserError);
  CHECK_NOTHROW(TrainingData(data_config({{"passkey", "", 1.0, 250}}, 256), kBytes, 1));
}
