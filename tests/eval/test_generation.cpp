// tests/eval/test_generation.cpp — token sampling (greedy, temperature, top-k, top-p, seeds), the
// incremental decoder's UTF-8 hold-back, and generation on the recurrent path against the same
// tokens chosen by full forward passes.
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "autograd/grad_mode.h"  // defines: NoGradGuard
#include "eval/generation.h"
#include "eval/inference.h"  // defines: greedy_token, token_batch
#include "eval/sampling.h"
#include "ops/ops.h"  // defines: slice
#include "tests/support/eval_fixtures.h"
#include "tests/support/testing.h"

using namespace ssm;

namespace {

// Counts of `draws` samples from logits `z` (padding columns after `vocab` included in z).
std::map<TokenId, int> histogram(const SamplingOptions& o, int64_t vocab, const std::vector<double>& z, int draws) {
  TokenSampler sampler(o, vocab);
  std::map<TokenId, int> counts;
  for (int i = 0; i < draws; ++i) ++counts[sampler.next_from_row(z.data(), static_cast<int64_t>(z.size()))];
  return counts;
}

}  // namespace

TEST_CASE("greedy takes the first largest logit among the tokenizer's ids, never a padding column") {
  const std::vector<double> z = {0.5, 2.0, 2.0, -1.0, 9.0};  // column 4 is padding (vocab 4)
  TokenSampler greedy({}, 4);
  CHECK(greedy.next_from_row(z.data(), 5) == 1);
  CHECK(greedy.describe() == "greedy");
  // top-k 1 is greedy whatever the temperature.
  SamplingOptions top1;
  top1.temperature = 5;
  top1.top_k = 1;
  const auto counts = histogram(top1, 4, z, 200);
  REQUIRE(counts.size() == 1);
  CHECK(counts.begin()->first == 1);
}

TEST_CASE("sampled frequencies follow softmax(z / T); top-k and top-p cut the tail; padding never drawn") {
  const std::vector<double> z = {std::log(0.5), std::log(0.3), std::log(0.2), 50.0};  // column 3: padding
  const int draws = 40000;
  SamplingOptions o;
  o.temperature = 1;
  o.seed = 7;
  auto counts = histogram(o, 3, z, draws);
  CHECK(counts.count(3) == 0);
  CHECK(counts[0] / double(draws) == doctest::Approx(0.5).epsilon(0.03));
  CHECK(counts[1] / double(draws) == doctest::Approx(0.3).epsilon(0.04));
  CHECK(counts[2] / double(draws) == doctest::Approx(0.2).epsilon(0.05));

  o.temperature = 0.5;  // p ∝ (0.5², 0.3², 0.2²) = (0.25, 0.09, 0.04) / 0.38
  counts = histogram(o, 3, z, draws);
  CHECK(counts[0] / double(draws) == doctest::Approx(0.25 / 0.38).epsilon(0.03));
  CHECK(counts[2] / double(draws) == doctest::Approx(0.04 / 0.38).epsilon(0.1));

  o.temperature = 1;
  o.top_k = 2;  // (0.5, 0.3) renormalised
  counts = histogram(o, 3, z, draws);
  CHECK(counts.count(2) == 0);
  CHECK(counts[0] / double(draws) == doctest::Approx(0.625).epsilon(0.03));

  o.top_k = 0;
  o.top_p = 0.6;  // 0.5 < 0.6: the nucleus needs the second token too
  counts = histogram(o, 3, z, draws);
  CHECK(counts.count(2) == 0);
  CHECK(counts[1] / double(draws) == doctest::Approx(0.375).epsilon(0.04));
  o.top_p = 0.5;  // reached by the first token alone
  counts = histogram(o, 3, z, draws);
  CHECK(counts.size() == 1);
  CHECK(counts.count(0) == 1);
}

TEST_CASE("the same seed draws the same tokens, another seed others; options are checked") {
  std::vector<double> z(50);
  for (size_t i = 0; i < z.size(); ++i) z[i] = std::sin(static_cast<double>(i));
  SamplingOptions o;
  o.temperature = 1.5;
  o.seed = 3;
  const auto draw = [&](const SamplingOptions& opts) {
    TokenSampler s(opts, 50);
    std::vector<TokenId> out;
    for (int i = 0; i < 64; ++i) out.push_back(s.next_from_row(z.data(), 50));
    return out;
  };
  CHECK(draw(o) == draw(o));
  SamplingOptions other = o;
  other.seed = 4;
  CHECK(draw(o) != draw(other));
  CHECK(TokenSampler(o, 50).describe() == "temperature 1.5, seed 3");

  SamplingOptions bad;
  bad.temperature = -1;
  CHECK_THROWS_WITH_AS(check_sampling_options(bad), doctest::Contains("--temperature must be"), UserError);
  bad = {};
  bad.temperature = INFINITY;
  CHECK_THROWS_AS(check_sampling_options(bad), UserError);
  bad = {};
  bad.top_k = -2;
  CHECK_THROWS_WITH_AS(check_sampling_options(bad), doctest::Contains("--top-k must be >= 0"), UserError);
  for (double p : {0.0, 1.5, static_cast<double>(NAN)}) {
    bad = {};
    bad.top_p = p;
    CHECK_THROWS_WITH_AS(check_sampling_options(bad), doctest::Contains("--top-p must be in (0, 1]"), UserError);
  }
}

TEST_CASE("the incremental decoder prints whole UTF-8 characters only, and all of the text in the end") {
  ByteTokenizer bytes;
  std::string text;
  for (int i = 0; i < 30; ++i) text += "héllo wörld € 𝄞 ";  // 1-, 2-, 3- and 4-byte characters, past the window
  IncrementalDecoder decoder(bytes);
  std::string out;
  for (TokenId id : bytes.encode(text)) {
    const std::string piece = decoder.push(id);
    // Every piece ends on a character boundary: its last lead byte has all its continuation bytes.
    if (!piece.empty()) {
      size_t lead = piece.size() - 1;
      while (lead > 0 && (static_cast<unsigned char>(piece[lead]) & 0xC0) == 0x80) --lead;
      const auto b = static_cast<unsigned char>(piece[lead]);
      const size_t need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
      CHECK(piece.size() - lead == need);
    }
    out += piece;
  }
  out += decoder.flush();
  CHECK(out == text);

  // A dangling lead byte is held back until flush, then printed as it is.
  IncrementalDecoder dangling(bytes);
  CHECK(dangling.push('a') == "a");
  CHECK(dangling.push(0xE2) == "");
  CHECK(dangling.push(0x82) == "");
  CHECK(dangling.flush() == "\xE2\x82");
}

TEST_CASE("generation on the recurrent path picks the tokens full forward passes pick") {
  Mamba2Model model = testing::tiny_mamba2();
  ByteTokenizer tokenizer;
  const std::vector<TokenId> prompt = testing::some_text(40);
  GenerateOptions o;
  o.max_new_tokens = 12;
  o.stop_at_eos = false;
  o.prefill_chunk = 16;  // the prompt crosses three forward calls
  std::string printed;
  const GenerateResult r =
      generate(model, tokenizer, Device::cpu(), Mitigations{}, prompt, o, [&](const std::string& s) { printed += s; });
  REQUIRE(r.tokens.size() == 12);
  CHECK(r.prompt_tokens == 40);
  CHECK(printed == tokenizer.decode(r.tokens));

  // Each token is the greedy choice of one forward pass over everything before it.
  autograd::NoGradGuard no_grad;
  std::vector<TokenId> seen = prompt;
  for (TokenId t : r.tokens) {
    const Tensor logits = model.forward(token_batch(seen, 0, seen.size(), Device::cpu()), nullptr);
    // The first largest among the byte tokenizer's 258 ids.
    const std::vector<double> row = ops::slice(logits, 1, logits.size(1) - 1, logits.size(1)).to_vector<double>();
    CHECK(TokenSampler({}, tokenizer.vocab_size()).next_from_row(row.data(), static_cast<int64_t>(row.size())) == t);
    seen.push_back(t);
  }

  // The same seed gives the same sampled text; max_new_tokens 0 gives none.
  o.sampling.temperature = 1.0;
  o.sampling.seed = 11;
  const GenerateResult a = generate(model, tokenizer, Device::cpu(), Mitigations{}, prompt, o, nullptr);
  const GenerateResult b = generate(model, tokenizer, Device::cpu(), Mitigations{}, prompt, o, nullptr);
  CHECK(a.tokens == b.tokens);
  o.max_new_tokens = 0;
  CHECK(generate(model, tokenizer, Device::cpu(), Mitigations{}, prompt, o, nullptr).tokens.empty());
  CHECK_THROWS_WITH_AS(generate(model, tokenizer, Device::cpu(), Mitigations{}, {}, o, nullptr),
                       doctest::Contains("the prompt has no tokens"), UserError);
}

TEST_CASE("a sliding window in generation is the window of a full forward pass") {
  Mamba2Model model = testing::tiny_mamba2();
  ByteTokenizer tokenizer;
  const std::vector<TokenId> prompt = testing::some_text(30);
  Mitigations window;
  window.scan.window = 8;
  GenerateOptions o;
  o.max_new_tokens = 6;
  o.stop_at_eos = false;
  const GenerateResult r = generate(model, tokenizer, Device::cpu(), window, prompt, o, nullptr);
  REQUIRE(r.tokens.size() == 6);
  autograd::NoGradGuard no_grad;
  ForwardOptions f;
  f.mitigations = window.scan;
  std::vector<TokenId> seen = prompt;
  for (TokenId t : r.tokens) {
    const Tensor logits = model.forward(token_batch(seen, 0, seen.size(), Device::cpu()), nullptr, f);
    const std::vector<double> row = ops::slice(logits, 1, logits.size(1) - 1, logits.size(1)).to_vector<double>();
    CHECK(TokenSampler({}, tokenizer.vocab_size()).next_from_row(row.data(), static_cast<int64_t>(row.size())) == t);
    seen.push_back(t);
  }
}
