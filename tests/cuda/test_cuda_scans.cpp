// tests/cuda/test_cuda_scans.cpp — the three recurrent scans on CUDA against the CPU reference: the
// Mamba-2 SSD (recurrent and chunked), the Mamba-1 selective scan and gated linear attention (both
// readouts), forward and every gradient (inputs, decays, initial state) through the output and the
// final state, with chunk lengths that do not divide T; the SSD decode step (T = 1, state carried)
// against the chunked whole sequence; every version of a kernel that has several
// (ops/kernel_versions.h). Skipped without a GPU (see tests/support/cuda_testing.h).
#include <cstdlib>

#include "autograd/engine.h"         // defines: backward
#include "autograd/grad_mode.h"      // defines: NoGradGuard
#include "tests/support/cuda_testing.h"            // defines: check_cuda_matches_cpu, cuda_available, host
#include "ops/kernel_versions.h"  // defines: KernelVersionGuard, last_kernel_version_ran
#include "ops/ops.h"              // defines: the op API
#include "ops/scan/gla.h"            // defines: gla
#include "ops/scan/selective_scan.h" // defines: selective_scan
#include "ops/scan/ssd.h"            // defines: ssd
#include "tests/support/scan_inputs.h"  // defines: make_ssd_inputs, make_selective_scan_inputs, make_gla_inputs

using namespace ssm;
using namespace ssm::testing;
using Inputs = std::vector<Tensor>;

SSM_CUDA_AVAILABILITY_TEST()

#define CUDA_TEST(name) TEST_CASE(name* doctest::skip(!cuda_available()))

namespace {

std::string impl_name(ops::ScanImpl impl, int64_t Q) {
  return impl == ops::ScanImpl::recurrent ? "recurrent" : "chunked Q" + std::to_string(Q);
}

}  // namespace

CUDA_TEST("SSD: recurrent and chunked, CUDA == CPU, with initial and final state") {
  for (Dtype dt : {Dtype::f64, Dtype::f32}) {
    for (const SsdShape& c : {SsdShape{2, 37, 4, 3, 2, 5}, SsdShape{1, 70, 6, 16, 3, 24}}) {
      const SsdInputs p = make_ssd_inputs(c, 30, dt);
      for (auto [impl, Q] : {std::pair{ops::ScanImpl::recurrent, int64_t{0}}, std::pair{ops::ScanImpl::chunked, int64_t{8}},
                             std::pair{ops::ScanImpl::chunked, int64_t{16}}, std::pair{ops::ScanImpl::chunked, int64_t{64}}}) {
        const std::string name = "ssd " + impl_name(impl, Q) + " " + describe(c) + " " + dtype_name(dt);
        check_cuda_matches_cpu(name, [impl = impl, Q = Q](const Inputs& in) {
          ops::SsdResult r = ops::ssd(in[0], in[1], in[2], in[3], in[4], in[5], impl, Q);
          return Inputs{r.y, r.final_state};
        }, p.all(), tol_for(dt, 1e-4));
      }
      check_cuda_matches_cpu("ssd chunked Q16 without initial state", [](const Inputs& in) {
        ops::SsdResult r = ops::ssd(in[0], in[1], in[2], in[3], in[4], Tensor(), ops::ScanImpl::chunked, 16);
        return Inputs{r.y, r.final_state};
      }, {p.x, p.dt, p.A, p.B, p.C}, tol_for(dt, 1e-4));
    }
  }
}

CUDA_TEST("SSD chunked forward, version 2 (tensor cores, tf32): CUDA == CPU at awkward sizes, gradients too") {
  // P and N not multiples of 16 (padded tiles), T not a multiple of the chunk, odd head counts,
  // groups, a chunk longer than one 64-step row block (Q 100: two row blocks, the second one
  // partial), and more than 32 tiles of S_c (P 80 x N 120: 5 x 8, a second block along y).
  ops::KernelVersionGuard v2("ssd_chunked_forward", 2);
  for (auto [c, Q] : {std::pair{SsdShape{2, 37, 3, 3, 1, 5}, int64_t{16}}, std::pair{SsdShape{1, 70, 6, 16, 3, 24}, int64_t{64}},
                      std::pair{SsdShape{1, 150, 1, 20, 1, 18}, int64_t{100}}, std::pair{SsdShape{1, 40, 1, 80, 1, 120}, int64_t{32}}}) {
    const SsdInputs p = make_ssd_inputs(c, 31, Dtype::f32);
    const std::string name = "ssd v2 chunked Q" + std::to_string(Q) + " " + describe(c);
    check_cuda_matches_cpu(name, [Q = Q](const Inputs& in) {
      ops::SsdResult r = ops::ssd(in[0], in[1], in[2], in[3], in[4], in[5], ops::ScanImpl::chunked, Q);
      return Inputs{r.y, r.final_state};
    }, p.all(), 3e-3);  // tf32 operands: about 5e-4 relative per product
    CHECK_MESSAGE(ops::last_kernel_version_ran("ssd_chunked_forward") == 2, name);
  }
  // f64 has no tensor-core form: version 1 runs, exactly as without the choice.
  const SsdInputs p = make_ssd_inputs({2, 37, 3, 3, 1, 5}, 31, Dtype::f64);
  check_cuda_matches_cpu("ssd v2 chosen, f64", [](const Inputs& in) {
    ops::SsdResult r = ops::ssd(in[0], in[1], in[2], in[3], in[4], in[5], ops::ScanImpl::chunked, 16);
    return Inputs{r.y, r.final_state};
  }, p.all(), 1e-11);
  CHECK(ops::last_kernel_version_ran("ssd_chunked_forward") == 1);
}

CUDA_TEST("SSD chunked backward, version 2 (tensor cores, tf32): every gradient == CPU at awkward sizes") {
  // Odd head counts, groups, P and N not multiples of 16, T not a multiple of the chunk, a chunk
  // of three row blocks (Q 150: the pair loops run over blocks 0..2, the last one 22 steps), more
  // than 32 state tiles (P 80 x N 120) and N up to 256 in one block (P 16 x N 200). The gradients
  // come through y and the final state (dhT), and reach h0 (dh0).
  ops::KernelVersionGuard forward("ssd_chunked_forward", 2);
  ops::KernelVersionGuard backward("ssd_chunked_backward", 2);
  for (auto [c, Q] : {std::pair{SsdShape{2, 37, 3, 3, 1, 5}, int64_t{16}}, std::pair{SsdShape{1, 37, 6, 16, 3, 24}, int64_t{16}},
                      std::pair{SsdShape{1, 150, 1, 9, 1, 7}, int64_t{150}}, std::pair{SsdShape{1, 20, 1, 80, 1, 120}, int64_t{16}},
                      std::pair{SsdShape{1, 25, 1, 16, 1, 200}, int64_t{20}}}) {
    const SsdInputs p = make_ssd_inputs(c, 32, Dtype::f32);
    const std::string name = "ssd backward v2 chunked Q" + std::to_string(Q) + " " + describe(c);
    check_cuda_matches_cpu(name, [Q = Q](const Inputs& in) {
      ops::SsdResult r = ops::ssd(in[0], in[1], in[2], in[3], in[4], in[5], ops::ScanImpl::chunked, Q);
      return Inputs{r.y, r.final_state};
    }, p.all(), 3e-3);  // tf32 operands, as the forward
    CHECK_MESSAGE(ops::last_kernel_version_ran("ssd_chunked_backward") == 2, name);
  }
  // Version 2 of the backward needs no version 2 of the forward.
  {
    ops::KernelVersionGuard forward_v1("ssd_chunked_forward", 1);
    const SsdInputs p = make_ssd_inputs({2, 37, 3, 3, 1, 5}, 33, Dtype::f32);
    check_cuda_matches_cpu("ssd backward v2 after forward v1", [](const Inputs& in) {
      ops::SsdResult r = ops::ssd(in[0], in[1], in[2], in[3], in[4], in[5], ops::ScanImpl::chunked, 16);
      return Inputs{r.y, r.final_state};
    }, p.all(), 3e-3);
    CHECK(ops::last_kernel_version_ran("ssd_chunked_backward") == 2);
  }
  // f64 has no tensor-core form: version 1 runs.
  const SsdInputs p = make_ssd_inputs({2, 37, 3, 3, 1, 5}, 31, Dtype::f64);
  check_cuda_matches_cpu("ssd backward v2 chosen, f64", [](const Inputs& in) {
    ops::SsdResult r = ops::ssd(in[0], in[1], in[2], in[3], in[4], in[5], ops::ScanImpl::chunked, 16);
    return Inputs{r.y, r.final_state};
  }, p.all(), 1e-11);
  CHECK(ops::last_kernel_version_ran("ssd_chunked_backward") == 1);
}

CUDA_TEST("SSD chunked, versions 2 on a GPU with less shared memory: shapes that do not fit run version 1") {
  // The mamba2 shape P 64, N 128 at chunk 256 needs about 101 KiB (forward) and 135 KiB (backward)
  // per block: it fits an H100 (227 KiB) and an A100 (163 KiB) but not an sm_86 card (99 KiB).
  // Emulated devices take their limit from SSMLAB_EMULATED_MAX_SHARED_KIB; on a real GPU the
  // environment changes nothing, and the device's own limit decides.
#if defined(SSMLAB_CUDA_EMULATED)
  ops::KernelVersionGuard forward("ssd_chunked_forward", 2);
  ops::KernelVersionGuard backward("ssd_chunked_backward", 2);
  const SsdInputs p = make_ssd_inputs({1, 256, 1, 64, 1, 128}, 34, Dtype::f32);
  const auto run = [](const Inputs& in) {
    ops::SsdResult r = ops::ssd(in[0], in[1], in[2], in[3], in[4], in[5], ops::ScanImpl::chunked, 256);
    return Inputs{r.y, r.final_state};
  };
  for (const auto& [kib, version] : {std::pair{"99", 1}, std::pair{"163", 2}}) {
    setenv("SSMLAB_EMULATED_MAX_SHARED_KIB", kib, 1);
    check_cuda_matches_cpu(std::string("ssd v2 chosen, ") + kib + " KiB per block", run, p.all(), 3e-3);
    CHECK_MESSAGE(ops::last_kernel_version_ran("ssd_chunked_forward") == version, kib);
    CHECK_MESSAGE(ops::last_kernel_version_ran("ssd_chunked_backward") == version, kib);
  }
  unsetenv("SSMLAB_EMULATED_MAX_SHARED_KIB");  // the emulator's default: an H100's 227 KiB
#endif
}

CUDA_TEST("SSD: the chunked CUDA scan equals the CPU recurrence") {
  const SsdInputs p = make_ssd_inputs({2, 37, 4, 3, 2, 5}, 36);
  ops::SsdResult ref = ops::ssd(p.x, p.dt, p.A, p.B, p.C, p.h0, ops::ScanImpl::recurrent);
  Inputs g;
  for (const Tensor& t : p.all()) g.push_back(to_cuda_leaf(t));
  ops::SsdResult out = ops::ssd(g[0], g[1], g[2], g[3], g[4], g[5], ops::ScanImpl::chunked, 10);
  CHECK_CLOSE("y", host(out.y), ref.y, 1e-11);
  CHECK_CLOSE("final state", host(out.final_state), ref.final_state, 1e-11);
}

CUDA_TEST("SSD decode: token-by-token steps with the state carried == the chunked whole sequence") {
  autograd::NoGradGuard no_grad;
  const int64_t B = 2, T = 23, H = 4, P = 8, N = 16;
  const SsdInputs p = make_ssd_inputs({B, T, H, P, 2, N}, 42, Dtype::f32, Device::cuda());
  ops::SsdResult whole = ops::ssd(p.x, p.dt, p.A, p.B, p.C, Tensor(), ops::ScanImpl::chunked, 8);
  Tensor state = Tensor::zeros({B, H, P, N}, Dtype::f32, Device::cuda());
  std::vector<Tensor> ys;
  for (int64_t t = 0; t < T; ++t) {
    auto step = [t](const Tensor& v) { return ops::contiguous(ops::slice(v, 1, t, t + 1)); };
    ops::SsdResult r = ops::ssd(step(p.x), step(p.dt), p.A, step(p.B), step(p.C), state, ops::ScanImpl::recurrent);
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
      const SelectiveScanInputs p = make_selective_scan_inputs({B, T, E, N}, 50, dt);
      for (auto [impl, Q] : {std::pair{ops::ScanImpl::recurrent, int64_t{0}}, std::pair{ops::ScanImpl::chunked, int64_t{8}},
                             std::pair{ops::ScanImpl::chunked, int64_t{64}}}) {
        const std::string name = "selective_scan " + impl_name(impl, Q) + " B2 T37 E" + std::to_string(E) + " N5 " +
                                 dtype_name(dt);
        check_cuda_matches_cpu(name, [impl = impl, Q = Q](const Inputs& in) {
          ops::SelectiveScanResult r = ops::selective_scan(in[0], in[1], in[2], in[3], in[4], in[5], impl, Q);
          return Inputs{r.y, r.final_state};
        }, p.all(), tol_for(dt, 1e-4));
      }
    }
  }
}

CUDA_TEST("selective scan, version 2 (parallel over time): CUDA == CPU, forward and every gradient") {
  // T within one chunk of 64 steps, and over three and five (the last partial); E over several
  // groups of 32 channels (the last partial) and under one; N up to 16, the most version 2 takes.
  ops::KernelVersionGuard v2("selective_scan", 2);
  for (Dtype dt : {Dtype::f64, Dtype::f32}) {
    for (const SelectiveScanShape& c : {SelectiveScanShape{2, 37, 67, 5}, SelectiveScanShape{1, 300, 5, 16},
                                        SelectiveScanShape{2, 129, 33, 3}}) {
      if (dt == Dtype::f64 && c.seqlen != 300) continue;  // f64 once, on the longest sequence
      const SelectiveScanInputs p = make_selective_scan_inputs(c, 51, dt);
      const std::string name = "selective_scan v2 B" + std::to_string(c.batch) + " T" + std::to_string(c.seqlen) +
                               " E" + std::to_string(c.channels) + " N" + std::to_string(c.dstate) + " " +
                               dtype_name(dt);
      check_cuda_matches_cpu(name, [](const Inputs& in) {
        ops::SelectiveScanResult r = ops::selective_scan(in[0], in[1], in[2], in[3], in[4], in[5],
                                                         ops::ScanImpl::recurrent);
        return Inputs{r.y, r.final_state};
      }, p.all(), tol_for(dt, 1e-4));
      CHECK_MESSAGE(ops::last_kernel_version_ran("selective_scan") == 2, name);
    }
  }
  // Without an initial state; and N 17, more than version 2 keeps in registers: version 1 runs.
  const SelectiveScanInputs p = make_selective_scan_inputs({1, 40, 7, 17}, 52, Dtype::f64);
  check_cuda_matches_cpu("selective_scan v2 chosen, N17", [](const Inputs& in) {
    ops::SelectiveScanResult r = ops::selective_scan(in[0], in[1], in[2], in[3], in[4], Tensor(),
                                                     ops::ScanImpl::recurrent);
    return Inputs{r.y, r.final_state};
  }, {p.x, p.dt, p.A, p.B, p.C}, 1e-11);
  CHECK(ops::last_kernel_version_ran("selective_scan") == 1);
  const SelectiveScanInputs q = make_selective_scan_inputs({1, 40, 7, 16}, 53, Dtype::f64);
  check_cuda_matches_cpu("selective_scan v2 without initial state", [](const Inputs& in) {
    ops::SelectiveScanResult r = ops::selective_scan(in[0], in[1], in[2], in[3], in[4], Tensor(),
                                                     ops::ScanImpl::recurrent);
    return Inputs{r.y, r.final_state};
  }, {q.x, q.dt, q.A, q.B, q.C}, 1e-11);
  CHECK(ops::last_kernel_version_ran("selective_scan") == 2);
}

CUDA_TEST("gated linear attention, version 2 (tensor cores, tf32): forward and backward, both readouts == CPU") {
  // K and V not multiples of 16, T within one chunk of 64 and over three (the last partial), odd
  // head counts, K = V = 128 (the largest version 2 takes), and decays of about e^-55 a step
  // (log_decay_shift 4): within a chunk the log-decays reach -3,500, which the reference decays of
  // the row and column blocks keep from overflowing. Every gradient (q, k, v, g, u, h0) through o
  // and hT, with a non-zero initial state.
  ops::KernelVersionGuard v2("gla_forward", 2), v2_backward("gla_backward", 2);
  struct Case {
    GlaShape shape;
    double shift;
  };
  for (const Case& c : {Case{{2, 37, 3, 5, 7}, 0.0}, Case{{1, 150, 2, 64, 64}, 0.0}, Case{{1, 70, 1, 20, 33}, 4.0},
                        Case{{1, 40, 1, 128, 128}, -1.0}}) {
    const GlaInputs p = make_gla_inputs(c.shape, 61, ops::GlaReadout::pre_update_bonus, Dtype::f32, c.shift);
    for (bool bonus : {false, true}) {
      const std::string name = std::string("gla v2 ") + (bonus ? "pre_update_bonus" : "post_update") + " B" +
                               std::to_string(c.shape.batch) + " T" + std::to_string(c.shape.seqlen) + " H" +
                               std::to_string(c.shape.heads) + " K" + std::to_string(c.shape.dk) + " V" +
                               std::to_string(c.shape.dv) + " shift " + std::to_string(c.shift);
      check_cuda_matches_cpu(name, [bonus](const Inputs& in) {
        ops::GlaResult r = ops::gla(in[0], in[1], in[2], in[3], bonus ? in[4] : Tensor(), in[5],
                                    bonus ? ops::GlaReadout::pre_update_bonus : ops::GlaReadout::post_update,
                                    ops::ScanImpl::chunked, 32);
        return Inputs{r.o, r.final_state};
      }, {p.q, p.k, p.v, p.g, bonus ? p.u : Tensor(), p.h0}, 3e-3);
      CHECK_MESSAGE(ops::last_kernel_version_ran("gla_forward") == 2, name);
      CHECK_MESSAGE(ops::last_kernel_version_ran("gla_backward") == 2, name);
    }
  }
  // f64 has no tensor-core form: version 1 runs.
  const GlaInputs p = make_gla_inputs({1, 20, 1, 5, 7}, 62, ops::GlaReadout::post_update, Dtype::f64, 0.0);
  check_cuda_matches_cpu("gla v2 chosen, f64", [](const Inputs& in) {
    ops::GlaResult r = ops::gla(in[0], in[1], in[2], in[3], Tensor(), in[4], ops::GlaReadout::post_update,
                                ops::ScanImpl::chunked, 32);
    return Inputs{r.o, r.final_state};
  }, {p.q, p.k, p.v, p.g, p.h0}, 1e-11);
  CHECK(ops::last_kernel_version_ran("gla_forward") == 1);
  CHECK(ops::last_kernel_version_ran("gla_backward") == 1);
}

CUDA_TEST("gated linear attention, versions 2 on a GPU with less shared memory: shapes that do not fit run version 1") {
  // RWKV's head, K = V = 64, needs about 100 KiB per block (forward) and 104 KiB (backward): it fits
  // an A100 (163 KiB) but not an sm_86 card (99 KiB). Emulated devices take their limit from
  // SSMLAB_EMULATED_MAX_SHARED_KIB, as in the SSD's test above.
#if defined(SSMLAB_CUDA_EMULATED)
  ops::KernelVersionGuard forward("gla_forward", 2), backward("gla_backward", 2);
  const GlaInputs p = make_gla_inputs({1, 20, 1, 64, 64}, 63, ops::GlaReadout::pre_update_bonus, Dtype::f32, 0.0);
  const auto run = [](const Inputs& in) {
    ops::GlaResult r = ops::gla(in[0], in[1], in[2], in[3], in[4], in[5], ops::GlaReadout::pre_update_bonus,
                                ops::ScanImpl::chunked, 32);
    return Inputs{r.o, r.final_state};
  };
  for (const auto& [kib, version] : {std::pair{"99", 1}, std::pair{"163", 2}}) {
    setenv("SSMLAB_EMULATED_MAX_SHARED_KIB", kib, 1);
    check_cuda_matches_cpu(std::string("gla v2 chosen, ") + kib + " KiB per block", run,
                           {p.q, p.k, p.v, p.g, p.u, p.h0}, 3e-3);
    CHECK_MESSAGE(ops::last_kernel_version_ran("gla_forward") == version, kib);
    CHECK_MESSAGE(ops::last_kernel_version_ran("gla_backward") == version, kib);
  }
  unsetenv("SSMLAB_EMULATED_MAX_SHARED_KIB");
#endif
}

CUDA_TEST("gated linear attention, both versions: no steps (T = 0) hands the state through, and no batch is no work") {
  for (int version : {1, 2}) {
    ops::KernelVersionGuard forward("gla_forward", version), backward("gla_backward", version);
    for (const GlaShape& shape : {GlaShape{2, 0, 3, 5, 7}, GlaShape{0, 9, 3, 5, 7}}) {
      const GlaInputs p = make_gla_inputs(shape, 64, ops::GlaReadout::pre_update_bonus, Dtype::f32, 0.0);
      Inputs in;
      for (const Tensor& t : {p.q, p.k, p.v, p.g, p.u, p.h0}) in.push_back(to_cuda_leaf(t));
      ops::GlaResult r = ops::gla(in[0], in[1], in[2], in[3], in[4], in[5], ops::GlaReadout::pre_update_bonus,
                                  ops::ScanImpl::chunked, 32);
      CHECK(r.o.shape() == Shape{shape.batch, shape.seqlen, shape.heads, shape.dv});
      CHECK_CLOSE("T 0: the final state is h0", host(r.final_state), p.h0, 0.0);
      const Tensor w = Tensor::randn(r.final_state.shape(), 65, Dtype::f32);
      autograd::backward({r.final_state}, {w.to(Device::cuda())});
      CHECK_CLOSE("T 0: dh0 is dhT", host(in[5].grad()), w, 0.0);
      CHECK_CLOSE("T 0: du is zero", host(in[4].grad()), Tensor::zeros(p.u.shape(), Dtype::f32), 0.0);
      CHECK_MESSAGE(ops::last_kernel_version_ran("gla_backward") == version, version);
    }
  }
}

CUDA_TEST("gated linear attention: both readouts, CUDA == CPU, with initial and final state") {
  for (Dtype dt : {Dtype::f64, Dtype::f32}) {
    const int64_t B = 2, T = 37, H = 3, K = 5, V = 7;
    // log_decay_shift 0: g = -exp(N(0, 0.5²)), about -1.1 a step, so a 64-step chunk accumulates a
    // log-decay near -70 and the kernels' within-chunk decays span most of f32's exponent range.
    const GlaInputs p = make_gla_inputs({B, T, H, K, V}, 60, ops::GlaReadout::pre_update_bonus, dt, 0.0);
    for (bool bonus : {false, true}) {
      for (auto [impl, Q] : {std::pair{ops::ScanImpl::recurrent, int64_t{0}}, std::pair{ops::ScanImpl::chunked, int64_t{8}},
                             std::pair{ops::ScanImpl::chunked, int64_t{64}}}) {
        const std::string name = std::string("gla ") + (bonus ? "pre_update_bonus " : "post_update ") +
                                 impl_name(impl, Q) + " B2 T37 H3 K5 V7 " + dtype_name(dt);
        check_cuda_matches_cpu(name, [impl = impl, Q = Q, bonus](const Inputs& in) {
          ops::GlaResult r = ops::gla(in[0], in[1], in[2], in[3], bonus ? in[4] : Tensor(), in[5],
                                      bonus ? ops::GlaReadout::pre_update_bonus : ops::GlaReadout::post_update, impl, Q);
          return Inputs{r.o, r.final_state};
        }, {p.q, p.k, p.v, p.g, bonus ? p.u : Tensor(), p.h0}, tol_for(dt, 1e-4));
      }
    }
  }
}
