// tests/ops/test_ops_layers.cpp — softmax, cross-entropy, embedding, the norms and the causal conv:
// f64 gradient checks on awkward sizes, values against hand computations, f32 against f64, conv
// streaming with its state, and errors that name the op; the f32 exp of the row kernels.
#include <cmath>
#include <functional>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "ops/cpu/fast_exp.h"  // defines: fast_exp
#include "ops/ops.h"
#include "tests/support/testing.h"

using namespace ssm;
using testing::leaf64;
using Inputs = std::vector<Tensor>;

namespace {

double silu(double v) { return v / (1.0 + std::exp(-v)); }

// The conv written straight from the spec, independent of the kernel: y (B, T, C) and the last
// W-1 entries of xpad = [state or zeros; x] along time.
ops::ConvResult conv_by_definition(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& state) {
  const int64_t B = x.size(0), T = x.size(1), C = x.size(2), W = w.size(1), S = W - 1;
  std::vector<double> xv = x.to_vector<double>(), wv = w.to_vector<double>();
  std::vector<double> bv = bias.defined() ? bias.to_vector<double>() : std::vector<double>(C, 0.0);
  std::vector<double> sv = state.defined() ? state.to_vector<double>() : std::vector<double>(B * S * C, 0.0);
  auto xpad = [&](int64_t b, int64_t u, int64_t c) {
    return u < S ? sv[(b * S + u) * C + c] : xv[(b * T + u - S) * C + c];
  };
  std::vector<double> y(B * T * C), s_out(B * S * C);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t c = 0; c < C; ++c) {
      for (int64_t t = 0; t < T; ++t) {
        double acc = bv[c];
        for (int64_t k = 0; k < W; ++k) acc += wv[c * W + k] * xpad(b, t + k, c);
        y[(b * T + t) * C + c] = acc;
      }
      for (int64_t u = 0; u < S; ++u) s_out[(b * S + u) * C + c] = xpad(b, T + u, c);
    }
  }
  return {Tensor::from_vector<double>(y, {B, T, C}), Tensor::from_vector<double>(s_out, {B, S, C})};
}

Tensor to_f32(const Tensor& t) { return ops::cast(t.detach(), Dtype::f32); }

}  // namespace

TEST_CASE("softmax and log_softmax") {
  SUBCASE("gradcheck B2 T3 C5 over the last, a middle and the first dim") {
    CHECK_GRADCHECK([](const Inputs& in) {
      return Inputs{ops::softmax(in[0], -1), ops::log_softmax(in[0], -1), ops::softmax(in[0], 1),
                    ops::log_softmax(in[0], 0)};
    }, Inputs{leaf64({2, 3, 5}, 1)});
  }
  SUBCASE("gradcheck of a transposed (non-contiguous) input T4 C3") {
    CHECK_GRADCHECK([](const Inputs& in) { return Inputs{ops::softmax(ops::transpose(in[0], 0, 1), -1)}; },
                    Inputs{leaf64({4, 3}, 2)});
  }
  SUBCASE("values of a known row") {
    Tensor x = Tensor::from_vector<double>({0, std::log(3.0)}, {1, 2});
    std::vector<double> p = ops::softmax(x).to_vector<double>();
    CHECK(p[0] == doctest::Approx(0.25));
    CHECK(p[1] == doctest::Approx(0.75));
    CHECK(ops::log_softmax(x).to_vector<double>()[0] == doctest::Approx(std::log(0.25)));
  }
  SUBCASE("values over dim 0 normalise columns") {
    // column 0: (0, log 3) -> (1/4, 3/4); column 1: (5, 5) -> (1/2, 1/2)
    Tensor x = Tensor::from_vector<double>({0, 5, std::log(3.0), 5}, {2, 2});
    std::vector<double> p = ops::softmax(x, 0).to_vector<double>();
    CHECK(p[0] == doctest::Approx(0.25));
    CHECK(p[1] == doctest::Approx(0.5));
    CHECK(p[2] == doctest::Approx(0.75));
    CHECK(p[3] == doctest::Approx(0.5));
  }
  SUBCASE("large logits do not overflow") {
    Tensor x = Tensor::from_vector<float>({1000.f, 1000.f}, {1, 2});
    CHECK(ops::softmax(x).to_vector<float>() == std::vector<float>{0.5f, 0.5f});
  }
  SUBCASE("f32 agrees with f64 on B3 C7") {
    Tensor x = leaf64({3, 7}, 3);
    CHECK_CLOSE("softmax f32", ops::softmax(to_f32(x)), ops::softmax(x.detach()), 1e-6);
    CHECK_CLOSE("log_softmax f32", ops::log_softmax(to_f32(x)), ops::log_softmax(x.detach()), 1e-6);
  }
  SUBCASE("a bad dim names the op") {
    CHECK_THROWS_WITH_AS(ops::softmax(leaf64({2, 3}, 4), 2), doctest::Contains("softmax"), UserError);
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
  SUBCASE("gradcheck N3 V5 with i32 targets and ignore_index 2") {
    Tensor t32 = Tensor::from_vector<int32_t>({2, 4, 0}, {3});
    CHECK_GRADCHECK([t32](const Inputs& in) { return Inputs{ops::cross_entropy(in[0], t32, 2)}; },
                    Inputs{leaf64({3, 5}, 5)});
  }
  SUBCASE("value of a known row: logits (0, log 3), target 1 -> -log(3/4)") {
    Tensor l = Tensor::from_vector<double>({0, std::log(3.0), 0, std::log(3.0)}, {2, 2});
    Tensor t = Tensor::from_vector<int64_t>({1, -100}, {2});
    CHECK(ops::cross_entropy(l, t).item() == doctest::Approx(-std::log(0.75)));
    std::vector<double> per = ops::cross_entropy_per_token(l, t).to_vector<double>();
    CHECK(per[0] == doctest::Approx(-std::log(0.75)));
    CHECK(per[1] == 0.0);
  }
  SUBCASE("value: mean over the scored targets only") {
    autograd::NoGradGuard no_grad;
    std::vector<double> lsm = ops::log_softmax(logits).to_vector<double>();
    const double expected = -(lsm[0 * 7 + 3] + lsm[2 * 7 + 0] + lsm[3 * 7 + 6]) / 3;
    CHECK(ops::cross_entropy(logits, targets).item() == doctest::Approx(expected));
    CHECK(ops::cross_entropy_per_token(logits, targets).to_vector<double>()[1] == 0.0);
  }
  SUBCASE("all targets ignored: loss 0 and a zero gradient") {
    Tensor l = leaf64({2, 3}, 6);
    Tensor loss = ops::cross_entropy(l, Tensor::from_vector<int64_t>({-100, -100}, {2}));
    CHECK(loss.item() == 0.0);
    autograd::backward(loss);
    CHECK(l.grad().to_vector<double>() == std::vector<double>(6, 0.0));
  }
  SUBCASE("f32 agrees with f64 on N5 V11") {
    Tensor l = leaf64({5, 11}, 7, 3.0);
    Tensor t = Tensor::from_vector<int64_t>({10, 0, 5, -100, 3}, {5});
    CHECK_CLOSE("per-token f32", ops::cross_entropy_per_token(to_f32(l), t),
                ops::cross_entropy_per_token(l.detach(), t), 1e-6);
  }
  SUBCASE("f32 gradient agrees with f64 on N6 V300 (the vectorised rows, a length past any vector)") {
    Tensor l64 = leaf64({6, 300}, 8, 4.0);
    Tensor l32 = to_f32(l64);
    l32.set_requires_grad(true);
    Tensor t = Tensor::from_vector<int64_t>({299, 0, -100, 150, 7, 64}, {6});
    autograd::backward(ops::cross_entropy(l64, t));
    autograd::backward(ops::cross_entropy(l32, t));
    CHECK_CLOSE("d logits f32", l32.grad(), l64.grad(), 1e-6);
    CHECK_CLOSE("softmax f32 V300", ops::softmax(to_f32(l64)), ops::softmax(l64.detach()), 1e-6);
  }
  SUBCASE("out-of-range targets name the op, the id and V") {
    CHECK_THROWS_WITH_AS(ops::cross_entropy(logits, Tensor::from_vector<int64_t>({3, 7, 0, 1}, {4})),
                         doctest::Contains("cross_entropy: target 7 out of range [0, 7)"), UserError);
    CHECK_THROWS_WITH_AS(ops::cross_entropy_per_token(logits, Tensor::from_vector<int64_t>({-1, 0, 0, 1}, {4})),
                         doctest::Contains("cross_entropy_per_token: target -1 out of range [0, 7)"), UserError);
  }
  SUBCASE("mismatched shapes and float targets name the op") {
    CHECK_THROWS_WITH_AS(ops::cross_entropy(logits, Tensor::from_vector<int64_t>({1, 2}, {2})),
                         doctest::Contains("cross_entropy: targets (2) do not match logits (4, 7)"), UserError);
    CHECK_THROWS_WITH_AS(ops::cross_entropy(logits, leaf64({4}, 8)),
                         doctest::Contains("cross_entropy: target must be i32 or i64"), UserError);
    CHECK_THROWS_WITH_AS(ops::cross_entropy(leaf64({2, 3, 4}, 9), targets),
                         doctest::Contains("cross_entropy: logits must be (N, V), got (2, 3, 4)"), UserError);
  }
}

TEST_CASE("embedding") {
  Tensor w = leaf64({5, 3}, 3);
  Tensor ids = Tensor::from_vector<int64_t>({4, 0, 4, 2, 1, 4}, {2, 3});
  SUBCASE("gradcheck V5 D3 with repeated ids") {
    CHECK_GRADCHECK([ids](const Inputs& in) { return Inputs{ops::embedding(in[0], ids)}; }, Inputs{w});
  }
  SUBCASE("rows are copied; i32 ids give the same result") {
    Tensor out = ops::embedding(w, ids);
    CHECK(out.shape() == Shape{2, 3, 3});
    CHECK(ops::slice(ops::slice(out, 0, 0, 1), 1, 0, 1).to_vector<double>() ==
          ops::slice(w, 0, 4, 5).to_vector<double>());
    Tensor ids32 = Tensor::from_vector<int32_t>({4, 0, 4, 2, 1, 4}, {2, 3});
    CHECK(ops::embedding(w, ids32).to_vector<double>() == out.to_vector<double>());
  }
  SUBCASE("gradient: a row used three times gets three upstream rows, unused rows get zero") {
    Tensor wl = leaf64({5, 3}, 4);
    autograd::backward(ops::sum_all(ops::embedding(wl, ids)));
    std::vector<double> g = wl.grad().to_vector<double>();
    CHECK(std::vector<double>(g.begin() + 12, g.end()) == std::vector<double>{3, 3, 3});
    CHECK(std::vector<double>(g.begin() + 9, g.begin() + 12) == std::vector<double>{0, 0, 0});
  }
  SUBCASE("out-of-range ids name the op, the id and V") {
    CHECK_THROWS_WITH_AS(ops::embedding(w, Tensor::from_vector<int64_t>({5}, {1})),
                         doctest::Contains("embedding: id 5 out of range [0, 5)"), UserError);
    CHECK_THROWS_WITH_AS(ops::embedding(w, Tensor::from_vector<int64_t>({0, -1}, {2})),
                         doctest::Contains("embedding: id -1 out of range [0, 5)"), UserError);
  }
}

TEST_CASE("RMSNorm, gated RMSNorm, LayerNorm") {
  SUBCASE("gradcheck rms_norm B2 T3 C5") {
    CHECK_GRADCHECK([](const Inputs& in) { return Inputs{ops::rms_norm(in[0], in[1], 1e-5)}; },
                    Inputs{leaf64({2, 3, 5}, 4), leaf64({5}, 5, 0.3, 1.0)});
  }
  SUBCASE("gradcheck rms_norm T4 C3 with a non-contiguous upstream gradient") {
    CHECK_GRADCHECK([](const Inputs& in) { return Inputs{ops::transpose(ops::rms_norm(in[0], in[1], 1e-5), 0, 1)}; },
                    Inputs{leaf64({4, 3}, 12), leaf64({3}, 13, 0.3, 1.0)});
  }
  SUBCASE("gradcheck gated_rms_norm T4 C6 in groups of 3") {
    CHECK_GRADCHECK([](const Inputs& in) { return Inputs{ops::gated_rms_norm(in[0], in[1], in[2], 1e-5, 3)}; },
                    Inputs{leaf64({4, 6}, 6), leaf64({4, 6}, 7), leaf64({6}, 8, 0.3, 1.0)});
  }
  SUBCASE("gradcheck gated_rms_norm B2 T3 C5 in one group of 5") {
    CHECK_GRADCHECK([](const Inputs& in) { return Inputs{ops::gated_rms_norm(in[0], in[1], in[2], 1e-5, 5)}; },
                    Inputs{leaf64({2, 3, 5}, 14), leaf64({2, 3, 5}, 15), leaf64({5}, 16, 0.3, 1.0)});
  }
  SUBCASE("gradcheck group_norm B2 T3 C6 in 3 groups") {
    CHECK_GRADCHECK([](const Inputs& in) { return Inputs{ops::group_norm(in[0], in[1], in[2], 3, 64e-5)}; },
                    Inputs{leaf64({2, 3, 6}, 17), leaf64({6}, 18, 0.3, 1.0), leaf64({6}, 19)});
  }
  SUBCASE("group_norm normalises each group on its own: GN(x/8, eps) == GN(x, 64·eps)") {
    Tensor x = leaf64({3, 8}, 20, 2.0);
    Tensor w = leaf64({8}, 21, 0.3, 1.0), b = leaf64({8}, 22);
    Tensor y = ops::group_norm(x, w, b, 2, 64e-5);
    CHECK_CLOSE("GN(x/8, 1e-5) vs GN(x, 64e-5)", ops::group_norm(x * 0.125, w, b, 2, 1e-5), y, 1e-12);
    // A group's output depends on that group's inputs only.
    Tensor x2 = x.detach().clone_contiguous();
    x2.data<double>()[0] += 5.0;  // group 0 of row 0
    std::vector<double> y2 = ops::group_norm(x2, w, b, 2, 64e-5).to_vector<double>(), y1 = y.to_vector<double>();
    for (int i = 4; i < 8; ++i) CHECK(y2[i] == y1[i]);
    CHECK(y2[1] != y1[1]);
  }
  SUBCASE("gradcheck layer_norm T3 C5") {
    CHECK_GRADCHECK([](const Inputs& in) { return Inputs{ops::layer_norm(in[0], in[1], in[2], 1e-5)}; },
                    Inputs{leaf64({3, 5}, 9), leaf64({5}, 10, 0.3, 1.0), leaf64({5}, 11)});
  }
  SUBCASE("value: rms of (3, 4) with eps 0 is sqrt(12.5), then scaled by the weight") {
    Tensor x = Tensor::from_vector<double>({3, 4}, {1, 2});
    Tensor w = Tensor::from_vector<double>({2, -1}, {2});
    std::vector<double> y = ops::rms_norm(x, w, 0.0).to_vector<double>();
    CHECK(y[0] == doctest::Approx(2 * 3 / std::sqrt(12.5)));
    CHECK(y[1] == doctest::Approx(-4 / std::sqrt(12.5)));
  }
  SUBCASE("value: gated norm C4 in 2 groups normalises each group by its own rms") {
    const std::vector<double> xv{1, 2, -3, 0.5}, zv{0.5, -1, 2, 1}, wv{1, 2, 3, 4};
    std::vector<double> u(4);
    for (int i = 0; i < 4; ++i) u[i] = xv[i] * silu(zv[i]);
    const double rms0 = std::sqrt((u[0] * u[0] + u[1] * u[1]) / 2);
    const double rms1 = std::sqrt((u[2] * u[2] + u[3] * u[3]) / 2);
    std::vector<double> y = ops::gated_rms_norm(Tensor::from_vector<double>(xv, {1, 4}),
                                                Tensor::from_vector<double>(zv, {1, 4}),
                                                Tensor::from_vector<double>(wv, {4}), 0.0, 2)
                                .to_vector<double>();
    CHECK(y[0] == doctest::Approx(u[0] / rms0 * 1));
    CHECK(y[1] == doctest::Approx(u[1] / rms0 * 2));
    CHECK(y[2] == doctest::Approx(u[2] / rms1 * 3));
    CHECK(y[3] == doctest::Approx(u[3] / rms1 * 4));
  }
  SUBCASE("value: layer_norm of (1, 2, 6) uses the biased variance") {
    // mean 3, biased variance (4 + 1 + 9)/3 = 14/3
    Tensor x = Tensor::from_vector<double>({1, 2, 6}, {1, 3});
    Tensor w = Tensor::from_vector<double>({1, 1, 2}, {3}), b = Tensor::from_vector<double>({0, 1, 0}, {3});
    std::vector<double> y = ops::layer_norm(x, w, b, 0.0).to_vector<double>();
    const double sd = std::sqrt(14.0 / 3);
    CHECK(y[0] == doctest::Approx(-2 / sd));
    CHECK(y[1] == doctest::Approx(-1 / sd + 1));
    CHECK(y[2] == doctest::Approx(2 * 3 / sd));
  }
  SUBCASE("f32 agrees with f64 on T3 C6") {
    Tensor x = leaf64({3, 6}, 17), z = leaf64({3, 6}, 18), w = leaf64({6}, 19, 0.3, 1.0), b = leaf64({6}, 20);
    CHECK_CLOSE("rms_norm f32", ops::rms_norm(to_f32(x), to_f32(w), 1e-5), ops::rms_norm(x.detach(), w.detach(), 1e-5),
                1e-6);
    CHECK_CLOSE("gated f32", ops::gated_rms_norm(to_f32(x), to_f32(z), to_f32(w), 1e-5, 3),
                ops::gated_rms_norm(x.detach(), z.detach(), w.detach(), 1e-5, 3), 1e-6);
    CHECK_CLOSE("layer_norm f32", ops::layer_norm(to_f32(x), to_f32(w), to_f32(b), 1e-5),
                ops::layer_norm(x.detach(), w.detach(), b.detach(), 1e-5), 1e-6);
  }
  SUBCASE("f32 gradients agree with f64: gated R130 C96 groups of 48, rms R130 C40 (row blocks of 64 and a rest)") {
    auto grads_of = [](Dtype dtype, bool gated) {
      Tensor x = ops::cast(leaf64({130, gated ? 96 : 40}, 21).detach(), dtype);
      Tensor z = ops::cast(leaf64({130, 96}, 22).detach(), dtype);
      Tensor w = ops::cast(leaf64({gated ? 96 : 40}, 23, 0.3, 1.0).detach(), dtype);
      for (Tensor* t : {&x, &z, &w}) t->set_requires_grad(true);
      Tensor y = gated ? ops::gated_rms_norm(x, z, w, 1e-5, 48) : ops::rms_norm(x, w, 1e-5);
      autograd::backward(ops::sum_all(y * ops::cast(leaf64(y.shape(), 24).detach(), dtype)));
      return gated ? std::vector<Tensor>{x.grad(), z.grad(), w.grad()} : std::vector<Tensor>{x.grad(), w.grad()};
    };
    for (const bool gated : {true, false}) {
      const std::vector<Tensor> g32 = grads_of(Dtype::f32, gated), g64 = grads_of(Dtype::f64, gated);
      for (size_t i = 0; i < g32.size(); ++i) {
        CHECK_CLOSE((gated ? "gated d" : "rms d") + std::to_string(i), ops::cast(g32[i], Dtype::f64), g64[i], 1e-6);
      }
    }
  }
  SUBCASE("bad shapes and dtypes name the op") {
    CHECK_THROWS_WITH_AS(ops::gated_rms_norm(leaf64({2, 6}, 1), leaf64({2, 6}, 2), leaf64({6}, 3), 1e-5, 4),
                         doctest::Contains("gated_rms_norm: group size 4"), UserError);
    CHECK_THROWS_WITH_AS(ops::rms_norm(leaf64({2, 6}, 1), leaf64({5}, 2), 1e-5), doctest::Contains("rms_norm"),
                         UserError);
    CHECK_THROWS_WITH_AS(ops::rms_norm(leaf64({2, 0}, 1), leaf64({0}, 2), 1e-5),
                         doctest::Contains("rms_norm: x must be (..., C) with C >= 1"), UserError);
    CHECK_THROWS_WITH_AS(ops::layer_norm(leaf64({2, 3}, 1), to_f32(leaf64({3}, 2)), leaf64({3}, 3), 1e-5),
                         doctest::Contains("layer_norm: dtype mismatch"), UserError);
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
  SUBCASE("gradcheck B2 T2 C3 W4 (T < W-1) with state, through the new state only") {
    // The new state is (s[2], x[0], x[1]): its gradient must reach both the old state and x.
    CHECK_GRADCHECK([](const Inputs& in) { return Inputs{ops::causal_conv1d(in[0], in[1], in[2], in[3]).state}; },
                    Inputs{leaf64({2, 2, 3}, 21), leaf64({3, 4}, 22), leaf64({3}, 23), leaf64({2, 3, 3}, 24)});
  }
  SUBCASE("gradcheck B1 T2 C3 W4 (T < W-1) without bias or state") {
    CHECK_GRADCHECK([](const Inputs& in) {
      ops::ConvResult r = ops::causal_conv1d(in[0], in[1], Tensor(), Tensor());
      return Inputs{r.y, r.state};
    }, Inputs{leaf64({1, 2, 3}, 16), leaf64({3, 4}, 17)});
  }
  SUBCASE("gradcheck B2 T5 C3 W1 (empty state)") {
    CHECK_GRADCHECK([](const Inputs& in) { return Inputs{ops::causal_conv1d(in[0], in[1], in[2], in[3]).y}; },
                    Inputs{leaf64({2, 5, 3}, 25), leaf64({3, 1}, 26), leaf64({3}, 27), leaf64({2, 0, 3}, 28)});
  }
  SUBCASE("gradcheck with SiLU fused, through y and the new state, with and without bias and state") {
    CHECK_GRADCHECK([](const Inputs& in) {
      ops::ConvResult r = ops::causal_conv1d(in[0], in[1], in[2], in[3], ConvActivation::silu);
      return Inputs{r.y, r.state};
    }, Inputs{x, w, b, s});
    CHECK_GRADCHECK([](const Inputs& in) {
      ops::ConvResult r = ops::causal_conv1d(in[0], in[1], Tensor(), Tensor(), ConvActivation::silu);
      return Inputs{r.y, r.state};
    }, Inputs{leaf64({1, 2, 3}, 18), leaf64({3, 4}, 19)});
  }
  SUBCASE("SiLU fused == silu(conv), values and gradients") {
    const auto fused = [](const Inputs& in) {
      ops::ConvResult r = ops::causal_conv1d(in[0], in[1], in[2], in[3], ConvActivation::silu);
      return Inputs{r.y, r.state};
    };
    const auto composed = [](const Inputs& in) {
      ops::ConvResult r = ops::causal_conv1d(in[0], in[1], in[2], in[3]);
      return Inputs{ops::silu(r.y), r.state};
    };
    const Inputs a = fused({x, w, b, s}), e = composed({x, w, b, s});
    CHECK_CLOSE("y", a[0], e[0], 1e-14);
    CHECK_CLOSE("state", a[1], e[1], 0.0);
    const Tensor dy = leaf64({2, 7, 5}, 31), dstate = leaf64({2, 3, 5}, 32);
    const auto grads_of = [&](const std::function<Inputs(const Inputs&)>& f) {
      for (Tensor t : {x, w, b, s}) t.zero_grad();  // drops the gradient: the last one stays valid
      const Inputs out = f({x, w, b, s});
      autograd::backward(ops::sum_all(out[0] * dy) + ops::sum_all(out[1] * dstate));
      return Inputs{x.grad(), w.grad(), b.grad(), s.grad()};
    };
    const Inputs gf = grads_of(fused), gc = grads_of(composed);
    const char* names[] = {"dx", "dw", "dbias", "dstate"};
    for (int i = 0; i < 4; ++i) CHECK_CLOSE(names[i], gf[i], gc[i], 1e-13);
  }
  SUBCASE("value: tap W-1 multiplies the current token") {
    Tensor xi = Tensor::from_vector<double>({1, 2, 3}, {1, 3, 1});
    Tensor wi = Tensor::from_vector<double>({10, 100}, {1, 2});
    ops::ConvResult r = ops::causal_conv1d(xi, wi, Tensor(), Tensor());
    CHECK(r.y.to_vector<double>() == std::vector<double>{100, 210, 320});
    CHECK(r.state.to_vector<double>() == std::vector<double>{3});
  }
  SUBCASE("value: B2 T7 C5 W4 against the definition, with and without state") {
    autograd::NoGradGuard no_grad;
    for (const Tensor& state : {s, Tensor()}) {
      ops::ConvResult got = ops::causal_conv1d(x, w, b, state), want = conv_by_definition(x, w, b, state);
      CHECK_CLOSE("y", got.y, want.y, 1e-14);
      CHECK_CLOSE("state", got.state, want.state, 1e-14);
    }
  }
  SUBCASE("f32 agrees with f64 on B2 T7 C5 W4") {
    autograd::NoGradGuard no_grad;
    ops::ConvResult r32 = ops::causal_conv1d(to_f32(x), to_f32(w), to_f32(b), to_f32(s));
    ops::ConvResult r64 = ops::causal_conv1d(x, w, b, s);
    CHECK_CLOSE("y f32", r32.y, r64.y, 1e-6);
    CHECK_CLOSE("state f32", r32.state, r64.state, 1e-7);
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
  SUBCASE("streamed from a zero state in pieces 2 + 5 equals the whole without state") {
    autograd::NoGradGuard no_grad;
    ops::ConvResult whole = ops::causal_conv1d(x, w, Tensor(), Tensor());
    ops::ConvResult first = ops::causal_conv1d(ops::slice(x, 1, 0, 2), w, Tensor(), Tensor());
    ops::ConvResult second = ops::causal_conv1d(ops::slice(x, 1, 2, 7), w, Tensor(), first.state);
    CHECK_CLOSE("y", ops::concat({first.y, second.y}, 1), whole.y, 1e-14);
    CHECK_CLOSE("state", second.state, whole.state, 1e-14);
  }
  SUBCASE("bad shapes and dtypes name the op") {
    CHECK_THROWS_WITH_AS(ops::causal_conv1d(x, w, b, leaf64({2, 2, 5}, 1)),
                         doctest::Contains("causal_conv1d: state has shape (2, 2, 5), expected (2, 3, 5)"), UserError);
    CHECK_THROWS_WITH_AS(ops::causal_conv1d(x, leaf64({4, 4}, 1), b),
                         doctest::Contains("causal_conv1d: weight must be (5, W), got (4, 4)"), UserError);
    CHECK_THROWS_WITH_AS(ops::causal_conv1d(leaf64({7, 5}, 1), w, b),
                         doctest::Contains("causal_conv1d: x must be (B, T, C), got (7, 5)"), UserError);
    CHECK_THROWS_WITH_AS(ops::causal_conv1d(x, to_f32(w), b), doctest::Contains("causal_conv1d: dtype mismatch"),
                         UserError);
  }
}

TEST_CASE("fast_exp (the f32 softmax and cross-entropy rows) is within 2 ulp of exp over the whole f32 range") {
  double worst = 0;
  for (double x = -87.3; x <= 88.3; x += 0.000731) {
    const float xf = static_cast<float>(x);
    const double exact = std::exp(static_cast<double>(xf));
    const double got = cpu::fast_exp(xf);
    worst = std::max(worst, std::fabs(got - exact) / exact);
  }
  MESSAGE("fast_exp: worst relative error " << worst);
  CHECK(worst <= 2 * 5.97e-8);  // 2 ulp of f32 (ε/2 = 5.96e-8 per ulp at the top of a binade)
  CHECK(cpu::fast_exp(0.0f) == 1.0f);
  CHECK(cpu::fast_exp(-100.0f) == 0.0f);
  CHECK(cpu::fast_exp(-INFINITY) == 0.0f);
  CHECK(std::isinf(cpu::fast_exp(100.0f)));
}
