// tests/eval/test_position_loss.cpp — loss by position: the collapse rule on synthetic curves (a lone
// spike does not count once smoothed, a sustained rise does, the first bucket stays out of the
// baseline), bucketing, streamed == one pass == cross-entropy, averaging over sequences, the
// per-token losses behind the curve, memory that does not grow with the input, and the evaluation
// text (corpora, synthetic prompts, sizing).
#include <malloc.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "autograd/grad_mode.h"
#include "eval/eval_text.h"
#include "eval/inference.h"
#include "eval/position_loss.h"
#include "eval/state_stream.h"
#include "tests/support/eval_fixtures.h"
#include "ops/ops.h"
#include "tests/support/testing.h"

using namespace ssm;
using namespace ssm::testing;
namespace fs = std::filesystem;

TEST_CASE("the 2x rule: flat and noisy curves pass, a jump past the training length is found") {
  const int64_t bucket = 100, train = 1000;
  std::vector<double> flat(30, 3.0);
  CHECK_FALSE(detect_collapse(flat, bucket, train, 1).onset.has_value());
  CHECK(detect_collapse(flat, bucket, train, 1).baseline.value_or(-1) == 3.0);
  std::vector<double> noisy = flat;
  for (size_t k = 0; k < noisy.size(); ++k) noisy[k] += static_cast<double>(k % 3) * 0.5;  // max 4 inside, never > 8
  CHECK_FALSE(detect_collapse(noisy, bucket, train, 1).onset.has_value());
  std::vector<double> jump = flat;
  for (size_t k = 15; k < jump.size(); ++k) jump[k] = 7.0;  // 7 > 2 x 3 from position 1500
  CHECK(detect_collapse(jump, bucket, train, 1).onset.value_or(-1) == 1500);
  std::vector<double> early = jump;
  early[3] = 9.0;  // a spike inside the training length raises the baseline instead
  CHECK_FALSE(detect_collapse(early, bucket, train, 1).onset.has_value());
}

TEST_CASE("the first bucket (almost no context) stays out of the baseline") {
  std::vector<double> curve(30, 3.0);
  curve[0] = 8.0;  // the first tokens are predicted blind
  for (size_t k = 15; k < curve.size(); ++k) curve[k] = 7.0;
  CHECK(detect_collapse(curve, 100, 1000, 1).onset.value_or(-1) == 1500);
  CHECK_FALSE(detect_collapse(curve, 100, 1000, 0).onset.has_value());  // 7 < 2 x 8
  // No full bucket within the training length: no baseline, no verdict.
  CHECK_FALSE(detect_collapse(curve, 100, 150, 1).baseline.has_value());
}

TEST_CASE("smoothing keeps a lone spike from reading as a collapse, but not a sustained rise") {
  std::vector<double> spike(30, 3.0);
  spike[20] = 10.0;  // one hard bucket
  CHECK(detect_collapse(spike, 100, 1000, 1).onset.value_or(-1) == 2000);
  CHECK_FALSE(detect_collapse(moving_average(spike, 8), 100, 1000, 1).onset.has_value());
  std::vector<double> rise(30, 3.0);
  for (size_t k = 15; k < rise.size(); ++k) rise[k] = 9.0;
  // Trailing mean of 8: (3·(8-n) + 9·n)/8 > 6 first when n = 5, i.e. bucket 19.
  CHECK(detect_collapse(moving_average(rise, 8), 100, 1000, 1).onset.value_or(-1) == 1900);
  CHECK(moving_average({2, 4, 6}, 2) == std::vector<double>{2, 3, 5});
  CHECK(bucket_means({1, 2, 3, 4, 5}, 2) == std::vector<double>{1.5, 3.5, 5});
}

TEST_CASE("streamed per-token loss equals one pass and the model's cross-entropy") {
  Mamba2Model model = tiny_mamba2();
  const std::vector<TokenId> tokens = some_text(61);
  PositionLossOptions o;
  o.bucket = 1;
  o.smooth = 1;
  o.chunk = 10000;
  const PositionLossResult one = measure_position_loss(model, {tokens}, o, Mitigations{}, Device::cpu());
  o.chunk = 7;
  const PositionLossResult streamed = measure_position_loss(model, {tokens}, o, Mitigations{}, Device::cpu());
  REQUIRE(one.bucket_loss.size() == 60);
  REQUIRE(streamed.bucket_loss.size() == 60);
  for (size_t i = 0; i < 60; ++i) CHECK(streamed.bucket_loss[i] == doctest::Approx(one.bucket_loss[i]).epsilon(1e-4));
  autograd::NoGradGuard no_grad;
  std::vector<int64_t> ids(tokens.begin(), tokens.end());
  Tensor all = Tensor::from_vector(ids, {1, 61});
  Tensor logits = model.forward(ops::slice(all, 1, 0, 60), nullptr);
  Tensor ce = ops::cross_entropy(ops::reshape(logits, {60, -1}), ops::reshape(ops::slice(all, 1, 1, 61), {60}));
  double mean = 0;
  for (double l : one.bucket_loss) mean += l / 60;
  CHECK(mean == doctest::Approx(ce.item()).epsilon(1e-5));
}

TEST_CASE("buckets average over sequences; within/beyond split at the training length") {
  Mamba2Model model = tiny_mamba2();
  const std::vector<TokenId> a = some_text(41), text = some_text(60), b(text.begin() + 19, text.end());
  PositionLossOptions o;
  o.bucket = 8;
  o.smooth = 1;
  o.train_length = 16;
  const PositionLossResult ra = measure_position_loss(model, {a}, o, Mitigations{}, Device::cpu());
  const PositionLossResult rb = measure_position_loss(model, {b}, o, Mitigations{}, Device::cpu());
  const PositionLossResult both = measure_position_loss(model, {a, b}, o, Mitigations{}, Device::cpu());
  REQUIRE(both.bucket_loss.size() == 5);  // 40 predictions in buckets of 8
  for (size_t k = 0; k < 5; ++k) {
    CHECK(both.bucket_loss[k] == doctest::Approx((ra.bucket_loss[k] + rb.bucket_loss[k]) / 2));
  }
  CHECK(ra.loss_within == doctest::Approx((ra.bucket_loss[0] + ra.bucket_loss[1]) / 2));
  CHECK(ra.loss_beyond == doctest::Approx((ra.bucket_loss[2] + ra.bucket_loss[3] + ra.bucket_loss[4]) / 3));
  CHECK(both.sequences == 2);
}

TEST_CASE("per-token losses (ppl --per-token): every position once, the curve's bucket means, the model's losses") {
  Mamba2Model model = tiny_mamba2();
  const std::vector<TokenId> a = some_text(41), text = some_text(60), b(text.begin() + 19, text.end());
  const std::vector<std::vector<TokenId>> seqs = {a, b};
  PositionLossOptions o;
  o.bucket = 8;
  o.smooth = 1;
  o.chunk = 7;  // positions cross call boundaries
  struct Row {
    int64_t sequence, position;
    TokenId token, target;
    double loss;
  };
  std::vector<Row> rows;
  const TokenLossFn collect = [&](int64_t s, int64_t t, TokenId token, TokenId target, double loss) {
    rows.push_back({s, t, token, target, loss});
  };
  const PositionLossResult r = measure_position_loss(model, seqs, o, Mitigations{}, Device::cpu(), {}, collect);
  REQUIRE(rows.size() == 80);  // 40 predictions per sequence
  for (size_t i = 0; i < rows.size(); ++i) {
    const std::vector<TokenId>& seq = seqs[i / 40];
    const size_t t = i % 40;
    CHECK(rows[i].sequence == static_cast<int64_t>(i / 40));
    CHECK(rows[i].position == static_cast<int64_t>(t));
    CHECK(rows[i].token == seq[t]);
    CHECK(rows[i].target == seq[t + 1]);
  }
  // Averaged over a bucket (and the sequences), in the order they came: the curve, to the bit.
  REQUIRE(r.bucket_loss.size() == 5);
  for (size_t k = 0; k < 5; ++k) {
    double sum = 0, n = 0;
    for (const Row& row : rows) {
      if (row.position / 8 != static_cast<int64_t>(k)) continue;
      sum += row.loss;
      n += 1;
    }
    CHECK(sum / n == r.bucket_loss[k]);
  }
  // In one forward call from a zero state they are the model's own per-token cross-entropies.
  rows.clear();
  o.chunk = 10000;
  measure_position_loss(model, {a}, o, Mitigations{}, Device::cpu(), {}, collect);
  autograd::NoGradGuard no_grad;
  RecurrentState state = model.init_state(1, Device::cpu());
  const Tensor logits = model.forward(token_batch(a, 0, 40, Device::cpu()), &state, ForwardOptions{});
  const std::vector<double> want =
      ops::cross_entropy_per_token(ops::reshape(logits, {40, logits.size(-1)}),
                                   ops::reshape(token_batch(a, 1, 41, Device::cpu()), {40}))
          .to_vector<double>();
  REQUIRE(rows.size() == 40);
  for (size_t t = 0; t < 40; ++t) CHECK(rows[t].loss == want[t]);
}

TEST_CASE("streaming keeps memory flat and builds no autograd graph, however long the input") {
  Mamba2Model model = tiny_mamba2();
  for (const NamedParameter& p : model.named_parameters()) REQUIRE(p.tensor.requires_grad());
  const std::vector<TokenId> tokens = some_text(128 * 64 + 1);
  PositionLossOptions o;
  o.chunk = 128;
  std::vector<size_t> in_use;  // heap bytes in use after each forward call
  measure_position_loss(model, {tokens}, o, Mitigations{}, Device::cpu(), [&](int64_t, int64_t) {
    const struct mallinfo2 mi = mallinfo2();
    in_use.push_back(mi.uordblks + mi.hblkhd);
  });
  REQUIRE(in_use.size() == 64);
  // After a few warm-up calls the heap stays put: activations of earlier chunks are gone.
  const double growth = static_cast<double>(in_use.back()) - static_cast<double>(in_use[8]);
  MESSAGE("heap after call 8: " << in_use[8] << " bytes, after call 64: " << in_use.back() << " bytes");
  CHECK(growth < 64 * 1024);

  // The state a stream carries has no autograd history, nor do its logits.
  StateStream stream(model, Device::cpu(), Mitigations{}, 128);
  const Tensor logits = stream.feed(tokens, 0, 1000);
  CHECK(logits.grad_fn() == nullptr);
  CHECK_FALSE(logits.requires_grad());
  for (const LayerState& layer : stream.state().layers) {
    for (const auto& [name, t] : layer) CHECK(t.grad_fn() == nullptr);
  }
}

TEST_CASE("evaluation sequences: long documents alone, short ones concatenated with EOS, repeats") {
  const TokenId eos = 256;
  const std::vector<std::vector<TokenId>> docs = {{1, 2, 3, 4, 5, 6}, {7, 8}, {9, 10, 11}, {12, 13, 14, 15, 16}};
  const EvalSequences s = build_eval_sequences(docs, 5, 10, eos);
  REQUIRE(s.sequences.size() == 3);
  CHECK(s.sequences[0] == std::vector<TokenId>{1, 2, 3, 4, 5});             // cut to the length
  CHECK(s.sequences[1] == std::vector<TokenId>{7, 8, eos, 9, 10});          // joined with EOS
  CHECK(s.sequences[2] == std::vector<TokenId>{12, 13, 14, 15, 16});
  CHECK_FALSE(s.repeated);
  CHECK(build_eval_sequences(docs, 5, 2, eos).sequences.size() == 2);
  const EvalSequences r = build_eval_sequences({{1, 2}}, 7, 3, eos);
  REQUIRE(r.sequences.size() == 1);
  CHECK(r.sequences[0] == std::vector<TokenId>{1, 2, eos, 1, 2, eos, 1});
  CHECK(r.repeated);
  CHECK_THROWS_AS(build_eval_sequences({}, 5, 1, eos), UserError);
}

TEST_CASE("synthetic prompts are the authors' strings, repeated and cut to a length in tokens") {
  ByteTokenizer tok;
  CHECK(synthetic_prompt("newlines") == std::string(300000, '\n'));
  const std::string capital = synthetic_prompt("capital");
  CHECK(capital.rfind("The capital of China is Beijing. The capital of USA is Washington. ", 0) == 0);
  CHECK(capital.size() == 2000 * std::string("The capital of China is Beijing. The capital of USA is Washington. "
                                             "The capital of Norway is Oslo. ").size());
  const std::vector<TokenId> long_newlines = fit_to_length(tok, synthetic_prompt("newlines"), 700000);
  CHECK(long_newlines.size() == 700000);
  CHECK(std::all_of(long_newlines.begin(), long_newlines.end(), [](TokenId t) { return t == '\n'; }));
  CHECK(fit_to_length(tok, "abc", 7) == tok.encode("abcabca"));
  CHECK_THROWS_WITH_AS(synthetic_prompt("lines"), doctest::Contains("allowed: newlines, capital"), UserError);
}

TEST_CASE("corpora: .txt, .jsonl (\"text\"), directories; errors name the file and line") {
  const fs::path dir = fs::temp_directory_path() / "ssmlab_test_eval_text";
  fs::remove_all(dir);
  fs::create_directories(dir / "corpus");
  std::ofstream(dir / "corpus" / "b.txt") << "second";
  std::ofstream(dir / "corpus" / "a.jsonl") << "{\"text\": \"one\"}\n\n{\"raw_content\": \"two\"}\n";
  std::ofstream(dir / "corpus" / "ignored.csv") << "x";
  CHECK(read_documents((dir / "corpus").string()) == std::vector<std::string>{"one", "two", "second"});
  CHECK(read_documents((dir / "corpus" / "b.txt").string()) == std::vector<std::string>{"second"});
  std::ofstream(dir / "bad.jsonl") << "{\"text\": \"ok\"}\n{not json\n";
  CHECK_THROWS_WITH_AS(read_documents((dir / "bad.jsonl").string()), doctest::Contains("bad.jsonl' line 2"), UserError);
  std::ofstream(dir / "nofield.jsonl") << "{\"body\": \"x\"}\n";
  CHECK_THROWS_WITH_AS(read_documents((dir / "nofield.jsonl").string()), doctest::Contains("no string field"),
                       UserError);
  CHECK_THROWS_WITH_AS(read_documents((dir / "missing").string()), doctest::Contains("does not exist"), UserError);
}
