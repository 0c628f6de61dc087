// tests/cuda/test_cuda_ops.cpp — every non-scan op on CUDA against the CPU reference, forward and every
// gradient, in f64 and f32, on awkward sizes (37, 67, 1003: no multiple of a block size):
// copies and casts, the unary and broadcasting binary ops, reductions, matmul/linear (f64, strict
// f32, TF32, bf16-mixed and bf16 tensors), softmax, cross-entropy, embedding, the norms, the
// causal conv, and the AdamW step. Skipped without a GPU (see tests/support/cuda_testing.h).
#include "autograd/engine.h"     // defines: backward
#include "autograd/grad_mode.h"  // defines: NoGradGuard
#include "tests/support/cuda_testing.h"        // defines: check_cuda_matches_cpu, cuda_available, rand_leaf, host
#include "ops/backend.h"         // defines: backend_for
#include "ops/kernel_versions.h"  // defines: KernelVersionGuard, last_kernel_version_ran
#include "ops/ops.h"              // defines: the op API
#include "ops/precision.h"       // defines: MatmulPrecisionGuard

#if defined(SSMLAB_WITH_CUDA) || defined(SSMLAB_CUDA_EMULATED)
#include "cuda/allocator.h"  // defines: memory_stats, allocation_size_class
#endif

using namespace ssm;
using namespace ssm::testing;
using Inputs = std::vector<Tensor>;

SSM_CUDA_AVAILABILITY_TEST()

#define CUDA_TEST(name) TEST_CASE(name* doctest::skip(!cuda_available()))

CUDA_TEST("copies, views and casts") {
  for (Dtype dt : {Dtype::f64, Dtype::f32}) {
    SUBCASE(dtype_name(dt)) {
      Tensor x = rand_leaf({5, 37, 67}, 1, dt);
      check_cuda_matches_cpu("transpose + contiguous", [](const Inputs& in) {
        return Inputs{ops::contiguous(ops::transpose(in[0], 0, 2))};
      }, {x}, 0.0);
      check_cuda_matches_cpu("slice, concat, split", [](const Inputs& in) {
        Tensor a = ops::slice(in[0], 1, 3, 30);
        Tensor b = ops::slice(in[0], 2, 1, 66);
        return Inputs{ops::concat({a, ops::slice(in[0], 1, 0, 3)}, 1), ops::contiguous(b),
                      ops::split(in[0], {10, 57}, 2)[1] * 2.0};
      }, {x}, 0.0);
      check_cuda_matches_cpu("cast to the other float type and back", [dt](const Inputs& in) {
        const Dtype other = dt == Dtype::f64 ? Dtype::f32 : Dtype::f64;
        return Inputs{ops::cast(ops::cast(ops::transpose(in[0], 1, 2), other), dt)};
      }, {x}, tol_for(dt, 1e-7));
    }
  }
  SUBCASE("bf16 round trip rounds like the CPU, i64 -> f32") {
    Tensor x = Tensor::randn({37, 67}, 2, Dtype::f32);
    Tensor cpu = x.to(Dtype::bf16).to(Dtype::f32);
    Tensor gpu = ops::cast(ops::cast(x.to(Device::cuda()), Dtype::bf16), Dtype::f32);
    CHECK(host(gpu).to_vector<float>() == cpu.to_vector<float>());
    Tensor ids = Tensor::from_vector<int64_t>({3, -7, 1000001, 0}, {4});
    CHECK(host(ops::cast(ids.to(Device::cuda()), Dtype::f32)).to_vector<float>() == ids.to(Dtype::f32).to_vector<float>());
  }
}

CUDA_TEST("unary ops and their gradients") {
  const std::vector<std::pair<const char*, std::function<Tensor(const Tensor&)>>> ops_list = {
      {"neg", [](const Tensor& x) { return ops::neg(x); }},
      {"exp", [](const Tensor& x) { return ops::exp(x); }},
      {"log", [](const Tensor& x) { return ops::log(ops::add_scalar(ops::square(x), 0.5)); }},
      {"sqrt", [](const Tensor& x) { return ops::sqrt(ops::add_scalar(ops::square(x), 0.5)); }},
      {"square", [](const Tensor& x) { return ops::square(x); }},
      {"sigmoid", [](const Tensor& x) { return ops::sigmoid(x); }},
      {"silu", [](const Tensor& x) { return ops::silu(x); }},
      {"softplus", [](const Tensor& x) { return ops::softplus(x * 12.0); }},  // crosses the threshold 20
      {"relu", [](const Tensor& x) { return ops::relu(x); }},
      {"tanh", [](const Tensor& x) { return ops::tanh(x); }},
      {"add_scalar", [](const Tensor& x) { return ops::add_scalar(x, 0.75); }},
      {"mul_scalar", [](const Tensor& x) { return ops::mul_scalar(x, -1.25); }},
  };
  for (Dtype dt : {Dtype::f64, Dtype::f32}) {
    for (const auto& [name, f] : ops_list) {
      Tensor x = rand_leaf({37, 67}, 3, dt);
      check_cuda_matches_cpu(std::string(name) + " " + dtype_name(dt) + " (37, 67)",
                             [f = f](const Inputs& in) { return Inputs{f(in[0])}; }, {x}, tol_for(dt, 1e-6));
      // A strided input (a transposed view) goes through the strided path of the kernel.
      check_cuda_matches_cpu(std::string(name) + " on a transposed view",
                             [f = f](const Inputs& in) { return Inputs{f(ops::transpose(in[0], 0, 1))}; }, {x},
                             tol_for(dt, 1e-6));
    }
  }
}

CUDA_TEST("broadcasting binary ops and the sums of their gradients") {
  for (Dtype dt : {Dtype::f64, Dtype::f32}) {
    Tensor a = rand_leaf({3, 37, 1, 67}, 4, dt);
    Tensor b = rand_leaf({5, 67}, 5, dt, 1.0, 3.0);  // away from 0 for div
    check_cuda_matches_cpu(std::string("add sub mul div (3,37,1,67) o (5,67) ") + dtype_name(dt),
                           [](const Inputs& in) {
                             return Inputs{in[0] + in[1], in[0] - in[1], in[0] * in[1], in[0] / in[1]};
                           }, {a, b}, tol_for(dt, 1e-6));
  }
}

CUDA_TEST("elementwise ops on bf16 tensors compute in f32 and round once") {
  Tensor a = Tensor::randn({37, 67}, 6, Dtype::f32), b = Tensor::randn({67}, 7, Dtype::f32);
  // Reference: the CPU in f32 on the same bf16-rounded inputs, rounded to bf16 at the end.
  Tensor a16 = a.to(Dtype::bf16).to(Dtype::f32), b16 = b.to(Dtype::bf16).to(Dtype::f32);
  Tensor ref = (ops::silu(a16) * b16 + 1.0).to(Dtype::bf16).to(Dtype::f32);
  Tensor ga = ops::cast(a.to(Device::cuda()), Dtype::bf16), gb = ops::cast(b.to(Device::cuda()), Dtype::bf16);
  Tensor out = ops::add_scalar(ops::mul(ops::silu(ga), gb), 1.0);
  CHECK(out.dtype() == Dtype::bf16);
  CHECK_CLOSE("bf16 silu(a)·b + 1", host(ops::cast(out, Dtype::f32)), ref, 1e-2);
}

CUDA_TEST("reductions: sum, mean, max, cumsum") {
  for (Dtype dt : {Dtype::f64, Dtype::f32}) {
    Tensor x = rand_leaf({7, 37, 67}, 8, dt);
    check_cuda_matches_cpu(std::string("sum/mean over dims ") + dtype_name(dt), [](const Inputs& in) {
      return Inputs{ops::sum(in[0], {0}), ops::sum(in[0], {1}, true), ops::mean(in[0], {0, 2}), ops::sum_all(in[0]),
                    ops::sum(ops::transpose(in[0], 0, 2), {2})};
    }, {x}, tol_for(dt, 1e-6));
    Tensor big = rand_leaf({100003}, 9, dt);  // a long reduction: split into segments
    check_cuda_matches_cpu("sum_all of 100003 values", [](const Inputs& in) { return Inputs{ops::sum_all(in[0])}; },
                           {big}, tol_for(dt, 1e-6));
    check_cuda_matches_cpu(std::string("max over each dim ") + dtype_name(dt), [](const Inputs& in) {
      return Inputs{ops::max(in[0], 0), ops::max(in[0], 1, true), ops::max(in[0], -1)};
    }, {x}, tol_for(dt, 1e-6));
    check_cuda_matches_cpu(std::string("cumsum both ways ") + dtype_name(dt), [](const Inputs& in) {
      return Inputs{ops::cumsum(in[0], 1), ops::cumsum(in[0], 2, true), ops::cumsum(in[0], 0)};
    }, {x}, tol_for(dt, 1e-6));
  }
}

CUDA_TEST("matmul and linear: f64 and strict f32 against OpenBLAS") {
  for (Dtype dt : {Dtype::f64, Dtype::f32}) {
    Tensor a = rand_leaf({37, 67}, 10, dt), b = rand_leaf({67, 29}, 11, dt);
    Tensor ab = rand_leaf({3, 1, 37, 67}, 12, dt), bb = rand_leaf({5, 67, 29}, 13, dt);
    Tensor w = rand_leaf({29, 67}, 14, dt), bias = rand_leaf({29}, 15, dt);
    const double tol = tol_for(dt, 1e-5);
    check_cuda_matches_cpu(std::string("(37,67)@(67,29) and transposed operands ") + dtype_name(dt),
                           [](const Inputs& in) {
                             return Inputs{ops::matmul(in[0], in[1]),
                                           ops::matmul(ops::transpose(in[1], 0, 1), ops::transpose(in[0], 0, 1))};
                           }, {a, b}, tol);
    check_cuda_matches_cpu(std::string("batched with broadcast (3,1,37,67)@(5,67,29) ") + dtype_name(dt),
                           [](const Inputs& in) { return Inputs{ops::matmul(in[0], in[1])}; }, {ab, bb}, tol);
    check_cuda_matches_cpu(std::string("linear (2,37,67)·(29,67)ᵀ + bias ") + dtype_name(dt), [](const Inputs& in) {
      return Inputs{ops::linear(ops::reshape(in[0], {1, 37, 67}), in[1], in[2])};
    }, {a, w, bias}, tol);
  }
  SUBCASE("an empty inner dim gives zeros") {
    Tensor a = Tensor::zeros({3, 0}, Dtype::f32, Device::cuda()), b = Tensor::zeros({0, 4}, Dtype::f32, Device::cuda());
    const std::vector<float> c = host(ops::matmul(a, b)).to_vector<float>();
    CHECK(c == std::vector<float>(12, 0.0f));
  }
}

CUDA_TEST("matmul precision: TF32 and bf16-mixed stay close to f32; bf16 tensors") {
  Tensor a = Tensor::randn({37, 67}, 16, Dtype::f32), b = Tensor::randn({67, 29}, 17, Dtype::f32);
  Tensor ref = ops::matmul(a, b);
  Tensor ga = a.to(Device::cuda()), gb = b.to(Device::cuda());
  {
    ops::MatmulPrecisionGuard guard(ops::MatmulPrecision::tf32);
    CHECK_CLOSE("tf32 matmul", host(ops::matmul(ga, gb)), ref, 5e-3);
  }
  {
    ops::MatmulPrecisionGuard guard(ops::MatmulPrecision::bf16);
    Tensor out = ops::matmul(ga, gb);
    CHECK(out.dtype() == Dtype::f32);
    CHECK_CLOSE("bf16-mixed matmul", host(out), ref, 2e-2);
    // Exactly the f32 product of the bf16-rounded operands, up to f32 summation order.
    Tensor ref16 = ops::matmul(a.to(Dtype::bf16).to(Dtype::f32), b.to(Dtype::bf16).to(Dtype::f32));
    CHECK_CLOSE("bf16-mixed == f32 GEMM of bf16-rounded operands", host(out), ref16, 1e-5);
  }
  CHECK(ops::matmul_precision() == ops::MatmulPrecision::fp32);  // the guards restored it
  Tensor out16 = ops::matmul(ops::cast(ga, Dtype::bf16), ops::cast(gb, Dtype::bf16));
  CHECK(out16.dtype() == Dtype::bf16);
  CHECK_CLOSE("bf16 tensors", host(ops::cast(out16, Dtype::f32)), ref, 2e-2);
}

#if defined(SSMLAB_WITH_CUDA) || defined(SSMLAB_CUDA_EMULATED)
CUDA_TEST("bf16-mixed: a GPU activation is kept for the backward in bf16, in half the memory, with the same bits") {
  // y = linear(x, W) with x an activation (x = x0 + x0, an op that keeps nothing for its backward):
  // under bf16-mixed the backward keeps x's bf16 rounding, which is what its GEMM would round x to
  // anyway (ops/matmul.cpp), and not x.
  const int64_t R = 16384, in = 64, out = 48;  // x: 4 MiB in f32, 2 MiB in bf16 (allocator classes)
  Tensor x0 = rand_leaf({R, in}, 80, Dtype::f32), w = rand_leaf({out, in}, 81, Dtype::f32, 0.1);
  Tensor gx0 = to_cuda_leaf(x0), gw = to_cuda_leaf(w);
  const Tensor dy = Tensor::randn({R, out}, 82, Dtype::f32).to(Device::cuda());
  const auto kept_bytes = [&](ops::MatmulPrecision precision) {  // what the graph holds besides y
    ops::MatmulPrecisionGuard guard(precision);
    const size_t before = cuda::memory_stats().in_use_bytes;
    Tensor y;
    { y = ops::linear(ops::add(gx0, gx0), gw); }  // x itself is dropped here
    const size_t held = cuda::memory_stats().in_use_bytes - before - cuda::allocation_size_class(R * out * 4);
    autograd::backward({y}, {dy});
    return held;
  };
  CHECK(kept_bytes(ops::MatmulPrecision::fp32) == cuda::allocation_size_class(R * in * 4));
  Tensor dw_fp32 = host(gw.grad());
  Tensor(gw).zero_grad();
  Tensor(gx0).zero_grad();
  CHECK(kept_bytes(ops::MatmulPrecision::bf16) == cuda::allocation_size_class(R * in * 2));
  CHECK_CLOSE("bf16-mixed dW near fp32's", host(gw.grad()), dw_fp32, 2e-2);
  {  // the same bits as the GEMMs of the bf16-mixed policy on the f32 tensors
    ops::MatmulPrecisionGuard guard(ops::MatmulPrecision::bf16);
    autograd::NoGradGuard no_grad;
    const Tensor x = ops::add(gx0, gx0);
    CHECK_CLOSE("dW = dyᵀ·x", host(gw.grad()), host(ops::matmul(ops::transpose(dy, 0, 1), x)), 0.0);
    CHECK_CLOSE("dx0 = 2·dy·W", host(gx0.grad()), host(ops::mul_scalar(ops::matmul(dy, gw), 2.0)), 0.0);
  }
}
#endif

CUDA_TEST("softmax, log-softmax and cross-entropy") {
  for (Dtype dt : {Dtype::f64, Dtype::f32}) {
    Tensor x = rand_leaf({37, 1003}, 18, dt, 3.0);
    check_cuda_matches_cpu(std::string("softmax/log_softmax over dims 1 and 0 ") + dtype_name(dt),
                           [](const Inputs& in) {
                             return Inputs{ops::softmax(in[0], -1), ops::log_softmax(in[0], -1),
                                           ops::softmax(in[0], 0), ops::log_softmax(in[0], 0)};
                           }, {x}, tol_for(dt, 1e-5));
    std::vector<int64_t> t64(37);
    for (int64_t i = 0; i < 37; ++i) t64[i] = i % 5 == 3 ? -100 : (i * 271) % 1003;
    std::vector<int32_t> t32(t64.begin(), t64.end());
    for (Dtype tdt : {Dtype::i64, Dtype::i32}) {
      Tensor targets = tdt == Dtype::i64 ? Tensor::from_vector<int64_t>(t64, {37}) : Tensor::from_vector<int32_t>(t32, {37});
      for (int version : {1, 2}) {  // docs/kernels.md: two passes, then the online logsumexp
        ops::KernelVersionGuard chosen("cross_entropy", version);
        const std::string name = "cross_entropy v" + std::to_string(version) + " V1003 N37 ignore -100 " +
                                 dtype_name(dt) + " " + dtype_name(tdt);
        check_cuda_matches_cpu(name, [](const Inputs& in) {
          return Inputs{ops::cross_entropy(in[0], in[1]), ops::cross_entropy_per_token(in[0], in[1])};
        }, {x, targets}, tol_for(dt, 1e-5));
        CHECK_MESSAGE(ops::last_kernel_version_ran("cross_entropy") == version, name);
      }
    }
  }
}

// Version 2's online logsumexp where it can go wrong: a vocabulary smaller than the block (most
// threads see no logit and hold the empty pair), one far larger than it with the maximum late in
// the row (every thread rescales its sum), and logits of very different sizes (exp would
// overflow without the running maximum).
CUDA_TEST("cross_entropy version 2 at awkward vocabularies and extreme logits") {
  ops::KernelVersionGuard v2("cross_entropy", 2);
  for (int64_t V : {int64_t{1}, int64_t{5}, int64_t{257}, int64_t{4099}}) {
    const int64_t N = 7;
    std::vector<double> values(static_cast<size_t>(N * V));
    for (int64_t i = 0; i < N * V; ++i) values[i] = 0.01 * static_cast<double>((i * 7919) % 1000) + 0.002 * (i % V);
    // Extremes at each row's end. A +400 row's target is that logit (loss ~ 0, so the ordinary
    // rows carry the comparison); exp(400) overflows f32, so a missing maximum shows as inf/NaN.
    for (int64_t n = 0; n < N; ++n) values[n * V + V - 1] = n % 2 == 0 ? 400.0 : -400.0;
    std::vector<int64_t> t(N);
    for (int64_t n = 0; n < N; ++n) t[n] = n == 3 ? -100 : n % 2 == 0 ? V - 1 : (n * 31) % V;
    for (Dtype dt : {Dtype::f64, Dtype::f32}) {
      Tensor logits = Tensor::from_vector<double>(values, {N, V}).to(dt);
      logits.set_requires_grad(true);
      const std::string name = "cross_entropy v2 V" + std::to_string(V) + " " + dtype_name(dt);
      check_cuda_matches_cpu(name, [](const Inputs& in) {
        return Inputs{ops::cross_entropy_per_token(in[0], in[1])};
      }, {logits, Tensor::from_vector<int64_t>(t, {N})}, tol_for(dt, 1e-5));
      CHECK_MESSAGE(ops::last_kernel_version_ran("cross_entropy") == 2, name);
    }
  }
}

CUDA_TEST("embedding with repeated ids") {
  for (Dtype dt : {Dtype::f64, Dtype::f32}) {
    Tensor w = rand_leaf({1003, 67}, 19, dt);
    std::vector<int64_t> ids(2 * 37);
    for (size_t i = 0; i < ids.size(); ++i) ids[i] = (static_cast<int64_t>(i) * 37) % 41;  // repeats
    Tensor id64 = Tensor::from_vector<int64_t>(ids, {2, 37});
    Tensor id32 = Tensor::from_vector<int32_t>(std::vector<int32_t>(ids.begin(), ids.end()), {2, 37});
    check_cuda_matches_cpu(std::string("embedding V1003 D67 ") + dtype_name(dt), [](const Inputs& in) {
      return Inputs{ops::embedding(in[0], in[1]), ops::embedding(in[0], in[2]) * 0.5};
    }, {w, id64, id32}, tol_for(dt, 1e-6));
  }
}

CUDA_TEST("RMSNorm, gated RMSNorm, LayerNorm and GroupNorm") {
  for (Dtype dt : {Dtype::f64, Dtype::f32}) {
    Tensor x = rand_leaf({3, 37, 70}, 20, dt), z = rand_leaf({3, 37, 70}, 21, dt);
    Tensor w = rand_leaf({70}, 22, dt, 0.3, 1.0), b = rand_leaf({70}, 23, dt, 0.3);
    const double tol = tol_for(dt, 2e-5);
    check_cuda_matches_cpu(std::string("rms_norm (3,37,70) ") + dtype_name(dt),
                           [](const Inputs& in) { return Inputs{ops::rms_norm(in[0], in[1], 1e-5)}; }, {x, w}, tol);
    for (int64_t group : {70, 35, 7}) {
      check_cuda_matches_cpu(std::string("gated_rms_norm group ") + std::to_string(group) + " " + dtype_name(dt),
                             [group](const Inputs& in) {
                               return Inputs{ops::gated_rms_norm(in[0], in[1], in[2], 1e-5, group)};
                             }, {x, z, w}, tol);
    }
    check_cuda_matches_cpu(std::string("layer_norm and group_norm ") + dtype_name(dt), [](const Inputs& in) {
      return Inputs{ops::layer_norm(in[0], in[1], in[2], 1e-5), ops::group_norm(in[0], in[1], in[2], 5, 64e-5)};
    }, {x, w, b}, tol);
  }
}

CUDA_TEST("causal conv1d with bias and carried state, with and without SiLU fused") {
  for (Dtype dt : {Dtype::f64, Dtype::f32}) {
    for (int64_t T : {37, 2}) {  // T = 2 < W - 1: the new state reaches back into the old one
      Tensor x = rand_leaf({2, T, 67}, 24, dt), w = rand_leaf({67, 4}, 25, dt), bias = rand_leaf({67}, 26, dt);
      Tensor state = rand_leaf({2, 3, 67}, 27, dt);
      const std::string shape = "B2 T" + std::to_string(T) + " C67 W4 " + dtype_name(dt);
      check_cuda_matches_cpu("conv1d with state " + shape, [](const Inputs& in) {
        ops::ConvResult r = ops::causal_conv1d(in[0], in[1], in[2], in[3]);
        return Inputs{r.y, r.state};
      }, {x, w, bias, state}, tol_for(dt, 1e-6));
      check_cuda_matches_cpu("conv1d without bias or state " + shape, [](const Inputs& in) {
        ops::ConvResult r = ops::causal_conv1d(in[0], in[1], Tensor());
        return Inputs{r.y, r.state};
      }, {x, w}, tol_for(dt, 1e-6));
      check_cuda_matches_cpu("conv1d with SiLU fused " + shape, [](const Inputs& in) {
        ops::ConvResult r = ops::causal_conv1d(in[0], in[1], in[2], in[3], ConvActivation::silu);
        return Inputs{r.y, r.state};
      }, {x, w, bias, state}, tol_for(dt, 1e-6));
      check_cuda_matches_cpu("conv1d with SiLU fused, without bias or state " + shape, [](const Inputs& in) {
        ops::ConvResult r = ops::causal_conv1d(in[0], in[1], Tensor(), Tensor(), ConvActivation::silu);
        return Inputs{r.y, r.state};
      }, {x, w}, tol_for(dt, 1e-6));
    }
  }
}

CUDA_TEST("AdamW steps match the CPU, both versions, over tensors of awkward sizes in one call") {
  // Sizes around version 2's chunk of 4096 elements (one chunk exactly, one element over, three
  // chunks), an empty tensor and single elements, each with its own weight decay; three steps.
  const std::vector<int64_t> sizes = {1003, 0, 1, 4096, 4097, 9000, 5};
  for (int version : {1, 2}) {
    ops::KernelVersionGuard guard("adamw", version);
    std::vector<AdamWTensors> cpu, gpu;
    for (size_t i = 0; i < sizes.size(); ++i) {
      const int64_t n = sizes[i];
      const double wd = i % 2 == 0 ? 0.1 : 0.0;
      Tensor p = Tensor::randn({n}, 28 + i, Dtype::f32), m = Tensor::zeros({n}), v = Tensor::zeros({n});
      cpu.push_back({p, Tensor(), m, v, wd});
      gpu.push_back({p.to(Device::cuda()), Tensor(), m.to(Device::cuda()), v.to(Device::cuda()), wd});
    }
    for (int64_t step = 1; step <= 3; ++step) {
      for (size_t i = 0; i < sizes.size(); ++i) {
        cpu[i].grad = Tensor::randn({sizes[i]}, 100 * step + i, Dtype::f32);
        gpu[i].grad = cpu[i].grad.to(Device::cuda());
      }
      backend_for(Device::cpu()).adamw_step(cpu, {1e-2, 0.9, 0.95, 1e-8, step});
      backend_for(Device::cuda()).adamw_step(gpu, {1e-2, 0.9, 0.95, 1e-8, step});
      CHECK(ops::last_kernel_version_ran("adamw") == version);
    }
    for (size_t i = 0; i < sizes.size(); ++i) {
      // Both compute in f32; a compiler may fuse a multiply and an add the other does not.
      const std::string name = "version " + std::to_string(version) + ", tensor of " + std::to_string(sizes[i]);
      CHECK_CLOSE(name + ": param", host(gpu[i].param), cpu[i].param, 1e-6);
      CHECK_CLOSE(name + ": exp_avg", host(gpu[i].m), cpu[i].m, 1e-6);
      CHECK_CLOSE(name + ": exp_avg_sq", host(gpu[i].v), cpu[i].v, 1e-6);
    }
  }
}
