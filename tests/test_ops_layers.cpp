// tests/test_ops_layers.cpp — softmax, cross-entropy, embedding, the norms and the causal conv:
// f64 gradient checks on awkward sizes, values against hand computations, conv streaming with
// its state, and errors that name the op.
#include <cmath>

#include "autograd/grad_mode.h"
#include "ops/ops.h"
#include "testing.h"

using namespace ssm;
using testing::leaf64;
using Inputs = std::vector<Tensor>;

TEST_CASE("softmax and log_softmax") {
  SUBCASE("gradcheck B2 T3 C5 over the last and a middle dim") {
    CHECK_GRADCHECK([](const Inputs& in) {
      return Inputs{ops::softmax(in[0], -1), ops::log_softmax(in[0], -1), ops::softmax(in[0], 1)};
    }, Inputs{leaf64({2, 3, 5}, 1)});
  }
  SUBCASE("values of a known row") {
    Tensor x = Tensor::from_vector<double>({0, std::log(3.0)}, {1, 2});
    std::vector<double> p = ops::softmax(x).to_vector<double>();
    CHECK(p[0] == doctest::Approx(0.25));
    CHECK(p[1] == doctest::Approx(0.75));
    CHECK(ops::log_softmax(x).to_vector<double>()[0] == doctest::Approx(std::log(0.25)));
  }
}

TEST_CASE("cross-entropy") {
  Tensor logits = leaf64({4, 7}, 2);
  Tensor targets = Tensor::from_vector<int64_t>({3, -100, 0, 6}, {4});
  SUBCASE("gradcheck N4 V7 with an ignored target") {
    CHECK_GRADCHECK([targets](const Inputs& in) {
      return Inputs{ops::cross_entropy(in[0], targets), ops::cross_entropy_per_token(in[0], targets)};
    }, Inputs{logits});
  }
  SUBCASE("value: mean over the scored targets only") {
    autograd::NoGradGuard no_grad;
    std::vector<double> lsm = ops::log_softmax(logits).to_vector<double>();
    const double expected = -(lsm[0 * 7 + 3] + lsm[2 * 7 + 0] + lsm[3 * 7 + 6]) / 3;
    CHECK(ops::cross_entropy(logits, targets).item() == doctest::Approx(expected));
    CHECK(ops::cross_entropy_per_token(logits, targets).to_vector<double>()[1] == 0.0);
  }
  SUBCASE("out-of-range target names the op") {
    Tensor bad = Tensor::from_vector<int64_t>({3, 7, 0, 1}, {4});
    CHECK_THROWS_WITH_AS(ops::cross_entropy(logits, bad), doctest::Contains("cross_entropy: target 7 out of range"),
                         UserError);
  }
}

TEST_CASE("embedding") {
  Tensor w = leaf64({5, 3}, 3);
  Tensor ids = Tensor::from_vector<int64_t>({4, 0, 4, 2, 1, 4}, {2, 3});
  SUBCASE("gradcheck V5 D3 with repeated ids") {
    CHECK_GRADCHECK([ids](const Inputs& in) { return Inputs{ops::embedding(in[0], ids)}; }, Inputs{w});
  }
  SUBCASE("rows are copied") {
    Tensor out = ops::embedding(w, ids);
    CHECK(out.shape() == Shape{2, 3, 3});
    CHECK(ops::slice(ops::slice(out, 0, 0, 1), 1, 0, 1).to_vector<double>() ==
          ops::slice(w, 0, 4, 5).to_vector<double>());
  }
  SUBCASE("out-of-range id") {
    CHECK_THROWS_WITH_AS(ops::embedding(w, Tensor::from_vector<int64_t>({5}, {1})),
                         doctest::Contains("embedding: id 5 out of range [0, 5)"), UserError);
  }
}

TEST_CASE("RMSNorm, gated RMSNorm, LayerNorm") {
  SUBCASE("gradcheck rms_norm B2 T3 C5") {
    CHECK_GRADCHECK([](const Inputs& in) { return Inputs{ops::rms_norm(in[0], in[1], 1e-5)}; },
                    Inputs{leaf64({2, 3, 5}, 4), leaf64({5}, 5, 0.3, 1.0)});
  }
  SUBCASE("gradcheck gated_rms_norm T4 C6 in groups of 3") {
    CHECK_GRADCHECK([](const Inputs& in) { return Inputs{ops::gated_rms_norm(in[0], in[1], in[2], 1e-5, 3)}; },
                    Inputs{leaf64({4, 6}, 6), leaf64({4, 6}, 7), leaf64({6}, 8, 0.3, 1.0)});
  }
  SUBCASE("gradcheck layer_norm T3 C5") {
    CHECK_GRADCHECK([](const Inputs& in) { return Inputs{ops::layer_norm(in[0], in[1], in[2], 1e-5)}; },
                    Inputs{leaf64({3, 5}, 9), leaf64({5}, 10, 0.3, 1.0), leaf64({5}, 11)});
  }
  SUBCASE("values: rms of (3, 4) with eps 0 is sqrt(12.5); gated norm groups are independent") {
    Tensor x = Tensor::from_vector<double>({3, 4}, {1, 2});
    Tensor one = Tensor::from_vector<double>({1, 1}, {2});
    std::vector<double> y = ops::rms_norm(x, one, 0.0).to_vector<double>();
    CHECK(y[0] == doctest::Approx(3 / std::sqrt(12.5)));
    // z large: silu(z) ≈ z, so each group of 1 normalises to sign(x·z) = ±1.
    Tensor g = ops::gated_rms_norm(Tensor::from_vector<double>({2, -3}, {1, 2}),
                                   Tensor::from_vector<double>({30, 30}, {1, 2}), one, 0.0, 1);
    CHECK(g.to_vector<double>()[0] == doctest::Approx(1.0));
    CHECK(g.to_vector<double>()[1] == doctest::Approx(-1.0));
    std::vector<double> ln = ops::layer_norm(x, one, Tensor::from_vector<double>({0, 0}, {2}), 0.0).to_vector<double>();
    CHECK(ln[0] == doctest::Approx(-1.0));
    CHECK(ln[1] == doctest::Approx(1.0));
  }
  SUBCASE("bad group size names the op") {
    CHECK_THROWS_WITH_AS(ops::gated_rms_norm(leaf64({2, 6}, 1), leaf64({2, 6}, 2), leaf64({6}, 3), 1e-5, 4),
                         doctest::Contains("gated_rms_norm: group size 4"), UserError);
  }
}

TEST_CASE("causal depthwise conv1d with state in and out") {
  Tensor x = leaf64({2, 7, 5}, 12), w = leaf64({5, 4}, 13), b = leaf64({5}, 14), s = leaf64({2, 3, 5}, 15);
  SUBCASE("gradcheck B2 T7 C5 W4 through y and the new state") {
    CHECK_GRADCHECK([](const Inputs& in) {
      ops::ConvResult r = ops::causal_conv1d(in[0], in[1], in[2], in[3]);
      return Inputs{r.y, r.state};
    }, Inputs{x, w, b, s});
  }
  SUBCASE("gradcheck T2 < W-1 without bias or state") {
    CHECK_GRADCHECK([](const Inputs& in) {
      ops::ConvResult r = ops::causal_conv1d(in[0], in[1], Tensor(), Tensor());
      return Inputs{r.y, r.state};
    }, Inputs{leaf64({1, 2, 3}, 16), leaf64({3, 4}, 17)});
  }
  SUBCASE("value: tap W-1 multiplies the current token") {
    Tensor xi = Tensor::from_vector<double>({1, 2, 3}, {1, 3, 1});
    Tensor wi = Tensor::from_vector<double>({10, 100}, {1, 2});
    ops::ConvResult r = ops::causal_conv1d(xi, wi, Tensor(), Tensor());
    CHECK(r.y.to_vector<double>() == std::vector<double>{100, 210, 320});
    CHECK(r.state.to_vector<double>() == std::vector<double>{3});
  }
  SUBCASE("streamed in pieces 3 + 1 + 3 equals the whole") {
    autograd::NoGradGuard no_grad;
    ops::ConvResult whole = ops::causal_conv1d(x, w, b, s);
    Tensor state = s;
    std::vector<Tensor> ys;
    for (auto [a, e] : std::vector<std::pair<int64_t, int64_t>>{{0, 3}, {3, 4}, {4, 7}}) {
      ops::ConvResult r = ops::causal_conv1d(ops::slice(x, 1, a, e), w, b, state);
      ys.push_back(r.y);
      state = r.state;
    }
    CHECK_CLOSE("y", ops::concat(ys, 1), whole.y, 1e-14);
    CHECK_CLOSE("state", state, whole.state, 1e-14);
  }
  SUBCASE("bad state shape names the op") {
    CHECK_THROWS_WITH_AS(ops::causal_conv1d(x, w, b, leaf64({2, 2, 5}, 1)),
                         doctest::Contains("causal_conv1d: state has shape (2, 2, 5), expected (2, 3, 5)"), UserError);
  }
}
