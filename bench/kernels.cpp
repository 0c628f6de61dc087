// bench/kernels.cpp — the kernel benchmarks of ssmlab bench: each calls one Backend kernel on
// preallocated tensors, with its ideal memory traffic and arithmetic (docs/performance.md) for the
// achieved GB/s and TFLOP/s. The scans and norms run on CUDA cores (fp32 peak); GEMMs on the
// tensor cores their precision selects. A kernel with several versions (docs/kernels.md) has a
// row per version.
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"  // defines: absl::StrAppend
#include "autograd/grad_mode.h"  // defines: NoGradGuard
#include "bench/suite.h"  // defines: Sizes, Benchmark, TrainSpec, TrainStep
#include "core/error.h"           // defines: SSM_USER_CHECK
#include "ops/backend.h"         // defines: backend_for, SsdShape, SelectiveScanShape, GlaShape
#include "ops/kernel_versions.h"  // defines: KernelVersionGuard, last_kernel_version_ran
#include "ops/ops.h"             // defines: add, softplus, exp, reshape
#include "ops/precision.h"       // defines: MatmulPrecisionGuard
#include "models/model_factory.h"  // defines: make_model

namespace ssm::bench {
namespace {

// Random values on `device` without drawing every element on the host: above a million elements,
// a random column plus a random row (cheap at any size, and random enough for timing).
Tensor random_on(Device device, const Shape& shape, uint64_t seed, double scale = 1.0) {
  autograd::NoGradGuard no_grad;
  const int64_t n = shape_numel(shape), last = shape.empty() ? 1 : shape.back();
  Tensor t;
  if (n <= (int64_t{1} << 20)) {
    t = Tensor::randn(shape, seed).to(device);
  } else {
    Tensor col = Tensor::randn({n / last, 1}, seed).to(device), row = Tensor::randn({1, last}, seed + 1).to(device);
    t = ops::reshape(ops::add(col, row), shape);
  }
  return scale == 1.0 ? t : ops::mul_scalar(t, scale);
}
Tensor positive_on(Device device, const Shape& shape, uint64_t seed) {  // Δ-like, in (0, ~1.5)
  autograd::NoGradGuard no_grad;
  return ops::mul_scalar(ops::softplus(random_on(device, shape, seed)), 0.5);
}
Tensor negative_on(Device device, const Shape& shape, uint64_t seed) {  // A-like, < 0
  autograd::NoGradGuard no_grad;
  return ops::neg(ops::exp(random_on(device, shape, seed, 0.5)));
}
Tensor empty_on(Device device, const Shape& shape, Dtype dtype = Dtype::f32) { return Tensor::empty(shape, dtype, device); }
std::string dims(std::initializer_list<std::pair<const char*, int64_t>> named) {
  std::string out;
  for (const auto& [letter, value] : named) absl::StrAppend(&out, out.empty() ? "" : " ", letter, value);
  return out;
}

void add_gemms(std::vector<Benchmark>& out, const Sizes& s, Device device) {
  const int64_t n = s.gemm;
  Tensor a = random_on(device, {n, n}, 1), b = random_on(device, {n, n}, 2), c = empty_on(device, {n, n});
  const double flops = 2.0 * n * n * n, bytes32 = 3.0 * n * n * 4;
  auto gemm = [device, n](Tensor a, Tensor b, Tensor c, ops::MatmulPrecision precision) {
    return [=] {
      ops::MatmulPrecisionGuard guard(precision);
      backend_for(device).gemm(false, false, 1, n, n, n, 1.0, a, n, 0, b, n, 0, 0.0, c, n, 0);
    };
  };
  const std::string shape = dims({{"M", n}, {"N", n}, {"K", n}});
  out.push_back({"gemm f32 (strict fp32)", shape, bytes32, flops, Peak::fp32, gemm(a, b, c, ops::MatmulPrecision::fp32)});
  if (!device.is_cuda()) return;  // the CPU has one GEMM precision
  out.push_back({"gemm f32 (tf32 tensor cores)", shape, bytes32, flops, Peak::tf32, gemm(a, b, c, ops::MatmulPrecision::tf32)});
  out.push_back({"gemm f32 (bf16-mixed)", shape, bytes32, flops, Peak::bf16, gemm(a, b, c, ops::MatmulPrecision::bf16)});
  autograd::NoGradGuard no_grad;
  Tensor a16 = ops::cast(a, Dtype::bf16), b16 = ops::cast(b, Dtype::bf16), c16 = empty_on(device, {n, n}, Dtype::bf16);
  out.push_back({"gemm bf16 tensors", shape, 3.0 * n * n * 2, flops, Peak::bf16, gemm(a16, b16, c16, ops::MatmulPrecision::fp32)});
}

void add_ssd(std::vector<Benchmark>& out, const Sizes& s, Device device) {
  const int64_t B = s.batch, T = s.seqlen, H = s.ssd_heads, P = s.ssd_headdim, N = s.ssd_state, G = 1, Q = s.ssd_chunk;
  const int64_t E = H * P;
  const SsdShape shape{B, T, H, P, G, N};
  Tensor x = random_on(device, {B, T, H, P}, 3), dt = positive_on(device, {B, T, H}, 4), A = negative_on(device, {H}, 5);
  Tensor Bm = random_on(device, {B, T, G, N}, 6), Cm = random_on(device, {B, T, G, N}, 7);
  Tensor h0 = random_on(device, {B, H, P, N}, 8, 0.1), dy = random_on(device, {B, T, H, P}, 9);
  Tensor dhT = random_on(device, {B, H, P, N}, 10);
  Tensor y = empty_on(device, {B, T, H, P}), hT = empty_on(device, {B, H, P, N}), dx = empty_on(device, {B, T, H, P});
  Tensor ddt = empty_on(device, {B, T, H}), dA = empty_on(device, {H}), dB = empty_on(device, {B, T, G, N});
  Tensor dC = empty_on(device, {B, T, G, N}), dh0 = empty_on(device, {B, H, P, N});
  const double tokens = static_cast<double>(B * T);
  const double f_fwd = tokens * (2.0 * E * (Q + 2 * N) + 2.0 * Q * N * G);  // docs/performance.md, roofline of the SSD
  const std::string dimstr = dims({{"B", B}, {"T", T}, {"H", H}, {"P", P}, {"N", N}, {"Q", Q}});
  Backend* be = &backend_for(device);
  out.push_back({"ssd chunked forward", dimstr, tokens * 4 * (2.0 * E + 2 * G * N + H), f_fwd, Peak::fp32, [=] {
                   ops::KernelVersionGuard v1("ssd_chunked_forward", 1);
                   be->ssd_forward(shape, Q, x, dt, A, Bm, Cm, h0, y, hT);
                 }});
  if (device.is_cuda()) {  // version 2 (docs/kernels.md): the same work on the tf32 tensor cores
    out.push_back({"ssd chunked forward v2 (tensor cores, tf32)", dimstr, tokens * 4 * (2.0 * E + 2 * G * N + H), f_fwd,
                   Peak::tf32, [=] {
                     ops::KernelVersionGuard v2("ssd_chunked_forward", 2);
                     be->ssd_forward(shape, Q, x, dt, A, Bm, Cm, h0, y, hT);
                     SSM_USER_CHECK(ops::last_kernel_version_ran("ssd_chunked_forward") == 2,
                                    "bench: version 2 of ssd_chunked_forward does not take ", dimstr,
                                    " (docs/kernels.md: P <= 128, N <= 256, tiles within the shared memory of a block)");
                   }});
  }
  out.push_back({"ssd chunked backward", dimstr, tokens * 4 * (3.0 * E + 2 * H + 4 * G * N), 2 * f_fwd, Peak::fp32, [=] {
                   ops::KernelVersionGuard v1("ssd_chunked_backward", 1);
                   be->ssd_backward(shape, Q, x, dt, A, Bm, Cm, h0, dy, dhT, dx, ddt, dA, dB, dC, dh0);
                 }});
  if (device.is_cuda()) {
    out.push_back({"ssd chunked backward v2 (tensor cores, tf32)", dimstr, tokens * 4 * (3.0 * E + 2 * H + 4 * G * N),
                   2 * f_fwd, Peak::tf32, [=] {
                     ops::KernelVersionGuard v2("ssd_chunked_backward", 2);
                     be->ssd_backward(shape, Q, x, dt, A, Bm, Cm, h0, dy, dhT, dx, ddt, dA, dB, dC, dh0);
                     SSM_USER_CHECK(ops::last_kernel_version_ran("ssd_chunked_backward") == 2,
                                    "bench: version 2 of ssd_chunked_backward does not take ", dimstr,
                                    " (docs/kernels.md: P <= 128, N <= 256, tiles within the shared memory of a block)");
                   }});
  }
  // The recurrence over the same sequence (chunk 0): what the CPU runs in training and evaluation
  // (f32: the fused kernel), the same function as the chunked form.
  out.push_back({"ssd recurrent forward", dimstr, tokens * 4 * (2.0 * E + 2 * G * N + H), 5.0 * tokens * E * N,
                 Peak::fp32, [=] { be->ssd_forward(shape, 0, x, dt, A, Bm, Cm, h0, y, hT); }});
  out.push_back({"ssd recurrent backward", dimstr, tokens * 4 * (3.0 * E + 2 * H + 4 * G * N),
                 14.0 * tokens * E * N, Peak::fp32,
                 [=] { be->ssd_backward(shape, 0, x, dt, A, Bm, Cm, h0, dy, dhT, dx, ddt, dA, dB, dC, dh0); }});
  // The decode step: one token for every sequence, the state read and written (T = 1, chunk 0).
  const SsdShape step{B, 1, H, P, G, N};
  Tensor x1 = random_on(device, {B, 1, H, P}, 11), dt1 = positive_on(device, {B, 1, H}, 12);
  Tensor B1 = random_on(device, {B, 1, G, N}, 13), C1 = random_on(device, {B, 1, G, N}, 14), y1 = empty_on(device, {B, 1, H, P});
  out.push_back({"ssd decode step (recurrent)", dims({{"B", B}, {"T", 1}, {"H", H}, {"P", P}, {"N", N}}),
                 8.0 * B * H * P * N, 5.0 * B * H * P * N, Peak::fp32,
                 [=] { be->ssd_forward(step, 0, x1, dt1, A, B1, C1, h0, y1, hT); }});
}

void add_selective(std::vector<Benchmark>& out, const Sizes& s, Device device) {
  const int64_t B = s.batch, T = s.seqlen, E = s.sel_channels, N = s.sel_state;
  const SelectiveScanShape shape{B, T, E, N};
  Tensor x = random_on(device, {B, T, E}, 20), dt = positive_on(device, {B, T, E}, 21), A = negative_on(device, {E, N}, 22);
  Tensor Bm = random_on(device, {B, T, N}, 23), Cm = random_on(device, {B, T, N}, 24), h0 = random_on(device, {B, E, N}, 25, 0.1);
  Tensor dy = random_on(device, {B, T, E}, 26), dhT = random_on(device, {B, E, N}, 27);
  Tensor y = empty_on(device, {B, T, E}), hT = empty_on(device, {B, E, N}), dx = empty_on(device, {B, T, E});
  Tensor ddt = empty_on(device, {B, T, E}), dA = empty_on(device, {E, N}), dB = empty_on(device, {B, T, N});
  Tensor dC = empty_on(device, {B, T, N}), dh0 = empty_on(device, {B, E, N});
  const double tokens = static_cast<double>(B * T);
  const std::string dimstr = dims({{"B", B}, {"T", T}, {"E", E}, {"N", N}});
  Backend* be = &backend_for(device);
  // Each version (docs/kernels.md); the CPU has one.
  struct Version {
    int version;
    const char* forward;
    const char* backward;
  };
  const std::vector<Version> versions = {
      {1, "selective scan forward", "selective scan backward"},
      {2, "selective scan forward v2 (parallel over time)", "selective scan backward v2 (parallel over time)"}};
  for (const Version& v : versions) {
    if (v.version > 1 && !device.is_cuda()) break;
    const int version = v.version;
    const auto run_version = [version, device, dimstr](const std::function<void()>& call) {
      ops::KernelVersionGuard chosen("selective_scan", version);
      call();
      SSM_USER_CHECK(!device.is_cuda() || ops::last_kernel_version_ran("selective_scan") == version, "bench: version ",
                     version, " of selective_scan does not take ", dimstr, " (docs/kernels.md: N <= 16)");
    };
    out.push_back({v.forward, dimstr, tokens * 4 * (3.0 * E + 2 * N), tokens * 6.0 * E * N,
                   Peak::fp32, [=] { run_version([&] { be->selective_scan_forward(shape, 64, x, dt, A, Bm, Cm, h0, y, hT); }); }});
    out.push_back({v.backward, dimstr, tokens * 4 * (5.0 * E + 4 * N), tokens * 14.0 * E * N,
                   Peak::fp32, [=] {
                     run_version([&] {
                       be->selective_scan_backward(shape, 64, x, dt, A, Bm, Cm, h0, dy, dhT, dx, ddt, dA, dB, dC, dh0);
                     });
                   }});
  }
}

void add_gla(std::vector<Benchmark>& out, const Sizes& s, Device device) {
  const int64_t B = s.batch, T = s.seqlen, H = s.gla_heads, K = s.gla_dim, V = s.gla_dim;
  const GlaShape shape{B, T, H, K, V};
  Tensor q = random_on(device, {B, T, H, K}, 30), k = random_on(device, {B, T, H, K}, 31, 0.3);
  Tensor v = random_on(device, {B, T, H, V}, 32), g = negative_on(device, {B, T, H, K}, 33);
  Tensor u = random_on(device, {H, K}, 34), h0 = random_on(device, {B, H, K, V}, 35, 0.1);
  Tensor dout = random_on(device, {B, T, H, V}, 36), dhT = random_on(device, {B, H, K, V}, 37);
  Tensor o = empty_on(device, {B, T, H, V}), hT = empty_on(device, {B, H, K, V});
  Tensor dq = empty_on(device, {B, T, H, K}), dk = empty_on(device, {B, T, H, K}), dv = empty_on(device, {B, T, H, V});
  Tensor dg = empty_on(device, {B, T, H, K}), du = empty_on(device, {H, K}), dh0 = empty_on(device, {B, H, K, V});
  const double tokens = static_cast<double>(B * T);
  const std::string dimstr = dims({{"B", B}, {"T", T}, {"H", H}, {"K", K}, {"V", V}});
  Backend* be = &backend_for(device);
  out.push_back({"gla forward (rwkv bonus)", dimstr, tokens * 4 * (3.0 * H * K + 2 * H * V), tokens * 4.0 * H * K * V,
                 Peak::fp32, [=] {
                   ops::KernelVersionGuard v1("gla_forward", 1);
                   be->gla_forward(shape, 32, true, q, k, v, g, u, h0, o, hT);
                 }});
  if (device.is_cuda()) {  // version 2 (docs/kernels.md): the chunked form on the tf32 tensor cores
    out.push_back({"gla forward v2 (rwkv bonus, tensor cores, tf32)", dimstr, tokens * 4 * (3.0 * H * K + 2 * H * V),
                   tokens * 4.0 * H * K * V, Peak::tf32, [=] {
                     ops::KernelVersionGuard v2("gla_forward", 2);
                     be->gla_forward(shape, 32, true, q, k, v, g, u, h0, o, hT);
                     SSM_USER_CHECK(ops::last_kernel_version_ran("gla_forward") == 2,
                                    "bench: version 2 of gla_forward does not take ", dimstr,
                                    " (docs/kernels.md: K, V <= 128, tiles within the shared memory of a block)");
                   }});
  }
  out.push_back({"gla backward (rwkv bonus)", dimstr, tokens * 4 * (6.0 * H * K + 3 * H * V), tokens * 12.0 * H * K * V,
                 Peak::fp32, [=] {
                   ops::KernelVersionGuard v1("gla_backward", 1);
                   be->gla_backward(shape, 32, true, q, k, v, g, u, h0, dout, dhT, dq, dk, dv, dg, du, dh0);
                 }});
  if (device.is_cuda()) {  // version 2: the chunked form's gradients on the tf32 tensor cores
    out.push_back({"gla backward v2 (rwkv bonus, tensor cores, tf32)", dimstr, tokens * 4 * (6.0 * H * K + 3 * H * V),
                   tokens * 12.0 * H * K * V, Peak::tf32, [=] {
                     ops::KernelVersionGuard v2("gla_backward", 2);
                     be->gla_backward(shape, 32, true, q, k, v, g, u, h0, dout, dhT, dq, dk, dv, dg, du, dh0);
                     SSM_USER_CHECK(ops::last_kernel_version_ran("gla_backward") == 2,
                                    "bench: version 2 of gla_backward does not take ", dimstr,
                                    " (docs/kernels.md: K, V <= 128, tiles within the shared memory of a block)");
                   }});
  }
}

void add_rows(std::vector<Benchmark>& out, const Sizes& s, Device device) {
  const int64_t R = s.rows, C = s.width, V = s.vocab;
  Tensor x = random_on(device, {R, C}, 40), w = random_on(device, {C}, 41), dy = random_on(device, {R, C}, 42);
  Tensor y = empty_on(device, {R, C}), rstd = empty_on(device, {R}), dx = empty_on(device, {R, C}), dw = empty_on(device, {C});
  Tensor logits = random_on(device, {R, V}, 43, 2.0), probs = empty_on(device, {R, V}), dlogits = empty_on(device, {R, V});
  std::vector<int64_t> ids(R);
  for (int64_t i = 0; i < R; ++i) ids[i] = (i * 7919) % V;
  Tensor targets = Tensor::from_vector<int64_t>(ids, {R}).to(device);
  Tensor losses = empty_on(device, {R}), lse = empty_on(device, {R}), dlosses = random_on(device, {R}, 44);
  const double rc = static_cast<double>(R * C), rv = static_cast<double>(R * V);
  const std::string norm_shape = dims({{"R", R}, {"C", C}}), vocab_shape = dims({{"R", R}, {"V", V}});
  Backend* be = &backend_for(device);
  out.push_back({"rms_norm forward", norm_shape, 4 * (2 * rc + C), 4 * rc, Peak::fp32,
                 [=] { be->rms_norm_forward(x, w, 1e-5, y, rstd); }});
  out.push_back({"rms_norm backward", norm_shape, 4 * (3 * rc + C), 8 * rc, Peak::fp32,
                 [=] { be->rms_norm_backward(x, w, rstd, dy, dx, dw); }});
  out.push_back({"softmax forward", vocab_shape, 4 * 2 * rv, 4 * rv, Peak::fp32,
                 [=] { be->softmax_forward(logits, probs, false); }});
  // Cross-entropy in each of its versions (docs/kernels.md); the CPU has one. The byte counts are
  // the ideal ones (the logits read once), so version 1's two passes show as a lower % HBM.
  struct Version {
    int version;
    const char* forward;
    const char* backward;
  };
  const std::vector<Version> versions = {
      {1, "cross_entropy forward", "cross_entropy backward"},
      {2, "cross_entropy forward v2 (online logsumexp)", "cross_entropy backward v2 (online logsumexp)"}};
  for (const Version& v : versions) {
    if (v.version > 1 && !device.is_cuda()) break;  // the CPU has one version
    const int version = v.version;
    const auto run_version = [version, device](const std::function<void()>& call) {
      ops::KernelVersionGuard chosen("cross_entropy", version);
      call();
      SSM_CHECK(!device.is_cuda() || ops::last_kernel_version_ran("cross_entropy") == version, "bench: version ",
                version, " of cross_entropy did not run");
    };
    out.push_back({v.forward, vocab_shape, 4 * rv, 3 * rv, Peak::fp32, [=] {
                     run_version([&] { be->cross_entropy_forward(logits, targets, -100, losses, lse); });
                   }});
    out.push_back({v.backward, vocab_shape, 4 * 2 * rv, 4 * rv, Peak::fp32, [=] {
                     run_version([&] { be->cross_entropy_backward(logits, targets, lse, dlosses, -100, dlogits); });
                   }});
  }
}

// One AdamW step over the parameters of the train-step rows' larger Mamba-2 (bench/train_step.cpp):
// a few hundred tensors, most of them small. Per element it reads p, g, m, v and writes p, m, v.
void add_adamw(std::vector<Benchmark>& out, const Sizes& s, Device device) {
  ModelConfig cfg = default_model_config("mamba2");
  cfg.d_model = s.big_d_model;
  cfg.n_layer = s.big_layers;
  std::vector<Shape> shapes;
  for (const NamedParameter& p : make_model(cfg, s.big_vocab, /*seed=*/1)->named_parameters()) {
    shapes.push_back(p.tensor.shape());
  }
  std::vector<AdamWTensors> params;
  int64_t total = 0;
  for (size_t i = 0; i < shapes.size(); ++i) {
    params.push_back({random_on(device, shapes[i], 60 + i, 0.02), random_on(device, shapes[i], 600 + i, 1e-3),
                      Tensor::zeros(shapes[i], Dtype::f32, device), Tensor::zeros(shapes[i], Dtype::f32, device), 0.1});
    total += shape_numel(shapes[i]);
  }
  const std::string shape = absl::StrCat(params.size(), " tensors, ", total, " params (mamba2, ", s.big_label, ")");
  const double n = static_cast<double>(total);
  Backend* be = &backend_for(device);
  for (int version : {1, 2}) {
    if (version > 1 && !device.is_cuda()) break;  // the CPU has one version
    out.push_back({version == 1 ? "adamw step" : "adamw step v2 (one launch)", shape, 4 * 7 * n, 12 * n, Peak::fp32,
                   [=] {
                     ops::KernelVersionGuard chosen("adamw", version);
                     be->adamw_step(params, {1e-4, 0.9, 0.95, 1e-8, 1});
                     SSM_CHECK(!device.is_cuda() || ops::last_kernel_version_ran("adamw") == version, "bench: version ",
                               version, " of adamw did not run");
                   }});
  }
}

}  // namespace

std::vector<Benchmark> kernel_benchmarks(const Sizes& s, Device device) {
  std::vector<Benchmark> out;
  add_gemms(out, s, device);
  add_ssd(out, s, device);
  add_selective(out, s, device);
  add_gla(out, s, device);
  add_rows(out, s, device);
  add_adamw(out, s, device);
  return out;
}

}  // namespace ssm::bench
