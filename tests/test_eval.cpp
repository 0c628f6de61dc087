// tests/test_eval.cpp — the long-context measurements: collapse detection on synthetic curves,
// bucketing, streamed per-token loss == one pass, greedy decoding == argmax of the full forward,
// passkey grid bookkeeping, state statistics, and well-formed SVG.
#include <cmath>

#include "autograd/grad_mode.h"
#include "eval/long_context.h"
#include "eval/plots.h"
#include "models/mamba2.h"
#include "ops/ops.h"
#include "testing.h"

using namespace ssm;

namespace {

Mamba2Model tiny_model() {
  ModelConfig cfg;
  cfg.d_model = 16;
  cfg.n_layer = 2;
  cfg.d_state = 8;
  cfg.headdim = 8;
  cfg.chunk_size = 8;
  return Mamba2Model(cfg, 258, 5);
}

std::vector<TokenId> some_text(size_t n) {
  ByteTokenizer tok;
  std::string text;
  while (text.size() < n) text += "The grass is green. The sky is blue. ";
  text.resize(n);
  return tok.encode(text);
}

}  // namespace

TEST_CASE("collapse detection follows the paper's 2x rule") {
  const int64_t bucket = 100, train = 1000;
  std::vector<double> flat(30, 3.0);
  CHECK_FALSE(collapse_onset(flat, bucket, train).has_value());
  std::vector<double> noisy = flat;
  for (size_t k = 0; k < noisy.size(); ++k) noisy[k] += (k % 3) * 0.5;  // max 4.0 inside, never > 8
  CHECK_FALSE(collapse_onset(noisy, bucket, train).has_value());
  std::vector<double> jump = flat;
  for (size_t k = 15; k < jump.size(); ++k) jump[k] = 7.0;  // 7 > 2 x 3 from position 1500
  REQUIRE(collapse_onset(jump, bucket, train).has_value());
  CHECK(*collapse_onset(jump, bucket, train) == 1500);
  std::vector<double> early = flat;
  early[3] = 9.0;  // a spike inside the training length raises the baseline instead
  for (size_t k = 15; k < early.size(); ++k) early[k] = 7.0;
  CHECK_FALSE(collapse_onset(early, bucket, train).has_value());
}

TEST_CASE("smoothing keeps a lone spike from reading as a collapse, but not a sustained rise") {
  std::vector<double> spike(30, 3.0);
  spike[20] = 10.0;  // one hard bucket
  CHECK(collapse_onset(spike, 100, 1000).value_or(-1) == 2000);
  CHECK_FALSE(collapse_onset(moving_average(spike, 8), 100, 1000).has_value());
  std::vector<double> rise(30, 3.0);
  for (size_t k = 15; k < rise.size(); ++k) rise[k] = 9.0;
  // Trailing mean of 8: (3·(8-n) + 9·n)/8 > 6 first when n = 5, i.e. bucket 19.
  CHECK(collapse_onset(moving_average(rise, 8), 100, 1000).value_or(-1) == 1900);
  CHECK(moving_average({2, 4, 6}, 2) == std::vector<double>{2, 3, 5});
}

TEST_CASE("bucket means, with a partial last bucket") {
  std::vector<double> m = bucket_means({1, 2, 3, 4, 5}, 2);
  CHECK(m == std::vector<double>{1.5, 3.5, 5});
}

TEST_CASE("per-token loss streamed in chunks equals one pass, and matches cross-entropy") {
  Mamba2Model model = tiny_model();
  const std::vector<TokenId> tokens = some_text(61);
  const std::vector<double> one = per_token_loss(model, tokens, 10000, Device::cpu());
  const std::vector<double> streamed = per_token_loss(model, tokens, 7, Device::cpu());
  REQUIRE(one.size() == 60);
  REQUIRE(streamed.size() == 60);
  for (size_t i = 0; i < one.size(); ++i) CHECK(streamed[i] == doctest::Approx(one[i]).epsilon(1e-4));
  autograd::NoGradGuard no_grad;
  std::vector<int64_t> ids(tokens.begin(), tokens.end());
  Tensor all = Tensor::from_vector(ids, {1, 61});
  Tensor logits = model.forward(ops::slice(all, 1, 0, 60), nullptr);
  Tensor ce = ops::cross_entropy(ops::reshape(logits, {60, -1}), ops::reshape(ops::slice(all, 1, 1, 61), {60}));
  double mean = 0;
  for (double l : one) mean += l / 60;
  CHECK(mean == doctest::Approx(ce.item()).epsilon(1e-4));
}

TEST_CASE("greedy decoding agrees with the argmax of the full forward pass") {
  Mamba2Model model = tiny_model();
  const std::vector<TokenId> prompt = some_text(23);
  const std::vector<TokenId> gen = greedy_generate(model, prompt, 4, 5, Device::cpu());
  REQUIRE(gen.size() == 4);
  autograd::NoGradGuard no_grad;
  std::vector<TokenId> seq = prompt;
  for (int i = 0; i < 4; ++i) {
    std::vector<int64_t> ids(seq.begin(), seq.end());
    Tensor logits = model.forward(Tensor::from_vector(ids, {1, static_cast<int64_t>(ids.size())}), nullptr);
    std::vector<float> last = ops::slice(logits, 1, logits.size(1) - 1, logits.size(1)).to_vector<float>();
    const TokenId best = static_cast<TokenId>(std::max_element(last.begin(), last.end()) - last.begin());
    CHECK(gen[i] == best);
    seq.push_back(best);
  }
}

TEST_CASE("passkey runner: depths, grid shape and per-length accuracy bookkeeping") {
  Mamba2Model model = tiny_model();
  ByteTokenizer tok;
  PasskeyOptions o;
  o.lengths = {240, 300};
  o.samples_per_length = 4;
  o.depth_bins = 2;
  PasskeyResult r = run_passkey(model, tok, o, Device::cpu());
  REQUIRE(r.samples.size() == 8);
  CHECK(r.samples[0].depth == doctest::Approx(0.125));
  CHECK(r.samples[3].depth == doctest::Approx(0.875));
  for (const PasskeySample& s : r.samples) {
    CHECK(s.tokens <= s.length);
    CHECK(s.key.size() == 5);
    CHECK(s.correct == (s.generated.find(s.key) != std::string::npos));
  }
  REQUIRE(r.accuracy_grid.size() == 2);
  CHECK(r.accuracy_grid[0].size() == 2);
  CHECK(r.accuracy_by_length.size() == 2);
  // The same seed gives the same keys.
  PasskeyResult again = run_passkey(model, tok, o, Device::cpu());
  CHECK(again.samples[5].key == r.samples[5].key);
}

TEST_CASE("state statistics: one row per reading, layer and head, consistent moments") {
  Mamba2Model model = tiny_model();
  const std::vector<TokenId> tokens = some_text(50);
  std::vector<StateStatRow> rows = state_statistics(model, tokens, 16, Device::cpu());
  // 4 readings (16, 32, 48, 50 tokens) x 2 layers x 4 heads.
  REQUIRE(rows.size() == 4 * 2 * 4);
  CHECK(rows.back().position == 50);
  for (const StateStatRow& s : rows) {
    CHECK(s.frobenius == doctest::Approx(s.rms * std::sqrt(8.0 * 8.0)));
    CHECK(s.variance >= 0);
    CHECK(s.rms * s.rms >= s.mean * s.mean - 1e-12);
  }
  CHECK(rows[0].frobenius > 0);
}

TEST_CASE("SVG output is well formed and names its series") {
  LinePlot p{"loss <by> position", "t", "loss", {{"layer 0", {{0, 1}, {10, 2}}}, {"layer 1", {{0, 3}, {10, 1}}}}};
  p.marker_x = 5;
  p.marker_label = "training length";
  const std::string svg = p.to_svg();
  CHECK(svg.rfind("<svg", 0) == 0);
  CHECK(svg.find("</svg>") != std::string::npos);
  CHECK(svg.find("layer 1") != std::string::npos);
  CHECK(svg.find("loss &lt;by&gt; position") != std::string::npos);
  CHECK(std::count(svg.begin(), svg.end(), '<') == std::count(svg.begin(), svg.end(), '>'));
  Heatmap h{"acc", "L", "depth", {"1K", "2K"}, {"0.5", "1.0"}, {{1.0, std::nan("")}, {0.0, 0.5}}};
  const std::string hs = h.to_svg();
  CHECK(hs.find("#eeeeee") != std::string::npos);  // the empty cell
  // 4 cells + 11 colour-bar steps + the background.
  size_t rects = 0;
  for (size_t at = hs.find("<rect"); at != std::string::npos; at = hs.find("<rect", at + 1)) ++rects;
  CHECK(rects == 4 + 11 + 1);
}
