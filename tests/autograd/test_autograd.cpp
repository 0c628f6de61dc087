// tests/autograd/test_autograd.cpp — the engine (accumulation, shared inputs, multi-output, no-grad) and
// gradient checks of the elementwise, reduction, shape and matmul ops.
#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "ops/ops.h"
#include "tests/support/testing.h"

using namespace ssm;
using testing::leaf64;
using Inputs = std::vector<Tensor>;

TEST_CASE("a tensor used twice receives the sum of both gradients") {
  Tensor x = leaf64({3}, 1);
  Tensor y = ops::sum_all(x * x + x);  // dy/dx = 2x + 1
  autograd::backward(y);
  std::vector<double> g = x.grad().to_vector<double>(), v = x.to_vector<double>();
  for (size_t i = 0; i < g.size(); ++i) CHECK(g[i] == doctest::Approx(2 * v[i] + 1));
}

TEST_CASE("gradients accumulate across backward calls until cleared") {
  Tensor x = leaf64({2}, 2);
  autograd::backward(ops::sum_all(x));
  autograd::backward(ops::sum_all(x));
  CHECK(x.grad().to_vector<double>() == std::vector<double>{2, 2});
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("no-grad guard records nothing") {
  Tensor x = leaf64({2}, 3);
  autograd::NoGradGuard guard;
  Tensor y = x * x;
  CHECK_FALSE(y.requires_grad());
  CHECK(y.grad_fn() == nullptr);
}

TEST_CASE("gradcheck: unary ops") {
  for (auto [name, fn] : std::vector<std::pair<const char*, Tensor (*)(const Tensor&)>>{
           {"neg", ops::neg}, {"exp", ops::exp}, {"square", ops::square}, {"sigmoid", ops::sigmoid},
           {"silu", ops::silu}, {"softplus", ops::softplus}, {"relu", ops::relu}, {"tanh", ops::tanh}}) {
    SUBCASE(name) {
      CHECK_GRADCHECK([fn](const Inputs& in) { return Inputs{fn(in[0])}; }, Inputs{leaf64({3, 5}, 4)});
    }
  }
  SUBCASE("log and sqrt on positive inputs") {
    Tensor x = leaf64({7}, 5, 0.3, 2.0);
    CHECK_GRADCHECK([](const Inputs& in) { return Inputs{ops::log(in[0]), ops::sqrt(in[0])}; }, Inputs{x});
  }
  SUBCASE("softplus above its threshold of 20 is the identity") {
    Tensor x = leaf64({4}, 6, 1.0, 25.0);
    CHECK(ops::softplus(x).to_vector<double>() == x.to_vector<double>());
  }
  SUBCASE("scalar ops") {
    CHECK_GRADCHECK([](const Inputs& in) { return Inputs{ops::mul_scalar(ops::add_scalar(in[0], 3), -2)}; },
                    Inputs{leaf64({2, 3}, 7)});
  }
}

TEST_CASE("gradcheck: broadcasting binary ops") {
  SUBCASE("B2 T3 C4 with a (C) operand") {
    Tensor a = leaf64({2, 3, 4}, 8), b = leaf64({4}, 9, 0.5, 2.0);
    auto fn = [](const Inputs& in) {
      return Inputs{in[0] + in[1], in[0] - in[1], in[0] * in[1], in[0] / in[1]};
    };
    CHECK_GRADCHECK(fn, (Inputs{a, b}));
  }
  SUBCASE("(3,1) against (1,4)") {
    Tensor a = leaf64({3, 1}, 10), b = leaf64({1, 4}, 11, 0.5, 2.0);
    CHECK_GRADCHECK([](const Inputs& in) { return Inputs{in[0] * in[1] / in[1]}; }, (Inputs{a, b}));
  }
  SUBCASE("incompatible shapes name the op") {
    Tensor a = leaf64({3}, 1), b = leaf64({4}, 2);
    CHECK_THROWS_WITH_AS(ops::add(a, b), doctest::Contains("add: shapes (3) and (4)"), UserError);
  }
}

TEST_CASE("gradcheck: reductions") {
  Tensor x = leaf64({2, 3, 4}, 12);
  CHECK_GRADCHECK([](const Inputs& in) {
    return Inputs{ops::sum(in[0], {1}), ops::mean(in[0], {0, 2}, true), ops::sum_all(in[0]),
                  ops::mean_all(in[0]), ops::max(in[0], -1)};
  }, Inputs{x});
  CHECK(ops::sum(x, {0, 1, 2}).item() == doctest::Approx(ops::sum_all(x).item()));
}

TEST_CASE("cumsum: values both ways and gradcheck over each dim") {
  Tensor v = Tensor::from_vector<double>({1, 2, 3, 4}, {4});
  CHECK(ops::cumsum(v, 0).to_vector<double>() == std::vector<double>{1, 3, 6, 10});
  CHECK(ops::cumsum(v, 0, /*reverse=*/true).to_vector<double>() == std::vector<double>{10, 9, 7, 4});
  Tensor x = leaf64({2, 3, 4}, 21);
  for (int64_t dim : {0, 1, 2}) {
    for (bool reverse : {false, true}) {
      CHECK_GRADCHECK([dim, reverse](const Inputs& in) { return Inputs{ops::cumsum(in[0], dim, reverse)}; },
                      Inputs{x});
    }
  }
}

TEST_CASE("gradcheck: shape ops") {
  Tensor x = leaf64({2, 3, 4}, 13);
  CHECK_GRADCHECK([](const Inputs& in) {
    const Tensor& t = in[0];
    auto parts = ops::split(t, {1, 3}, -1);
    return Inputs{ops::reshape(t, {6, -1}), ops::transpose(t, 0, 2) * 2.0, ops::permute(t, {1, 2, 0}),
                  ops::slice(t, 1, 1, 3), ops::concat({parts[1], parts[0]}, 2), ops::unsqueeze(t, 1),
                  ops::contiguous(ops::transpose(t, 1, 2))};
  }, Inputs{x});
}

TEST_CASE("gradcheck: matmul and linear") {
  SUBCASE("2-d") {
    CHECK_GRADCHECK([](const Inputs& in) { return Inputs{ops::matmul(in[0], in[1])}; },
                    (Inputs{leaf64({3, 5}, 14), leaf64({5, 2}, 15)}));
  }
  SUBCASE("batched with broadcast and a transposed view") {
    CHECK_GRADCHECK([](const Inputs& in) {
      return Inputs{ops::matmul(in[0], ops::transpose(in[1], -1, -2))};
    }, (Inputs{leaf64({2, 3, 5}, 16), leaf64({4, 5}, 17)}));
  }
  SUBCASE("linear with bias over (B, T, in)") {
    CHECK_GRADCHECK([](const Inputs& in) { return Inputs{ops::linear(in[0], in[1], in[2])}; },
                    (Inputs{leaf64({2, 3, 5}, 18), leaf64({4, 5}, 19), leaf64({4}, 20)}));
  }
  SUBCASE("matmul agrees with a hand loop") {
    Tensor a = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
    Tensor b = Tensor::from_vector<float>({1, 0, 0, 1, 1, 1}, {3, 2});
    CHECK(ops::matmul(a, b).to_vector<float>() == std::vector<float>{4, 5, 10, 11});
  }
  SUBCASE("shape errors name the op and both shapes") {
    CHECK_THROWS_WITH_AS(ops::matmul(leaf64({2, 3}, 1), leaf64({4, 2}, 2)),
                         doctest::Contains("matmul: inner dims differ: (2, 3) @ (4, 2)"), UserError);
  }
}
