// tests/ops/test_ssd.cpp — the Mamba-2 SSD operator: a hand-computed case, f64 gradient checks of both
// algorithms (inputs, decay parameters and the initial state), recurrent == chunked for several
// chunk sizes, and streaming with the state carried == one call.
#include "ops/ops.h"
#include "ops/scan/ssd.h"
#include "tests/support/scan_inputs.h"  // defines: make_ssd_inputs, loss_grads
#include "tests/support/testing.h"

using namespace ssm;
using Inputs = std::vector<Tensor>;
using testing::make_ssd_inputs;
// make_ssd_inputs takes SsdShape {B, T, H, P, G, N} (ops/backend.h); the test names list N before G.

namespace {

std::vector<Tensor> run(const Inputs& in, ops::ScanImpl impl, int64_t Q) {
  ops::SsdResult r = ops::ssd(in[0], in[1], in[2], in[3], in[4], in[5], impl, Q);
  return {r.y, r.final_state};
}

// Gradients of L = <y, Wy> + <hT, Wh> with respect to every input.
std::vector<Tensor> grads(const testing::SsdInputs& p, ops::ScanImpl impl, int64_t Q) {
  return testing::loss_grads(p.all(), run(p.all(), impl, Q));
}

}  // namespace

TEST_CASE("hand-computed: T2 P1 N1") {
  // x = (1, 2), Δ = (0.5, 0.25), A = -2, B = (1, 3), C = (2, 1), S_{-1} = 0.
  // α_0 = e^{-1}, S_0 = 0.5·1·1 = 0.5, y_0 = 2·0.5 = 1.
  // α_1 = e^{-0.5}, S_1 = e^{-0.5}·0.5 + 0.25·2·3 = 0.30327 + 1.5, y_1 = 1·S_1.
  Tensor x = Tensor::from_vector<double>({1, 2}, {1, 2, 1, 1});
  Tensor dt = Tensor::from_vector<double>({0.5, 0.25}, {1, 2, 1});
  Tensor A = Tensor::from_vector<double>({-2}, {1});
  Tensor B = Tensor::from_vector<double>({1, 3}, {1, 2, 1, 1});
  Tensor C = Tensor::from_vector<double>({2, 1}, {1, 2, 1, 1});
  for (auto impl : {ops::ScanImpl::recurrent, ops::ScanImpl::chunked}) {
    ops::SsdResult r = ops::ssd(x, dt, A, B, C, Tensor(), impl, 1);
    std::vector<double> y = r.y.to_vector<double>();
    CHECK(y[0] == doctest::Approx(1.0));
    CHECK(y[1] == doctest::Approx(0.5 * std::exp(-0.5) + 1.5));
    CHECK(r.final_state.item() == doctest::Approx(0.5 * std::exp(-0.5) + 1.5));
  }
}

TEST_CASE("f64 gradient checks of both algorithms through y and the final state") {
  const testing::SsdInputs p = make_ssd_inputs({2, 11, 4, 3, 2, 5}, 7);
  SUBCASE("recurrent B2 T11 H4 P3 N5 G2") {
    CHECK_GRADCHECK([](const Inputs& in) { return run(in, ops::ScanImpl::recurrent, 0); }, p.all());
  }
  SUBCASE("chunked B2 T11 H4 P3 N5 G2 Q4") {
    CHECK_GRADCHECK([](const Inputs& in) { return run(in, ops::ScanImpl::chunked, 4); }, p.all());
  }
}

TEST_CASE("recurrent == chunked, forward and every gradient") {
  for (int64_t Q : {1, 3, 8, 64}) {
    SUBCASE(("B2 T37 H4 P8 N16 G2 Q" + std::to_string(Q) + " f64").c_str()) {
      const testing::SsdInputs p = make_ssd_inputs({2, 37, 4, 8, 2, 16}, 11);
      std::vector<Tensor> a = run(p.all(), ops::ScanImpl::recurrent, 0), b = run(p.all(), ops::ScanImpl::chunked, Q);
      CHECK_CLOSE("y", b[0], a[0], 1e-12);
      CHECK_CLOSE("final state", b[1], a[1], 1e-12);
      std::vector<Tensor> ga = grads(p, ops::ScanImpl::recurrent, 0), gb = grads(p, ops::ScanImpl::chunked, Q);
      const char* names[] = {"dx", "ddt", "dA", "dB", "dC", "dh0"};
      for (int i = 0; i < 6; ++i) CHECK_CLOSE(names[i], gb[i], ga[i], 1e-11);
    }
  }
  SUBCASE("f32 B1 T100 H2 P16 N32 G1 Q32") {
    const testing::SsdInputs p = make_ssd_inputs({1, 100, 2, 16, 1, 32}, 13, Dtype::f32);
    std::vector<Tensor> a = run(p.all(), ops::ScanImpl::recurrent, 0), b = run(p.all(), ops::ScanImpl::chunked, 32);
    CHECK_CLOSE("y f32", b[0], a[0], 1e-5);
    CHECK_CLOSE("state f32", b[1], a[1], 1e-5);
  }
}

TEST_CASE("the f32 fused recurrence (what the CPU runs) equals the f64 reference, forward and every gradient") {
  // T 300 is not a multiple of the backward's 16-step segments; groups of two heads share B and C;
  // N 37 is not a multiple of any vector width. With and without an initial state.
  for (const bool with_h0 : {true, false}) {
    SUBCASE(with_h0 ? "B2 T300 H4 P8 N37 G2, h0" : "B2 T300 H4 P8 N37 G2, no h0") {
      testing::SsdInputs p64 = make_ssd_inputs({2, 300, 4, 8, 2, 37}, 23);
      if (!with_h0) p64.h0 = Tensor();
      const testing::SsdInputs p32{testing::scan_leaf(p64.x, Dtype::f32), testing::scan_leaf(p64.dt, Dtype::f32),
                                   testing::scan_leaf(p64.A, Dtype::f32), testing::scan_leaf(p64.B, Dtype::f32),
                                   testing::scan_leaf(p64.C, Dtype::f32), testing::scan_leaf(p64.h0, Dtype::f32)};
      const std::vector<Tensor> ref = run(p64.all(), ops::ScanImpl::recurrent, 0);
      const std::vector<Tensor> fused = run(p32.all(), ops::ScanImpl::recurrent, 0);
      CHECK_CLOSE("y", fused[0].to(Dtype::f64), ref[0], 1e-5);
      CHECK_CLOSE("final state", fused[1].to(Dtype::f64), ref[1], 1e-5);
      const std::vector<Tensor> g64 = grads(p64, ops::ScanImpl::recurrent, 0);
      const std::vector<Tensor> g32 = grads(p32, ops::ScanImpl::recurrent, 0);
      const char* names[] = {"dx", "ddt", "dA", "dB", "dC", "dh0"};
      for (int i = 0; i < 6; ++i) {
        if (!g64[i].defined()) continue;
        CHECK_CLOSE(names[i], g32[i].to(Dtype::f64), g64[i], 2e-5);
      }
    }
  }
}

TEST_CASE("the f32 chunked SSD (GEMMs) equals the f64 recurrence, forward and every gradient") {
  // T 150 ends on a partial chunk of Q 64 (and Q 7: many chunks, the last of 3); groups of two heads.
  for (const int64_t Q : {7, 64}) {
    for (const bool with_h0 : {true, false}) {
      SUBCASE(("B2 T150 H4 P8 N19 G2 Q" + std::to_string(Q) + (with_h0 ? ", h0" : ", no h0")).c_str()) {
        testing::SsdInputs p64 = make_ssd_inputs({2, 150, 4, 8, 2, 19}, 29);
        if (!with_h0) p64.h0 = Tensor();
        const testing::SsdInputs p32{testing::scan_leaf(p64.x, Dtype::f32), testing::scan_leaf(p64.dt, Dtype::f32),
                                     testing::scan_leaf(p64.A, Dtype::f32), testing::scan_leaf(p64.B, Dtype::f32),
                                     testing::scan_leaf(p64.C, Dtype::f32), testing::scan_leaf(p64.h0, Dtype::f32)};
        const std::vector<Tensor> ref = run(p64.all(), ops::ScanImpl::recurrent, 0);
        const std::vector<Tensor> chunked = run(p32.all(), ops::ScanImpl::chunked, Q);
        CHECK_CLOSE("y", chunked[0].to(Dtype::f64), ref[0], 1e-6);
        CHECK_CLOSE("final state", chunked[1].to(Dtype::f64), ref[1], 1e-6);
        const std::vector<Tensor> g64 = grads(p64, ops::ScanImpl::recurrent, 0);
        const std::vector<Tensor> g32 = grads(p32, ops::ScanImpl::chunked, Q);
        const char* names[] = {"dx", "ddt", "dA", "dB", "dC", "dh0"};
        for (int i = 0; i < 6; ++i) {
          if (!g64[i].defined()) continue;
          CHECK_CLOSE(names[i], g32[i].to(Dtype::f64), g64[i], 1e-6);
        }
      }
    }
  }
}

TEST_CASE("streaming: pieces with the state carried equal one call, values and gradients") {
  const testing::SsdInputs p = make_ssd_inputs({2, 13, 2, 3, 1, 4}, 17);
  for (auto impl : {ops::ScanImpl::recurrent, ops::ScanImpl::chunked}) {
    SUBCASE(impl == ops::ScanImpl::recurrent ? "recurrent 5+1+7" : "chunked Q4 5+1+7") {
      auto pieces = [impl](const Inputs& in) {
        Tensor state = in[5];
        std::vector<Tensor> ys;
        for (auto [s, e] : std::vector<std::pair<int64_t, int64_t>>{{0, 5}, {5, 6}, {6, 13}}) {
          ops::SsdResult r = ops::ssd(ops::slice(in[0], 1, s, e), ops::slice(in[1], 1, s, e), in[2],
                                      ops::slice(in[3], 1, s, e), ops::slice(in[4], 1, s, e), state, impl, 4);
          ys.push_back(r.y);
          state = r.final_state;
        }
        return std::vector<Tensor>{ops::concat(ys, 1), state};
      };
      std::vector<Tensor> whole = run(p.all(), impl, 4), streamed = pieces(p.all());
      CHECK_CLOSE("y", streamed[0], whole[0], 1e-12);
      CHECK_CLOSE("final state", streamed[1], whole[1], 1e-12);
      CHECK_GRADCHECK(pieces, p.all());
    }
  }
}

TEST_CASE("shape errors name the op") {
  const testing::SsdInputs p = make_ssd_inputs({1, 4, 2, 2, 1, 3}, 19);
  CHECK_THROWS_WITH_AS(ops::ssd(p.x, p.dt, p.A, p.B, p.C, Tensor::zeros({1, 2, 2, 4}, Dtype::f64)),
                       doctest::Contains("ssd: initial_state"), UserError);
  CHECK_THROWS_WITH_AS(ops::ssd(p.x, p.dt, Tensor::zeros({3}, Dtype::f64), p.B, p.C), doctest::Contains("ssd: A"),
                       UserError);
}
