// tests/train/test_input_limits.cpp — the training inputs that once crashed, hung or wrapped: sizes
// in the config past 64 bits or past memory, `--set` paths with an empty key or a huge index,
// configs that are FIFOs, devices, directories, symlink loops or 100 MB, a token file truncated
// while training reads it (SIGBUS from a mapping, once), and vocabulary ids of 2^31 - 1.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/checked_size.h"
#include "core/error.h"
#include "tests/support/testing.h"
#include "train/config.h"
#include "train/data/dataset.h"
#include "train/data/token_corpus.h"
#include "train/data/token_file.h"
#include "train/text/tokenizer.h"

using namespace ssm;
namespace fs = std::filesystem;

namespace {

const ByteTokenizer kBytes;
const fs::path kFixtures = fs::path(SSMLAB_SOURCE_DIR) / "tests" / "data" / "tokenizers";

fs::path fresh_dir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("ssmlab_test_input_limits_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void write_text(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

const char* kYaml =
    "model: {d_model: 16, n_layer: 1, d_state: 8, headdim: 8}\n"
    "data: {seq_len: 64, batch_size: 2, sources: [{kind: text, path: corpus}]}\n"
    "train: {steps: 3}\n";

Config parse(const std::vector<std::string>& overrides) { return parse_config(kYaml, "run.yaml", overrides); }

}  // namespace

TEST_CASE("config sizes: products past 64 bits and batches past memory are one line naming the keys") {
  CHECK_NOTHROW(parse({}));
  CHECK_THROWS_WITH_AS(parse({"data.seq_len=3037000500", "data.segments=3037000500"}),
                       "run.yaml: data.seq_len · data.segments: 3037000500 x 3037000500 does not fit in a 64-bit size",
                       UserError);
  CHECK_THROWS_WITH_AS(parse({"data.seq_len=4611686018427387904"}),
                       doctest::Contains("data.batch_size · data.seq_len · data.segments: 2 x 4611686018427387904"),
                       UserError);
  CHECK_THROWS_WITH_AS(parse({"data.batch_size=1000000000000"}),
                       doctest::Contains("run.yaml: data.batch_size · data.seq_len · data.segments (64000000000000 "
                                         "tokens per batch): would need 1024000000000000 bytes"),
                       UserError);
  // The trainer counts tokens in int64: steps x tokens per step must fit.
  CHECK_THROWS_WITH_AS(parse({"train.steps=1000000000000000000"}), doctest::Contains("train.steps"), UserError);
  CHECK_THROWS_WITH_AS(parse({"train.grad_accum=100000000000000000"}), doctest::Contains("train.grad_accum"),
                       UserError);
  // The model's size is checked while the config is read: 2^62 once wrapped (a heap overflow).
  CHECK_THROWS_WITH_AS(parse({"model.d_model=4611686018427387904"}),
                       doctest::Contains("run.yaml: model.d_model: 4611686018427387904 gives a mamba2 model"),
                       UserError);
}

TEST_CASE("--set: an empty key anywhere in the path and an index past 2^63 are refused") {
  // "train.steps." was read as "train.steps" (getline drops a trailing empty piece).
  CHECK_THROWS_WITH_AS(parse({"train.steps.=1"}), "--set 'train.steps.=1': empty key in 'train.steps.'", UserError);
  CHECK_THROWS_WITH_AS(parse({".train.steps=1"}), doctest::Contains("empty key"), UserError);
  CHECK_THROWS_WITH_AS(parse({"train..steps=1"}), doctest::Contains("empty key"), UserError);
  // std::stoll threw std::out_of_range: exit 1.
  CHECK_THROWS_WITH_AS(parse({"data.sources[99999999999999999999].kind=text"}),
                       "--set 'data.sources[99999999999999999999].kind=text': index 99999999999999999999 in "
                       "'sources[99999999999999999999]' is too large",
                       UserError);
  CHECK_THROWS_WITH_AS(parse({"data.sources[9223372036854775807].kind=text"}), doctest::Contains("has no element"),
                       UserError);
  CHECK(parse({"data.sources[0].kind=jsonl"}).data.sources[0].kind == "jsonl");
}

TEST_CASE("load_config: regular files of at most 16 MiB only, refused without blocking") {
  const fs::path dir = fresh_dir("configs");
  const std::string fifo = (dir / "fifo.yaml").string();
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  ::alarm(20);  // a FIFO once blocked open() forever: a regression fails here instead of hanging
  CHECK_THROWS_WITH_AS(load_config(fifo), doctest::Contains("it is a FIFO (named pipe), not a regular file"),
                       UserError);
  CHECK_THROWS_WITH_AS(load_config("/dev/zero"),
                       "cannot read config '/dev/zero': it is a character device, not a regular file", UserError);
  ::alarm(0);
  CHECK_THROWS_WITH_AS(load_config(dir.string()), doctest::Contains("it is a directory"), UserError);
  fs::create_symlink(dir / "b.yaml", dir / "a.yaml");
  fs::create_symlink(dir / "a.yaml", dir / "b.yaml");
  CHECK_THROWS_WITH_AS(load_config((dir / "a.yaml").string()),
                       doctest::Contains("a.yaml': Too many levels of symbolic links"), UserError);
  // A 100 MB YAML list kept the parser busy, then failed as "internal error"; 17 MiB is refused
  // by its size before a byte is parsed.
  std::string big = kYaml;
  big += "list:\n";
  while (big.size() <= (size_t{17} << 20)) big += "  - 1\n";
  write_text(dir / "big.yaml", big);
  CHECK_THROWS_WITH_AS(load_config((dir / "big.yaml").string()),
                       doctest::Contains("more than the 16777216 bytes (16 MiB) allowed for a config"), UserError);
}

TEST_CASE("a token file truncated while training reads it is a UserError, not SIGBUS") {
  const fs::path dir = fresh_dir("truncated");
  std::vector<TokenId> ids;
  for (int i = 0; i < 5000; ++i) ids.push_back(i % 7 == 6 ? 256 : 'a' + i % 5);
  const fs::path path = dir / "c.tok";
  write_token_file(path.string(), ids, 258, 256);

  const TokenFile file = TokenFile::open(path.string(), 258, "data.sources[0].path 'c.tok'");
  const TokenCorpus corpus = split_token_corpus(file, 256, 0, 0.0, "data.sources[0]", "c.tok");
  std::vector<int64_t> window;
  corpus.train.copy(0, 100, window);
  CHECK(window.size() == 100);

  DataConfig config;
  config.seq_len = 64;
  config.batch_size = 2;
  config.valid_fraction = 0;
  DataSource source;
  source.kind = "tokens";
  source.path = path.string();
  config.sources = {source};
  const TrainingData data(config, kBytes, 1);
  CHECK(data.batch(0, 0, 0, 1).tokens.numel() == 128);

  fs::resize_file(path, kTokenFileHeaderBytes + 10);  // another process cut it short
  window.clear();
  CHECK_THROWS_WITH_AS(corpus.train.copy(1000, 100, window),
                       doctest::Contains("data.sources[0].path 'c.tok': the file changed while it was read: it "
                                         "had 10032 bytes when opened, now 42"),
                       UserError);
  CHECK_THROWS_WITH_AS(data.batch(1, 0, 0, 1), doctest::Contains("the file changed while it was read"), UserError);
  CHECK_THROWS_AS(corpus.train.document(0), UserError);
}

TEST_CASE("training data: sizes past 64 bits, batches and logits past memory are refused naming the keys") {
  DataConfig wrap;  // built in code, not read from a config: checked all the same
  wrap.seq_len = 3037000500;
  wrap.segments = 3037000500;
  wrap.sources = {DataSource{}};
  wrap.sources[0].kind = "passkey";
  CHECK_THROWS_WITH_AS(TrainingData(wrap, kBytes, 1), doctest::Contains("data.seq_len · data.segments: 3037000500 x"),
                       UserError);
  wrap.seq_len = wrap.segments = 1;
  wrap.batch_size = int64_t{1} << 58;
  CHECK_THROWS_WITH_AS(TrainingData(wrap, kBytes, 1), doctest::Contains("tokens per batch): would need"), UserError);
  // A batch whose tokens fit (1/2 of memory) but whose logits over 258 ids cannot (32x memory).
  DataConfig config;
  config.seq_len = memory_limit_bytes() / 32;
  config.batch_size = 1;
  DataSource passkey;
  passkey.kind = "passkey";
  config.sources = {passkey};
  const std::string logits =
      absl::StrCat("data.batch_size · data.seq_len (1 x ", config.seq_len, "): the logits over 258 token ids: would need");
  CHECK_THROWS_WITH_AS(TrainingData(config, kBytes, 1), doctest::Contains(logits.c_str()), UserError);
}

TEST_CASE("vocabulary ids of 2^31 - 1 are refused before any table is sized for them") {
  const fs::path dir = fresh_dir("vocab");
  // tokenizer.json: max_id + 1 overflowed TokenId, then the id table asked for 2^64 pointers.
  std::string json = read_text(kFixtures / "gpt_neox" / "tokenizer.json");
  const size_t vocab = json.find("\"vocab\": {");
  REQUIRE(vocab != std::string::npos);
  json.insert(vocab + 10, "\"zzqqzz\": 2147483647, ");
  write_text(dir / "tokenizer.json", json);
  CHECK_THROWS_WITH_AS(make_tokenizer((dir / "tokenizer.json").string()),
                       doctest::Contains("vocabulary id 2147483647 of token 'zzqqzz' is too large: ssmlab reads "
                                         "vocabularies of at most 16777216 ids"),
                       UserError);
  // An added token past the limit.
  json = read_text(kFixtures / "gpt_neox" / "tokenizer.json");
  const size_t added = json.find("\"added_tokens\": [");
  REQUIRE(added != std::string::npos);
  json.insert(added + 17, R"({"id": 2147483647, "content": "<zzqq>", "special": false}, )");
  write_text(dir / "tokenizer.json", json);
  CHECK_THROWS_WITH_AS(make_tokenizer((dir / "tokenizer.json").string()),
                       doctest::Contains("has id 2147483647, too large"), UserError);
  // RWKV World: the id table was resized to 2^31 strings.
  const fs::path rwkv = dir / "rwkv_vocab_big.txt";
  write_text(rwkv, read_text(kFixtures / "rwkv_world" / "rwkv_vocab_v20230424.txt") + "2147483647 'zq' 2\n");
  CHECK_THROWS_WITH_AS(make_tokenizer(rwkv.string()), doctest::Contains("id 2147483647 is too large"), UserError);
}
