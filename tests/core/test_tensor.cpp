// tests/core/test_tensor.cpp — Tensor basics, views, copies, Philox determinism, bf16 and f16 rounding.
#include <doctest/doctest.h>

#include "core/bf16.h"
#include "core/f16.h"
#include "core/philox.h"
#include "core/tensor.h"
#include "ops/ops.h"

using namespace ssm;

TEST_CASE("from_vector round-trips and strides are row-major") {
  Tensor t = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(t.strides() == Shape{3, 1});
  CHECK(t.is_contiguous());
  CHECK(t.to_vector<float>() == std::vector<float>{1, 2, 3, 4, 5, 6});
  CHECK(t.to_vector<double>() == std::vector<double>{1, 2, 3, 4, 5, 6});
}

TEST_CASE("transpose is a view and copies read it in logical order") {
  Tensor t = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor tt = ops::transpose(t, 0, 1);
  CHECK(tt.shape() == Shape{3, 2});
  CHECK_FALSE(tt.is_contiguous());
  CHECK(tt.to_vector<float>() == std::vector<float>{1, 4, 2, 5, 3, 6});
  CHECK(ops::contiguous(tt).is_contiguous());
}

TEST_CASE("slice views share storage and offsets") {
  Tensor t = Tensor::from_vector<float>({0, 1, 2, 3, 4, 5, 6, 7}, {2, 4});
  Tensor s = ops::slice(t, 1, 1, 3);
  CHECK(s.to_vector<float>() == std::vector<float>{1, 2, 5, 6});
  CHECK(ops::concat({s, s}, 0).to_vector<float>() == std::vector<float>{1, 2, 5, 6, 1, 2, 5, 6});
  auto parts = ops::split(t, {1, 3}, 1);
  CHECK(parts[1].to_vector<float>() == std::vector<float>{1, 2, 3, 5, 6, 7});
}

TEST_CASE("Philox is a pure function of (seed, index)") {
  CHECK(Philox::uniform(7, 123) == Philox::uniform(7, 123));
  CHECK(Philox::uniform(7, 123) != Philox::uniform(8, 123));
  Rng a(42), b(42);
  for (int i = 0; i < 10; ++i) CHECK(a.normal() == b.normal());
  // Known-answer test: Philox4x32-10 with key 0 and counter 0 (Random123 kat_vectors).
  uint32_t w[4];
  Philox::block(0, 0, w);
  CHECK(w[0] == 0x6627e8d5u);
  CHECK(w[1] == 0xe169c58du);
  CHECK(w[2] == 0xbc57ac4cu);
  CHECK(w[3] == 0x9b00dbd8u);
  // Moments of the normal stream.
  double s = 0, s2 = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const double x = Philox::normal(3, i);
    s += x;
    s2 += x * x;
  }
  CHECK(std::abs(s / n) < 0.03);
  CHECK(std::abs(s2 / n - 1.0) < 0.05);
}

TEST_CASE("bf16 rounds to nearest even and keeps NaN") {
  CHECK(bf16_to_float(float_to_bf16(1.0f)) == 1.0f);
  // 1 + 2^-8 is exactly halfway between two bf16 values: ties go to the even mantissa (1.0).
  CHECK(bf16_to_float(float_to_bf16(1.0f + 1.0f / 256)) == 1.0f);
  CHECK(bf16_to_float(float_to_bf16(1.0f + 3.0f / 256)) == 1.0f + 4.0f / 256);
  CHECK(std::isnan(bf16_to_float(float_to_bf16(std::nanf("")))));
  Tensor t = Tensor::from_vector<float>({1.5f, -2.25f}, {2});
  CHECK(t.to(Dtype::bf16).to(Dtype::f32).to_vector<float>() == std::vector<float>{1.5f, -2.25f});
}

TEST_CASE("f16 conversions agree with the compiler's _Float16 and round-trip every half value") {
  // Every half bit pattern: half -> float -> half is the identity (NaNs stay NaNs).
  for (uint32_t bits = 0; bits < 0x10000u; ++bits) {
    const uint16_t h = static_cast<uint16_t>(bits);
    const float f = f16_to_float(h);
    _Float16 oracle;
    std::memcpy(&oracle, &h, sizeof h);
    if (std::isnan(f)) {
      CHECK(std::isnan(static_cast<float>(oracle)));
      CHECK(std::isnan(f16_to_float(float_to_f16(f))));
      continue;
    }
    REQUIRE(f == static_cast<float>(oracle));
    REQUIRE(float_to_f16(f) == h);
  }
  // Floats between half values, overflow and underflow: the same bits as the hardware rounding.
  Rng rng(7);
  for (int i = 0; i < 200000; ++i) {
    const float scale = std::ldexp(1.0f, static_cast<int>(rng.below(60)) - 30);
    const float f = (rng.uniform() * 2 - 1) * scale;
    const _Float16 oracle = static_cast<_Float16>(f);
    uint16_t expected;
    std::memcpy(&expected, &oracle, sizeof expected);
    REQUIRE(float_to_f16(f) == expected);
  }
  CHECK(float_to_f16(1.0f + 1.0f / 2048) == 0x3c00);      // a tie goes to the even mantissa
  CHECK(float_to_f16(1.0f + 3.0f / 2048) == 0x3c02);
  CHECK(float_to_f16(70000.0f) == 0x7c00);                // past 65504: inf
  CHECK(f16_to_float(0x0001) == std::ldexp(1.0f, -24));   // the smallest subnormal
}
