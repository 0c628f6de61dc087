// tests/eval/test_passkey.cpp — the passkey benchmark: sizing and depth placement in the model's own
// tokens (bytes and a GPT-NeoX BPE fixture), the (i+0.5)/n grid, seeded keys, scoring through
// greedy decoding (with a scripted model that knows the answer), heatmap bins and last-r curves,
// prefix sharing == fresh runs, and the length-list syntax.
#include <cmath>
#include <filesystem>

#include "eval/inference.h"
#include "eval/passkey.h"
#include "eval/state_stream.h"
#include "tests/support/eval_fixtures.h"
#include "tests/support/testing.h"
#include "train/data/passkey_prompt.h"

using namespace ssm;
using namespace ssm::testing;

namespace {

const std::filesystem::path kNeox = std::filesystem::path(SSMLAB_SOURCE_DIR) / "tests/data/tokenizers/gpt_neox";

int64_t count_tokens(const Tokenizer& tok, const std::string& text) { return static_cast<int64_t>(tok.encode(text).size()); }

// Greedy decoding from scratch over the whole prompt: the reference for the carried-state runs.
std::string fresh_answer(LanguageModel& model, const Tokenizer& tok, const std::vector<TokenId>& prompt,
                         const Mitigations& m, int64_t max_new) {
  StateStream stream(model, Device::cpu(), m, 64);
  Tensor logits = stream.feed(prompt);
  std::vector<TokenId> out;
  for (int64_t k = 0; k < max_new; ++k) {
    const TokenId next = greedy_token(logits);
    if (next == tok.eos_id()) break;
    out.push_back(next);
    if (k + 1 < max_new) logits = stream.step(next);
  }
  return tok.decode(out);
}

}  // namespace

TEST_CASE("passkey sizing and needle placement are in the model's own tokens: GPT-NeoX BPE fixture") {
  const std::unique_ptr<Tokenizer> tok = make_tokenizer((kNeox / "tokenizer.json").string());
  const PasskeyPieces pieces;
  const int64_t n_prefix = count_tokens(*tok, pieces.prefix), n_suffix = count_tokens(*tok, pieces.suffix);
  const int64_t n_block = count_tokens(*tok, pieces.block);
  MESSAGE("GPT-NeoX fixture: prefix " << n_prefix << ", block " << n_block << ", suffix " << n_suffix << " tokens");
  CHECK(n_block < static_cast<int64_t>(pieces.block.size()));  // tokens, not bytes
  for (int64_t target : {300, 1000, 4096}) {
    for (double depth : {0.05, 0.5, 0.95}) {
      CAPTURE(target);
      CAPTURE(depth);
      const PasskeyPrompt p = build_passkey_prompt(*tok, target, depth, "04217");
      const int64_t blocks = (target - n_prefix - n_suffix) / n_block;
      CHECK(p.num_blocks == blocks);
      CHECK(p.needle_block == static_cast<int64_t>(std::floor(depth * static_cast<double>(blocks - 1))));
      CHECK(p.num_tokens <= target);
      CHECK(p.num_tokens == count_tokens(*tok, p.text));
      // The needle sits after the prefix and exactly needle_block filler blocks.
      std::string before = pieces.prefix;
      for (int64_t b = 0; b < p.needle_block; ++b) before += pieces.block;
      CHECK(p.text.compare(0, before.size(), before) == 0);
      CHECK(p.text.compare(before.size(), 20, "The passkey is 04217") == 0);
    }
  }
}

TEST_CASE("the grid: depths (i+0.5)/n, needle blocks, prompt sizes, seeded keys, correct answers scored") {
  ByteTokenizer tok;
  ScriptedModel model(passkey_policy([](int64_t, int64_t) { return true; }));
  PasskeyOptions o;
  o.lengths = {600, 400};  // sorted by the runner
  o.samples = 4;
  o.depth_bins = 2;
  o.last_r = {300};
  const PasskeyResult r = run_passkey(model, tok, o, Mitigations{}, Device::cpu());
  REQUIRE(r.samples.size() == 8);
  CHECK(r.lengths == std::vector<int64_t>{400, 600});
  const std::vector<double> depths = {0.125, 0.375, 0.625, 0.875};
  for (size_t i = 0; i < r.samples.size(); ++i) {
    const PasskeySample& s = r.samples[i];
    CAPTURE(i);
    CHECK(s.length == (i < 4 ? 400 : 600));
    CHECK(s.depth == doctest::Approx(depths[i % 4]));
    const PasskeyPrompt p = build_passkey_prompt(tok, s.length, s.depth, s.key);
    CHECK(s.needle_block == static_cast<int64_t>(std::floor(s.depth * static_cast<double>(p.num_blocks - 1))));
    CHECK(s.tokens == p.num_tokens);
    CHECK(s.tokens <= s.length);
    CHECK(s.key.size() == 5);
    CHECK(s.generated == " " + s.key);  // 6 bytes: the paper's 5 tokens raised to fit the key
    CHECK(s.correct);
  }
  CHECK(r.accuracy == std::vector<double>{1.0, 1.0});
  // The same seed gives the same keys; another seed other keys.
  const PasskeyResult again = run_passkey(model, tok, o, Mitigations{}, Device::cpu());
  o.seed = 1;
  const PasskeyResult other = run_passkey(model, tok, o, Mitigations{}, Device::cpu());
  int same = 0;
  for (size_t i = 0; i < 8; ++i) {
    CHECK(again.samples[i].key == r.samples[i].key);
    same += other.samples[i].key == r.samples[i].key;
  }
  CHECK(same < 8);
}

TEST_CASE("scoring is a substring match of the decoded answer; heatmap bins and last-r curves") {
  ByteTokenizer tok;
  // Succeeds only when the needle sits in the second half of the blocks.
  ScriptedModel model(passkey_policy([](int64_t block, int64_t blocks) { return 2 * block >= blocks - 1; }));
  PasskeyOptions o;
  o.lengths = {1000, 1700};  // 9 and 17 blocks of 90 bytes: needle blocks i and 2i+1 for depth (i+0.5)/8
  o.samples = 8;
  o.depth_bins = 4;
  o.last_r = {425, 1000, 2000};
  const PasskeyResult r = run_passkey(model, tok, o, Mitigations{}, Device::cpu());
  for (const PasskeySample& s : r.samples) {
    CHECK(s.correct == (s.generated.find(s.key) != std::string::npos));
    CHECK(s.correct == (s.depth > 0.5));
    if (!s.correct) CHECK(s.generated == " 99999");  // "99999x" cut at 6 new tokens
  }
  // Bins 0-1 (depth <= 0.5) fail, bins 2-3 pass, at both lengths.
  REQUIRE(r.grid.size() == 4);
  for (size_t j = 0; j < 2; ++j) {
    CHECK(r.grid[0][j] == 0.0);
    CHECK(r.grid[1][j] == 0.0);
    CHECK(r.grid[2][j] == 1.0);
    CHECK(r.grid[3][j] == 1.0);
    CHECK(r.accuracy[j] == 0.5);
  }
  // The last ⌊4·r/L⌋ rows: r=425 → 1 row at both lengths; r=1000 → 4 rows at 1000, 2 at 1700;
  // r=2000 → 8 > 4 rows at 1000 (empty), 4 at 1700.
  REQUIRE(r.last_r_accuracy.size() == 3);
  CHECK(r.last_r_accuracy[0] == std::vector<double>{1.0, 1.0});
  CHECK(r.last_r_accuracy[1] == std::vector<double>{0.5, 1.0});
  CHECK(std::isnan(r.last_r_accuracy[2][0]));
  CHECK(r.last_r_accuracy[2][1] == 0.5);
}

TEST_CASE("depth bins hold (b/R, (b+1)/R]") {
  CHECK(depth_bin(0.0, 4) == 0);
  CHECK(depth_bin(0.25, 4) == 0);
  CHECK(depth_bin(0.2501, 4) == 1);
  CHECK(depth_bin(1.0, 4) == 3);
  CHECK(depth_bin(0.975, 20) == 19);
  CHECK(depth_bin(0.025, 20) == 0);
}

TEST_CASE("carried prefix states give exactly the answers of fresh runs, and read fewer tokens") {
  ByteTokenizer tok;
  SUBCASE("scripted model: tokens read") {
    ScriptedModel model(passkey_policy([](int64_t, int64_t) { return true; }));
    PasskeyOptions o;
    o.lengths = {2000};
    o.samples = 10;
    const PasskeyResult r = run_passkey(model, tok, o, Mitigations{}, Device::cpu());
    int64_t prompt_tokens = 0;
    for (const PasskeySample& s : r.samples) prompt_tokens += s.tokens;
    CHECK(r.accuracy[0] == 1.0);
    MESSAGE("prompt tokens " << prompt_tokens << ", tokens read " << model.tokens_read);
    CHECK(model.tokens_read < 0.7 * static_cast<double>(prompt_tokens));
  }
  for (const char* mode : {"none", "state norm", "window"}) {
    SUBCASE(mode) {
      Mamba2Model model = tiny_mamba2();
      Mitigations m;
      if (std::string(mode) == "state norm") {
        m.state_norm = true;
        m.norm_every = 32;
        prepare_state_norm(m, model, some_text(64), Device::cpu());
        for (auto& layer : m.thresholds.tau) for (double& t : layer) t *= 0.5;  // make it bite
      }
      if (std::string(mode) == "window") m.scan.window = 48;
      PasskeyOptions o;
      o.lengths = {300, 420};
      o.samples = 5;
      o.prefill_chunk = 37;  // calls that do not line up with anything
      const PasskeyResult r = run_passkey(model, tok, o, m, Device::cpu());
      for (const PasskeySample& s : r.samples) {
        const PasskeyPrompt p = build_passkey_prompt(tok, s.length, s.depth, s.key);
        CHECK(s.generated == fresh_answer(model, tok, tok.encode(p.text), m, 6));
      }
    }
  }
}

TEST_CASE("passkey options and BOS are checked") {
  ByteTokenizer tok;
  ScriptedModel model(passkey_policy([](int64_t, int64_t) { return true; }));
  PasskeyOptions o;
  o.lengths = {100};  // too short for the prompt
  CHECK_THROWS_WITH_AS(run_passkey(model, tok, o, Mitigations{}, Device::cpu()), doctest::Contains("too short"),
                       UserError);
  o.lengths = {400};
  o.bos = true;
  CHECK_THROWS_WITH_AS(run_passkey(model, tok, o, Mitigations{}, Device::cpu()), doctest::Contains("no BOS"),
                       UserError);
  o.bos = false;
  o.samples = 0;
  CHECK_THROWS_AS(run_passkey(model, tok, o, Mitigations{}, Device::cpu()), UserError);
}

TEST_CASE("length lists: K suffix, ranges with a step, errors name the flag") {
  CHECK(parse_lengths("1K,2K,8K", "--lengths") == std::vector<int64_t>{1024, 2048, 8192});
  CHECK(parse_lengths("1K:4K", "--lengths") == std::vector<int64_t>{1024, 2048, 3072, 4096});
  CHECK(parse_lengths("1K:8K:2K", "--lengths") == std::vector<int64_t>{1024, 3072, 5120, 7168});
  CHECK(parse_lengths("300,1536", "--lengths") == std::vector<int64_t>{300, 1536});
  for (const char* bad : {"", "1K:", "x", "4K:1K", "0", "1:2:3:4", "-5"}) {
    CAPTURE(bad);
    CHECK_THROWS_WITH_AS(parse_lengths(bad, "--lengths"), doctest::Contains("--lengths"), UserError);
  }
}
