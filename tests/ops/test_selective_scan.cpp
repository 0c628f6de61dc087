// tests/ops/test_selective_scan.cpp — the Mamba-1 selective scan: hand-computed cases, f64 gradient
// checks of both algorithms through y and the final state, recurrent == chunked for several chunk
// sizes, streaming in pieces with the state carried == one call, f32 == f64, the same bits for any
// thread count, and shape errors that name the op.
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "ops/ops.h"                   // defines: slice, concat
#include "ops/scan/selective_scan.h"  // defines: selective_scan, SelectiveScanResult
#include "tests/support/scan_inputs.h"  // defines: make_selective_scan_inputs, loss_grads
#include "tests/support/testing.h"                   // defines: CHECK_CLOSE, CHECK_GRADCHECK, rel_error

using namespace ssm;
using Inputs = std::vector<Tensor>;
using testing::AInit;
using testing::loss_grads;
using testing::make_selective_scan_inputs;
using testing::SelectiveScanInputs;

namespace {

constexpr ops::ScanImpl kRecurrent = ops::ScanImpl::recurrent, kChunked = ops::ScanImpl::chunked;
// std::string, not const char*: doctest streams a char pointer variable as an address.
const std::string kGradNames[] = {"dx", "ddt", "dA", "dB", "dC", "dh0"};

std::vector<Tensor> run(const Inputs& in, ops::ScanImpl impl, int64_t Q) {
  ops::SelectiveScanResult r = ops::selective_scan(in[0], in[1], in[2], in[3], in[4], in[5], impl, Q);
  return {r.y, r.final_state};
}

// Gradients of L = <y, Wy> + <hT, Wh> with respect to every input.
std::vector<Tensor> grads(const SelectiveScanInputs& p, ops::ScanImpl impl, int64_t Q) {
  return loss_grads(p.all(), run(p.all(), impl, Q));
}

std::string impl_name(ops::ScanImpl impl, int64_t Q) {
  return impl == kRecurrent ? "recurrent" : "chunked Q" + std::to_string(Q);
}

}  // namespace

TEST_CASE("hand-computed: B1 T2 E1 N2") {
  // x = (1, 2), Δ = (0.5, 0.25), A = (-2, -1), B_0 = (1, 2), B_1 = (3, -1), C_0 = (2, 1), C_1 = (1, 4).
  // From s_{-1} = 0:
  //   t=0: λ_0 = (e^-1, e^-0.5), Δ·x = 0.5, s_0 = 0.5·B_0 = (0.5, 1), y_0 = 2·0.5 + 1·1 = 2
  //   t=1: λ_1 = (e^-0.5, e^-0.25), Δ·x = 0.5, s_1 = (0.5e^-0.5 + 1.5, e^-0.25 - 0.5),
  //        y_1 = 1·s_1[0] + 4·s_1[1] = 0.5e^-0.5 + 4e^-0.25 - 0.5
  // From s_{-1} = (1, 1) every state gains λ_0 ⊙ ... ⊙ λ_t ⊙ s_{-1}:
  //   s_0 += (e^-1, e^-0.5), y_0 += 2e^-1 + e^-0.5;  s_1 += (e^-1.5, e^-0.75), y_1 += e^-1.5 + 4e^-0.75
  Tensor x = Tensor::from_vector<double>({1, 2}, {1, 2, 1});
  Tensor dt = Tensor::from_vector<double>({0.5, 0.25}, {1, 2, 1});
  Tensor A = Tensor::from_vector<double>({-2, -1}, {1, 2});
  Tensor B = Tensor::from_vector<double>({1, 2, 3, -1}, {1, 2, 2});
  Tensor C = Tensor::from_vector<double>({2, 1, 1, 4}, {1, 2, 2});
  Tensor ones = Tensor::full({1, 1, 2}, 1.0, Dtype::f64);
  const double y0 = 2, y1 = 0.5 * std::exp(-0.5) + 4 * std::exp(-0.25) - 0.5;
  const double s1a = 0.5 * std::exp(-0.5) + 1.5, s1b = std::exp(-0.25) - 0.5;
  for (auto [impl, Q] : std::vector<std::pair<ops::ScanImpl, int64_t>>{{kRecurrent, 0}, {kChunked, 1}, {kChunked, 64}}) {
    SUBCASE(impl_name(impl, Q).c_str()) {
      ops::SelectiveScanResult r = ops::selective_scan(x, dt, A, B, C, Tensor(), impl, Q);
      std::vector<double> y = r.y.to_vector<double>(), s = r.final_state.to_vector<double>();
      CHECK(y[0] == doctest::Approx(y0).epsilon(1e-14));
      CHECK(y[1] == doctest::Approx(y1).epsilon(1e-14));
      CHECK(s[0] == doctest::Approx(s1a).epsilon(1e-14));
      CHECK(s[1] == doctest::Approx(s1b).epsilon(1e-14));

      r = ops::selective_scan(x, dt, A, B, C, ones, impl, Q);
      y = r.y.to_vector<double>();
      s = r.final_state.to_vector<double>();
      CHECK(y[0] == doctest::Approx(y0 + 2 * std::exp(-1.0) + std::exp(-0.5)).epsilon(1e-14));
      CHECK(y[1] == doctest::Approx(y1 + std::exp(-1.5) + 4 * std::exp(-0.75)).epsilon(1e-14));
      CHECK(s[0] == doctest::Approx(s1a + std::exp(-1.5)).epsilon(1e-14));
      CHECK(s[1] == doctest::Approx(s1b + std::exp(-0.75)).epsilon(1e-14));
    }
  }
}

TEST_CASE("f64 gradient checks of both algorithms through y and the final state") {
  // T = 9 with Q = 4 ends on a partial chunk; every input requires grad, h0 is nonzero.
  for (AInit a_init : {AInit::random, AInit::s4d}) {
    const char* a_name = a_init == AInit::random ? "A=-exp(N(0,0.5))" : "A=-[1..N]";
    SelectiveScanInputs p = make_selective_scan_inputs({2, 9, 3, 4}, 7, Dtype::f64, a_init);
    SUBCASE((std::string("recurrent B2 T9 E3 N4 ") + a_name).c_str()) {
      CHECK_GRADCHECK([](const Inputs& in) { return run(in, kRecurrent, 0); }, p.all());
    }
    SUBCASE((std::string("chunked B2 T9 E3 N4 Q4 ") + a_name).c_str()) {
      CHECK_GRADCHECK([](const Inputs& in) { return run(in, kChunked, 4); }, p.all());
    }
    SUBCASE((std::string("chunked B2 T9 E3 N4 Q16 ") + a_name).c_str()) {
      CHECK_GRADCHECK([](const Inputs& in) { return run(in, kChunked, 16); }, p.all());
    }
  }
}

TEST_CASE("recurrent == chunked, forward, final state and every gradient") {
  for (int64_t Q : {1, 3, 8, 64}) {
    SUBCASE(("B2 T37 E6 N5 Q" + std::to_string(Q) + " f64").c_str()) {
      SelectiveScanInputs p = make_selective_scan_inputs({2, 37, 6, 5}, 11);
      std::vector<Tensor> a = run(p.all(), kRecurrent, 0), b = run(p.all(), kChunked, Q);
      CHECK_CLOSE("y", b[0], a[0], 1e-10);
      CHECK_CLOSE("final state", b[1], a[1], 1e-10);
      std::vector<Tensor> ga = grads(p, kRecurrent, 0), gb = grads(p, kChunked, Q);
      for (int i = 0; i < 6; ++i) CHECK_CLOSE(kGradNames[i], gb[i], ga[i], 1e-10);
    }
  }
  SUBCASE("B2 T37 E6 N5 Q8 A=-[1..N] f64") {
    SelectiveScanInputs p = make_selective_scan_inputs({2, 37, 6, 5}, 12, Dtype::f64, AInit::s4d);
    std::vector<Tensor> a = run(p.all(), kRecurrent, 0), b = run(p.all(), kChunked, 8);
    CHECK_CLOSE("y", b[0], a[0], 1e-10);
    CHECK_CLOSE("final state", b[1], a[1], 1e-10);
    std::vector<Tensor> ga = grads(p, kRecurrent, 0), gb = grads(p, kChunked, 8);
    for (int i = 0; i < 6; ++i) CHECK_CLOSE(kGradNames[i], gb[i], ga[i], 1e-10);
  }
}

TEST_CASE("streaming: pieces 5+1+31 with the state carried == one call, values and gradients") {
  SelectiveScanInputs p = make_selective_scan_inputs({2, 37, 6, 5}, 17);
  for (auto [impl, Q] : std::vector<std::pair<ops::ScanImpl, int64_t>>{{kRecurrent, 0}, {kChunked, 8}}) {
    SUBCASE(("B2 T37 E6 N5 " + impl_name(impl, Q)).c_str()) {
      auto pieces = [impl, Q](const Inputs& in) {
        Tensor state = in[5];
        std::vector<Tensor> ys;
        for (auto [s, e] : std::vector<std::pair<int64_t, int64_t>>{{0, 5}, {5, 6}, {6, 37}}) {
          ops::SelectiveScanResult r =
              ops::selective_scan(ops::slice(in[0], 1, s, e), ops::slice(in[1], 1, s, e), in[2],
                                  ops::slice(in[3], 1, s, e), ops::slice(in[4], 1, s, e), state, impl, Q);
          ys.push_back(r.y);
          state = r.final_state;
        }
        return std::vector<Tensor>{ops::concat(ys, 1), state};
      };
      auto whole = [impl, Q](const Inputs& in) { return run(in, impl, Q); };
      std::vector<Tensor> a = whole(p.all()), b = pieces(p.all());
      CHECK_CLOSE("y", b[0], a[0], 1e-12);
      CHECK_CLOSE("final state", b[1], a[1], 1e-12);
      // dh0 is the gradient of the first piece's initial state.
      std::vector<Tensor> ga = loss_grads(p.all(), whole(p.all())), gb = loss_grads(p.all(), pieces(p.all()));
      for (int i = 0; i < 6; ++i) CHECK_CLOSE(kGradNames[i], gb[i], ga[i], 1e-12);
    }
  }
}

TEST_CASE("f32 agrees with f64 on the same inputs") {
  // The f64 run reads the f32-rounded inputs, so only the f32 kernels' rounding is measured.
  SelectiveScanInputs p32 = make_selective_scan_inputs({2, 37, 6, 5}, 23).to(Dtype::f32);
  SelectiveScanInputs p64 = p32.to(Dtype::f64);
  for (auto [impl, Q] : std::vector<std::pair<ops::ScanImpl, int64_t>>{{kRecurrent, 0}, {kChunked, 8}}) {
    SUBCASE(("B2 T37 E6 N5 " + impl_name(impl, Q) + " f32").c_str()) {
      std::vector<Tensor> a = run(p64.all(), impl, Q), b = run(p32.all(), impl, Q);
      CHECK(b[0].dtype() == Dtype::f32);
      CHECK_CLOSE("y", b[0], a[0], 1e-5);
      CHECK_CLOSE("final state", b[1], a[1], 1e-5);
      std::vector<Tensor> ga = grads(p64, impl, Q), gb = grads(p32, impl, Q);
      for (int i = 0; i < 6; ++i) {
        CHECK(gb[i].dtype() == Dtype::f32);
        CHECK_CLOSE(kGradNames[i], gb[i], ga[i], 1e-5);
      }
    }
  }
}

#ifdef _OPENMP
TEST_CASE("the same bits for 1 and 3 threads (dB, dC and dA are shared sums)") {
  // E = 40: 14 channel blocks of 3, the last of 1.
  SelectiveScanInputs p = make_selective_scan_inputs({2, 37, 40, 5}, 29);
  for (auto [impl, Q] : std::vector<std::pair<ops::ScanImpl, int64_t>>{{kRecurrent, 0}, {kChunked, 8}}) {
    SUBCASE(("B2 T37 E40 N5 " + impl_name(impl, Q)).c_str()) {
      const int saved = omp_get_max_threads();
      omp_set_num_threads(1);
      std::vector<Tensor> one = run(p.all(), impl, Q), g_one = grads(p, impl, Q);
      omp_set_num_threads(3);
      std::vector<Tensor> three = run(p.all(), impl, Q), g_three = grads(p, impl, Q);
      omp_set_num_threads(saved);
      CHECK(three[0].to_vector<double>() == one[0].to_vector<double>());
      CHECK(three[1].to_vector<double>() == one[1].to_vector<double>());
      for (int i = 0; i < 6; ++i) {
        INFO(kGradNames[i]);
        CHECK(g_three[i].to_vector<double>() == g_one[i].to_vector<double>());
      }
    }
  }
}
#endif

TEST_CASE("bad shapes give a UserError naming the op and the shapes") {
  SelectiveScanInputs p = make_selective_scan_inputs({1, 4, 3, 2}, 31);
  auto call = [&](const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& B, const Tensor& C,
                  const Tensor& h0 = Tensor()) { return ops::selective_scan(x, dt, A, B, C, h0); };
  CHECK_THROWS_WITH_AS(call(Tensor::zeros({4, 3}, Dtype::f64), p.dt, p.A, p.B, p.C),
                       "selective_scan: x must be (B, T, E), got (4, 3)", UserError);
  CHECK_THROWS_WITH_AS(call(p.x, p.dt, Tensor::zeros({2, 2}, Dtype::f64), p.B, p.C),
                       "selective_scan: A must be (3, N), got (2, 2)", UserError);
  CHECK_THROWS_WITH_AS(call(p.x, Tensor::zeros({1, 4, 2}, Dtype::f64), p.A, p.B, p.C),
                       "selective_scan: dt has shape (1, 4, 2), expected (1, 4, 3)", UserError);
  CHECK_THROWS_WITH_AS(call(p.x, p.dt, p.A, Tensor::zeros({1, 5, 2}, Dtype::f64), p.C),
                       "selective_scan: B has shape (1, 5, 2), expected (1, 4, 2)", UserError);
  CHECK_THROWS_WITH_AS(call(p.x, p.dt, p.A, p.B, Tensor::zeros({1, 4, 3}, Dtype::f64)),
                       "selective_scan: C has shape (1, 4, 3), expected (1, 4, 2)", UserError);
  CHECK_THROWS_WITH_AS(call(p.x, p.dt, p.A, p.B, p.C, Tensor::zeros({1, 2, 3}, Dtype::f64)),
                       "selective_scan: initial_state has shape (1, 2, 3), expected (1, 3, 2)", UserError);
  CHECK_THROWS_WITH_AS(call(p.x, p.dt, p.A, p.B, p.C.detach().to(Dtype::f32)),
                       doctest::Contains("selective_scan: dtype mismatch"), UserError);
  CHECK_THROWS_WITH_AS(ops::selective_scan(p.x, p.dt, p.A, p.B, p.C, Tensor(), kChunked, 0),
                       "selective_scan: chunk_size must be positive, got 0", UserError);
}
