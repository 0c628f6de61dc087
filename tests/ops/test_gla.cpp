// tests/ops/test_gla.cpp — the gated-linear-attention operator (RWKV-5/6, HGRN-2): hand-computed cases
// for both readouts, f64 gradient checks of both algorithms through o and the final state,
// recurrent == chunked for several chunk sizes, streaming with the state carried == one call,
// stability of the chunked form under strong decays, an RWKV-5 style decay shared over time, and
// the shape errors.
#include <cmath>
#include <string>

#include "ops/ops.h"             // defines: add, exp, slice, concat, reshape
#include "ops/scan/gla.h"        // defines: gla, GlaReadout, ScanImpl
#include "tests/support/scan_inputs.h"  // defines: make_gla_inputs, GlaInputs, loss_grads
#include "tests/support/testing.h"             // defines: CHECK_CLOSE, CHECK_GRADCHECK, leaf64

using namespace ssm;
using Inputs = std::vector<Tensor>;
using ops::GlaReadout;
using ops::ScanImpl;
using testing::GlaInputs;
using testing::loss_grads;
using testing::make_gla_inputs;

namespace {

const char* readout_name(GlaReadout r) { return r == GlaReadout::post_update ? "post" : "bonus"; }

std::vector<Tensor> run(const Inputs& in, GlaReadout readout, ScanImpl impl, int64_t Q) {
  ops::GlaResult r = ops::gla(in[0], in[1], in[2], in[3], in[4], in[5], readout, impl, Q);
  return {r.o, r.final_state};
}

const char* kGradNames[] = {"dq", "dk", "dv", "dg", "du", "dh0"};

}  // namespace

TEST_CASE("hand-computed: T2 K2 V1, both readouts") {
  // q_0 = (1, 2), k_0 = (1, -1), v_0 = 3, e^{g_0} = (0.5, 0.25)
  // q_1 = (0.5, 1), k_1 = (2, 1), v_1 = -1, e^{g_1} = (0.5, 0.5)
  Tensor q = Tensor::from_vector<double>({1, 2, 0.5, 1}, {1, 2, 1, 2});
  Tensor k = Tensor::from_vector<double>({1, -1, 2, 1}, {1, 2, 1, 2});
  Tensor v = Tensor::from_vector<double>({3, -1}, {1, 2, 1, 1});
  Tensor g = Tensor::from_vector<double>({std::log(0.5), std::log(0.25), std::log(0.5), std::log(0.5)}, {1, 2, 1, 2});
  for (auto [impl, Q] : std::vector<std::pair<ScanImpl, int64_t>>{
           {ScanImpl::recurrent, 0}, {ScanImpl::chunked, 1}, {ScanImpl::chunked, 2}, {ScanImpl::chunked, 5}}) {
    SUBCASE(("post_update Q" + std::to_string(Q)).c_str()) {
      // S_{-1} = 0.  S_0 = k_0·v_0 = (3, -3),                    o_0 = q_0·S_0 = 3 - 6 = -3
      // S_1 = (0.5·3, 0.5·(-3)) + k_1·v_1 = (-0.5, -2.5),         o_1 = 0.5·(-0.5) + 1·(-2.5) = -2.75
      ops::GlaResult r = ops::gla(q, k, v, g, Tensor(), Tensor(), GlaReadout::post_update, impl, Q);
      std::vector<double> o = r.o.to_vector<double>(), hT = r.final_state.to_vector<double>();
      CHECK(o[0] == doctest::Approx(-3.0));
      CHECK(o[1] == doctest::Approx(-2.75));
      CHECK(hT[0] == doctest::Approx(-0.5));
      CHECK(hT[1] == doctest::Approx(-2.5));
    }
    SUBCASE(("pre_update_bonus Q" + std::to_string(Q)).c_str()) {
      // u = (0.5, 2), S_{-1} = (1, 1).
      // o_0 = q_0·S_{-1} + (q_0·u·k_0)·v_0 = 3 + (0.5 - 4)·3 = -7.5
      // S_0 = (0.5·1, 0.25·1) + k_0·v_0 = (3.5, -2.75)
      // o_1 = q_1·S_0 + (q_1·u·k_1)·v_1 = (1.75 - 2.75) + (0.5 + 2)·(-1) = -3.5
      // S_1 = (0.5·3.5, 0.5·(-2.75)) + k_1·v_1 = (-0.25, -2.375)
      Tensor u = Tensor::from_vector<double>({0.5, 2}, {1, 2});
      Tensor h0 = Tensor::from_vector<double>({1, 1}, {1, 1, 2, 1});
      ops::GlaResult r = ops::gla(q, k, v, g, u, h0, GlaReadout::pre_update_bonus, impl, Q);
      std::vector<double> o = r.o.to_vector<double>(), hT = r.final_state.to_vector<double>();
      CHECK(o[0] == doctest::Approx(-7.5));
      CHECK(o[1] == doctest::Approx(-3.5));
      CHECK(hT[0] == doctest::Approx(-0.25));
      CHECK(hT[1] == doctest::Approx(-2.375));
    }
  }
}

TEST_CASE("f64 gradient checks of both algorithms and readouts through o and the final state") {
  for (GlaReadout readout : {GlaReadout::post_update, GlaReadout::pre_update_bonus}) {
    GlaInputs p = make_gla_inputs({2, 7, 2, 3, 2}, 7, readout);
    SUBCASE((std::string("recurrent ") + readout_name(readout) + " B2 T7 H2 K3 V2").c_str()) {
      CHECK_GRADCHECK([readout](const Inputs& in) { return run(in, readout, ScanImpl::recurrent, 0); }, p.all());
    }
    SUBCASE((std::string("chunked ") + readout_name(readout) + " B2 T7 H2 K3 V2 Q3").c_str()) {
      CHECK_GRADCHECK([readout](const Inputs& in) { return run(in, readout, ScanImpl::chunked, 3); }, p.all());
    }
  }
}

TEST_CASE("recurrent == chunked, forward, final state and every gradient") {
  for (GlaReadout readout : {GlaReadout::post_update, GlaReadout::pre_update_bonus}) {
    for (int64_t Q : {1, 3, 8, 16, 64}) {
      SUBCASE((std::string(readout_name(readout)) + " B2 T37 H3 K5 V4 Q" + std::to_string(Q) + " f64").c_str()) {
        GlaInputs p = make_gla_inputs({2, 37, 3, 5, 4}, 11, readout);
        std::vector<Tensor> a = run(p.all(), readout, ScanImpl::recurrent, 0);
        std::vector<Tensor> b = run(p.all(), readout, ScanImpl::chunked, Q);
        CHECK_CLOSE("o", b[0], a[0], 1e-12);
        CHECK_CLOSE("final state", b[1], a[1], 1e-12);
        std::vector<Tensor> ga = loss_grads(p.all(), a), gb = loss_grads(p.all(), b);
        for (int i = 0; i < 6; ++i) {
          if (!p.all()[i].defined()) continue;  // u of the post-update readout
          CHECK_CLOSE(std::string(kGradNames[i]), gb[i], ga[i], 1e-12);
        }
      }
    }
  }
}

TEST_CASE("streaming: pieces 5+1+31 with the state carried equal one call, values and gradients") {
  for (GlaReadout readout : {GlaReadout::post_update, GlaReadout::pre_update_bonus}) {
    for (auto impl : {ScanImpl::recurrent, ScanImpl::chunked}) {
      const std::string name = std::string(impl == ScanImpl::recurrent ? "recurrent " : "chunked Q4 ") +
                               readout_name(readout) + " B2 T37 H3 K5 V4";
      SUBCASE(name.c_str()) {
        GlaInputs p = make_gla_inputs({2, 37, 3, 5, 4}, 17, readout);
        std::vector<Tensor> whole = run(p.all(), readout, impl, 4);
        Tensor state = p.h0;
        std::vector<Tensor> os;
        for (auto [s, e] : std::vector<std::pair<int64_t, int64_t>>{{0, 5}, {5, 6}, {6, 37}}) {
          ops::GlaResult r = ops::gla(ops::slice(p.q, 1, s, e), ops::slice(p.k, 1, s, e), ops::slice(p.v, 1, s, e),
                                      ops::slice(p.g, 1, s, e), p.u, state, readout, impl, 4);
          os.push_back(r.o);
          state = r.final_state;
        }
        std::vector<Tensor> streamed{ops::concat(os, 1), state};
        CHECK_CLOSE("o", streamed[0], whole[0], 1e-12);
        CHECK_CLOSE("final state", streamed[1], whole[1], 1e-12);
        std::vector<Tensor> gw = loss_grads(p.all(), whole), gs = loss_grads(p.all(), streamed);
        for (int i = 0; i < 6; ++i) {
          if (!p.all()[i].defined()) continue;
          CHECK_CLOSE(std::string(kGradNames[i]), gs[i], gw[i], 1e-12);  // dh0: the first piece's initial state
        }
      }
    }
  }
}

TEST_CASE("stability: f32 chunked with steps of g = -60 and Q64 matches the f64 recurrence") {
  // Every fourth step decays by about e^-60, so a 64-step chunk accumulates a log-decay near -1000:
  // the factorised scores (q·e^{b})(k·e^{-b}) would overflow even in f64; pairwise ones cannot.
  for (GlaReadout readout : {GlaReadout::post_update, GlaReadout::pre_update_bonus}) {
    SUBCASE((std::string(readout_name(readout)) + " B1 T200 H2 K8 V6 Q64 f32").c_str()) {
      GlaInputs p32 = make_gla_inputs({1, 200, 2, 8, 6}, 23, readout, Dtype::f32);
      {
        float* g = p32.g.data<float>();
        for (int64_t t = 1; t < 200; t += 4) {
          for (int64_t i = 0; i < 2 * 8; ++i) g[t * 16 + i] = -60.0f - 0.1f * static_cast<float>(i % 5);
        }
      }
      // The reference sees exactly the f32 inputs, widened to f64.
      const GlaInputs p64 = p32.to(Dtype::f64);
      std::vector<Tensor> a = run(p64.all(), readout, ScanImpl::recurrent, 0);
      std::vector<Tensor> b = run(p32.all(), readout, ScanImpl::chunked, 64);
      for (const Tensor& t : b) {
        bool finite = true;
        for (float x : t.to_vector<float>()) finite = finite && std::isfinite(x);
        CHECK(finite);
      }
      CHECK_CLOSE("o f32", b[0], a[0], 1e-5);
      CHECK_CLOSE("final state f32", b[1], a[1], 1e-5);
      std::vector<Tensor> ga = loss_grads(p64.all(), a), gb = loss_grads(p32.all(), b);
      for (int i = 0; i < 6; ++i) {
        if (!p32.all()[i].defined()) continue;
        CHECK_CLOSE(std::string(kGradNames[i]), gb[i], ga[i], 1e-5);
      }
    }
  }
}

TEST_CASE("RWKV-5 style decay shared over (B, T): gradient sums back through a broadcasting add") {
  // g = -exp(time_decay) (H,K) added to zeros (B,T,H,K): the add's backward sums dg over (B, T).
  GlaInputs p = make_gla_inputs({2, 6, 2, 3, 2}, 29, GlaReadout::pre_update_bonus);
  Tensor time_decay = testing::leaf64({2, 3}, 31, 0.5, -0.5);
  const Tensor zeros = Tensor::zeros({2, 6, 2, 3}, Dtype::f64);
  for (auto [impl_, Q_] : std::vector<std::pair<ScanImpl, int64_t>>{{ScanImpl::recurrent, 0}, {ScanImpl::chunked, 4}}) {
    const ScanImpl impl = impl_;
    const int64_t Q = Q_;
    SUBCASE((std::string(impl == ScanImpl::recurrent ? "recurrent" : "chunked Q4") + " B2 T6 H2 K3 V2").c_str()) {
      auto fn = [&zeros, impl, Q](const Inputs& in) {
        Tensor g = ops::add(-ops::exp(in[3]), zeros);
        return run({in[0], in[1], in[2], g, in[4], in[5]}, GlaReadout::pre_update_bonus, impl, Q);
      };
      CHECK_GRADCHECK(fn, Inputs{p.q, p.k, p.v, time_decay, p.u, p.h0});
    }
  }
}

TEST_CASE("bad arguments give a UserError naming the op and the shapes") {
  GlaInputs p = make_gla_inputs({2, 37, 3, 5, 4}, 37, GlaReadout::pre_update_bonus);
  const GlaReadout post = GlaReadout::post_update, bonus = GlaReadout::pre_update_bonus;
  CHECK_THROWS_WITH_AS(ops::gla(p.q, p.k, ops::slice(p.v, 1, 0, 36), p.g, p.u, p.h0, bonus),
                       "gla: v must be (2, 37, 3, V), got (2, 36, 3, 4)", UserError);
  CHECK_THROWS_WITH_AS(ops::gla(p.q, ops::slice(p.k, 3, 0, 4), p.v, p.g, p.u, p.h0, bonus),
                       "gla: k has shape (2, 37, 3, 4), expected (2, 37, 3, 5)", UserError);
  CHECK_THROWS_WITH_AS(ops::gla(p.q, p.k, p.v, ops::slice(p.g, 0, 0, 1), p.u, p.h0, bonus),
                       "gla: g has shape (1, 37, 3, 5), expected (2, 37, 3, 5)", UserError);
  CHECK_THROWS_WITH_AS(ops::gla(ops::reshape(p.q, {2, 37, 15}), p.k, p.v, p.g, p.u, p.h0, bonus),
                       "gla: q must be (B, T, H, K), got (2, 37, 15)", UserError);
  CHECK_THROWS_WITH_AS(ops::gla(p.q, p.k, p.v, p.g, Tensor(), p.h0, bonus),
                       "gla: u (H, K) = (3, 5) must be given for the pre_update_bonus readout", UserError);
  CHECK_THROWS_WITH_AS(ops::gla(p.q, p.k, p.v, p.g, p.u, p.h0, post),
                       "gla: u must be undefined for the post_update readout, got (3, 5)", UserError);
  CHECK_THROWS_WITH_AS(ops::gla(p.q, p.k, p.v, p.g, ops::slice(p.u, 0, 0, 2), p.h0, bonus),
                       "gla: u has shape (2, 5), expected (3, 5)", UserError);
  CHECK_THROWS_WITH_AS(ops::gla(p.q, p.k, p.v, p.g, p.u, ops::slice(p.h0, 3, 0, 3), bonus),
                       "gla: initial_state has shape (2, 3, 5, 3), expected (2, 3, 5, 4)", UserError);
  CHECK_THROWS_WITH_AS(ops::gla(p.q, p.k, p.v, p.g, p.u, p.h0, bonus, ScanImpl::chunked, 0),
                       "gla: chunk_size must be positive, got 0", UserError);
  CHECK_THROWS_WITH_AS(ops::gla(p.q, p.k.to(Dtype::f32), p.v, p.g, p.u, p.h0, bonus),
                       doctest::Contains("gla: dtype mismatch"), UserError);
}
