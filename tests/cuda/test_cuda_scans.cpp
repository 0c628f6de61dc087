// tests/cuda/test_cuda_scans.cpp — the three recurrent scans on CUDA against the CPU reference: the
// Mamba-2 SSD (recurrent and chunked), the Mamba-1 selective scan and gated linear attention (both
// readouts), forward and every gradient (inputs, decays, initial state) through the output and the
// final state, with chunk lengths that do not divide T; the SSD decode step (T = 1, state carried)
// against the chunked whole sequence. Skipped without a GPU (see tests/support/cuda_testing.h).
#include "autograd/grad_mode.h"      // defines: NoGradGuard
#include "tests/support/cuda_testing.h"            // defines: check_cuda_matches_cpu, cuda_available, rand_leaf, host
#include "ops/ops.h"              // defines: the op API
#include "ops/scan/gla.h"            // defines: gla
#include "ops/scan/selective_scan.h" // defines: selective_scan
#include "ops/scan/ssd.h"            // defines: ssd

using namespace ssm;
using namespace ssm::testing;
using Inputs = std::vector<Tensor>;

SSM_CUDA_AVAILABILITY_TEST()

#define CUDA_TEST(name) TEST_CASE(name* doctest::skip(!cuda_available()))

namespace {

// Δ = softplus(·)·0.5 in (0, ~1.5), A = -exp(·) < 0: the ranges the models produce.
Tensor positive_leaf(const Shape& shape, uint64_t seed, Dtype dt) {
  autograd::NoGradGuard no_grad;
  Tensor t = (ops::softplus(Tensor::randn(shape, seed, Dtype::f64)) * 0.5).to(dt);
  t.set_requires_grad(true);
  return t;
}
Tensor negative_leaf(const Shape& shape, uint64_t seed, Dtype dt) {
  autograd::NoGradGuard no_grad;
  Tensor t = (-ops::exp(Tensor::randn(shape, seed, Dtype::f64, Device::cpu(), 0.5))).to(dt);
  t.set_requires_grad(true);
  return t;
}
std::string impl_name(ops::ScanImpl impl, int64_t Q) {
  return impl == ops::ScanImpl::recurrent ? "recurrent" : "chunked Q" + std::to_string(Q);
}

}  // namespace

CUDA_TEST("SSD: recurrent and chunked, CUDA == CPU, with initial and final state") {
  struct Case {
    int64_t B, T, H, P, N, G;
  };
  for (Dtype dt : {Dtype::f64, Dtype::f32}) {
    for (const Case& c : {Case{2, 37, 4, 3, 5, 2}, Case{1, 70, 6, 16, 24, 3}}) {
      Tensor x = rand_leaf({c.B, c.T, c.H, c.P}, 30, dt), delta = positive_leaf({c.B, c.T, c.H}, 31, dt);
      Tensor A = negative_leaf({c.H}, 32, dt);
      Tensor Bm = rand_leaf({c.B, c.T, c.G, c.N}, 33, dt), Cm = rand_leaf({c.B, c.T, c.G, c.N}, 34, dt);
      Tensor h0 = rand_leaf({c.B, c.H, c.P, c.N}, 35, dt, 0.5);
      for (auto [impl, Q] : {std::pair{ops::ScanImpl::recurrent, int64_t{0}}, std::pair{ops::ScanImpl::chunked, int64_t{8}},
                             std::pair{ops::ScanImpl::chunked, int64_t{16}}, std::pair{ops::ScanImpl::chunked, int64_t{64}}}) {
        const std::string name = "ssd " + impl_name(impl, Q) + " B" + std::to_string(c.B) + " T" + std::to_string(c.T) +
                                 " H" + std::to_string(c.H) + " P" + std::to_string(c.P) + " N" + std::to_string(c.N) +
                                 " G" + std::to_string(c.G) + " " + dtype_name(dt);
        check_cuda_matches_cpu(name, [impl = impl, Q = Q](const Inputs& in) {
          ops::SsdResult r = ops::ssd(in[0], in[1], in[2], in[3], in[4], in[5], impl, Q);
          return Inputs{r.y, r.final_state};
        }, {x, delta, A, Bm, Cm, h0}, tol_for(dt, 1e-4));
      }
      check_cuda_matches_cpu("ssd chunked Q16 without initial state", [](const Inputs& in) {
        ops::SsdResult r = ops::ssd(in[0], in[1], in[2], in[3], in[4], Tensor(), ops::ScanImpl::chunked, 16);
        return Inputs{r.y, r.final_state};
      }, {x, delta, A, Bm, Cm}, tol_for(dt, 1e-4));
    }
  }
}

CUDA_TEST("SSD: the chunked CUDA scan equals the CPU recurrence") {
  Tensor x = rand_leaf({2, 37, 4, 3, }, 36, Dtype::f64), delta = positive_leaf({2, 37, 4}, 37, Dtype::f64);
  Tensor A = negative_leaf({4}, 38, Dtype::f64);
  Tensor Bm = rand_leaf({2, 37, 2, 5}, 39, Dtype::f64), Cm = rand_leaf({2, 37, 2, 5}, 40, Dtype::f64);
  Tensor h0 = rand_leaf({2, 4, 3, 5}, 41, Dtype::f64);
  ops::SsdResult ref = ops::ssd(x, delta, A, Bm, Cm, h0, ops::ScanImpl::recurrent);
  Inputs g;
  for (const Tensor& t : {x, delta, A, Bm, Cm, h0}) g.push_back(to_cuda_leaf(t));
  ops::SsdResult out = ops::ssd(g[0], g[1], g[2], g[3], g[4], g[5], ops::ScanImpl::chunked, 10);
  CHECK_CLOSE("y", host(out.y), ref.y, 1e-11);
  CHECK_CLOSE("final state", host(out.final_state), ref.final_state, 1e-11);
}

CUDA_TEST("SSD decode: token-by-token steps with the state carried == the chunked whole sequence") {
  const int64_t B = 2, T = 23, H = 4, P = 8, N = 16, G = 2;
  Tensor x = Tensor::randn({B, T, H, P}, 42).to(Device::cuda());
  Tensor delta = (ops::softplus(Tensor::randn({B, T, H}, 43)) * 0.5).to(Device::cuda());
  Tensor A = (-ops::exp(Tensor::randn({H}, 44, Dtype::f32, Device::cpu(), 0.5))).to(Device::cuda());
  Tensor Bm = Tensor::randn({B, T, G, N}, 45).to(Device::cuda()), Cm = Tensor::randn({B, T, G, N}, 46).to(Device::cuda());
  ops::SsdResult whole = ops::ssd(x, delta, A, Bm, Cm, Tensor(), ops::ScanImpl::chunked, 8);
  Tensor state = Tensor::zeros({B, H, P, N}, Dtype::f32, Device::cuda());
  std::vector<Tensor> ys;
  for (int64_t t = 0; t < T; ++t) {
    auto step = [t](const Tensor& v) { return ops::contiguous(ops::slice(v, 1, t, t + 1)); };
    ops::SsdResult r = ops::ssd(step(x), step(delta), A, step(Bm), step(Cm), state, ops::ScanImpl::recurrent);
    ys.push_back(r.y);
    state = r.final_state;
  }
  CHECK_CLOSE("y, step by step", host(ops::concat(ys, 1)), host(whole.y), 1e-5);
  CHECK_CLOSE("final state, step by step", host(state), host(whole.final_state), 1e-5);
}

CUDA_TEST("selective scan: CUDA == CPU, with initial and final state") {
  for (Dtype dt : {Dtype::f64, Dtype::f32}) {
    for (int64_t E : {67, 5}) {  // 67: three warps, the last one partly empty; 5: one partial warp
      const int64_t B = 2, T = 37, N = 5;
      Tensor x = rand_leaf({B, T, E}, 50, dt), delta = positive_leaf({B, T, E}, 51, dt);
      Tensor A = negative_leaf({E, N}, 52, dt);
      Tensor Bm = rand_leaf({B, T, N}, 53, dt), Cm = rand_leaf({B, T, N}, 54, dt);
      Tensor h0 = rand_leaf({B, E, N}, 55, dt, 0.5);
      for (auto [impl, Q] : {std::pair{ops::ScanImpl::recurrent, int64_t{0}}, std::pair{ops::ScanImpl::chunked, int64_t{8}},
                             std::pair{ops::ScanImpl::chunked, int64_t{64}}}) {
        const std::string name = "selective_scan " + impl_name(impl, Q) + " B2 T37 E" + std::to_string(E) + " N5 " +
                                 dtype_name(dt);
        check_cuda_matches_cpu(name, [impl = impl, Q = Q](const Inputs& in) {
          ops::SelectiveScanResult r = ops::selective_scan(in[0], in[1], in[2], in[3], in[4], in[5], impl, Q);
          return Inputs{r.y, r.final_state};
        }, {x, delta, A, Bm, Cm, h0}, tol_for(dt, 1e-4));
      }
    }
  }
}

CUDA_TEST("gated linear attention: both readouts, CUDA == CPU, with initial and final state") {
  for (Dtype dt : {Dtype::f64, Dtype::f32}) {
    const int64_t B = 2, T = 37, H = 3, K = 5, V = 7;
    Tensor q = rand_leaf({B, T, H, K}, 60, dt), k = rand_leaf({B, T, H, K}, 61, dt), v = rand_leaf({B, T, H, V}, 62, dt);
    Tensor g = negative_leaf({B, T, H, K}, 63, dt), u = rand_leaf({H, K}, 64, dt);
    Tensor h0 = rand_leaf({B, H, K, V}, 65, dt, 0.5);
    for (bool bonus : {false, true}) {
      for (auto [impl, Q] : {std::pair{ops::ScanImpl::recurrent, int64_t{0}}, std::pair{ops::ScanImpl::chunked, int64_t{8}},
                             std::pair{ops::ScanImpl::chunked, int64_t{64}}}) {
        const std::string name = std::string("gla ") + (bonus ? "pre_update_bonus " : "post_update ") +
                                 impl_name(impl, Q) + " B2 T37 H3 K5 V7 " + dtype_name(dt);
        check_cuda_matches_cpu(name, [impl = impl, Q = Q, bonus](const Inputs& in) {
          ops::GlaResult r = ops::gla(in[0], in[1], in[2], in[3], bonus ? in[4] : Tensor(), in[5],
                                      bonus ? ops::GlaReadout::pre_update_bonus : ops::GlaReadout::post_update, impl, Q);
          return Inputs{r.o, r.final_state};
        }, {q, k, v, g, bonus ? u : Tensor(), h0}, tol_for(dt, 1e-4));
      }
    }
  }
}
