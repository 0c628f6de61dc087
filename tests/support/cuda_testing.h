// tests/support/cuda_testing.h — what the CUDA test files share: whether CUDA kernels can run here, the
// skip rule, and the CUDA == CPU comparison of an op's outputs and of every input gradient.
//
// Three builds use these tests:
//   * CUDA build on a machine with a GPU: the tests run against the GPU;
//   * CUDA build without a GPU, or CPU-only build (-DSSMLAB_CUDA=OFF): every CUDA test case is
//     skipped (doctest's skip decorator) and one test case per file says why in a MESSAGE;
//   * the *_emulated executables (cuda/emulation/): the same tests against the CUDA kernels
//     compiled for the host and run by a thread-per-GPU-thread emulator, so kernel logic
//     (indexing, barriers, reductions, the cuBLAS argument mapping) is checked without a GPU.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "autograd/engine.h"     // defines: backward
#include "autograd/grad_mode.h"  // defines: NoGradGuard
#include "core/tensor.h"         // defines: Tensor
#include "ops/backend.h"         // defines: has_backend
#include "ops/ops.h"             // defines: contiguous
#include "tests/support/testing.h"             // defines: CHECK_CLOSE

#if defined(SSMLAB_WITH_CUDA) || defined(SSMLAB_CUDA_EMULATED)
#include "cuda/device.h"  // defines: initialize, device_description
#endif

namespace ssm::testing {

// True when CUDA kernels can run in this process (a visible GPU, or the emulator).
inline bool cuda_available() {
#if defined(SSMLAB_WITH_CUDA) || defined(SSMLAB_CUDA_EMULATED)
  return ssm::cuda::initialize();
#else
  return false;
#endif
}

// Why the CUDA tests run or are skipped, for the MESSAGE of each file's availability test.
inline std::string cuda_status() {
#if defined(SSMLAB_CUDA_EMULATED)
  return "CUDA kernels run on the host emulator (cuda/emulation): logic checked, no GPU involved";
#elif defined(SSMLAB_WITH_CUDA)
  return cuda_available() ? std::string("CUDA tests run on ") + ssm::cuda::device_description(0)
                          : "CUDA tests skipped: this build has CUDA but no GPU is visible";
#else
  return "CUDA tests skipped: this ssmlab was built without CUDA (-DSSMLAB_CUDA=OFF or no nvcc)";
#endif
}

// The availability check every CUDA test file starts with: it always runs, says why the other
// cases run or are skipped, and checks that the backend is registered exactly when usable.
#define SSM_CUDA_AVAILABILITY_TEST()                                                             \
  TEST_CASE("CUDA availability") {                                                               \
    MESSAGE(::ssm::testing::cuda_status());                                                      \
    CHECK(::ssm::has_backend(::ssm::DeviceType::cuda) == ::ssm::testing::cuda_available());      \
  }

// A CPU copy of any tensor (contiguous first when it is a strided device view), without autograd.
inline Tensor host(const Tensor& t) {
  autograd::NoGradGuard no_grad;
  if (t.device().is_cpu()) return t;
  Tensor c = t.is_contiguous() ? t.detach() : ops::contiguous(t.detach());
  return c.to(Device::cpu());
}

// A CUDA leaf holding the same values as `t`, requiring grad when `t` does.
inline Tensor to_cuda_leaf(const Tensor& t) {
  Tensor d = (t.is_contiguous() ? t.detach() : t.clone_contiguous()).to(Device::cuda());
  if (t.requires_grad()) d.set_requires_grad(true);
  return d;
}

using OpFn = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;

// Runs `fn` on the CPU inputs and on CUDA copies of them, checks every output, then backpropagates
// the same random output weights through both and checks the gradient of every input that
// requires grad. `tol` is the relative RMS error allowed (tests/support/testing.h: rel_error).
inline void check_cuda_matches_cpu(const std::string& name, const OpFn& fn, const std::vector<Tensor>& cpu_inputs,
                                   double tol) {
  std::vector<Tensor> gpu_inputs;
  for (const Tensor& t : cpu_inputs) gpu_inputs.push_back(t.defined() ? to_cuda_leaf(t) : Tensor());
  for (const Tensor& t : cpu_inputs) {
    if (t.defined() && t.requires_grad()) Tensor(t).zero_grad();
  }
  const std::vector<Tensor> out_cpu = fn(cpu_inputs);
  const std::vector<Tensor> out_gpu = fn(gpu_inputs);
  REQUIRE(out_cpu.size() == out_gpu.size());
  bool any_grad = false;
  for (size_t k = 0; k < out_cpu.size(); ++k) {
    CHECK(out_gpu[k].device().is_cuda());
    CHECK_CLOSE(name + ": output " + std::to_string(k), host(out_gpu[k]), out_cpu[k], tol);
    any_grad = any_grad || out_cpu[k].grad_fn() != nullptr;
  }
  if (!any_grad) return;
  std::vector<Tensor> w_cpu, w_gpu, roots_cpu, roots_gpu;
  for (size_t k = 0; k < out_cpu.size(); ++k) {
    if (out_cpu[k].grad_fn() == nullptr) continue;
    Tensor w = Tensor::randn(out_cpu[k].shape(), 1000 + k, out_cpu[k].dtype());
    roots_cpu.push_back(out_cpu[k]);
    roots_gpu.push_back(out_gpu[k]);
    w_cpu.push_back(w);
    w_gpu.push_back(w.to(Device::cuda()));
  }
  autograd::backward(roots_cpu, w_cpu);
  autograd::backward(roots_gpu, w_gpu);
  for (size_t i = 0; i < cpu_inputs.size(); ++i) {
    if (!cpu_inputs[i].defined() || !cpu_inputs[i].requires_grad()) continue;
    const Tensor gc = cpu_inputs[i].grad(), gg = gpu_inputs[i].grad();
    REQUIRE(gc.defined());
    REQUIRE(gg.defined());
    CHECK(gg.device().is_cuda());
    CHECK_CLOSE(name + ": grad of input " + std::to_string(i), host(gg), gc, tol);
  }
}

// A random leaf N(0, scale²) + shift in `dtype` that requires grad.
inline Tensor rand_leaf(const Shape& shape, uint64_t seed, Dtype dtype, double scale = 1.0, double shift = 0.0) {
  Tensor t = Tensor::randn(shape, seed, Dtype::f64, Device::cpu(), scale);
  if (shift != 0.0) {
    double* p = t.data<double>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] += shift;
  }
  t = t.to(dtype);
  t.set_requires_grad(true);
  return t;
}

// Relative tolerances: f64 differs from the CPU only in summation order; f32 accumulates in f32
// on the GPU where the CPU reference accumulates in double.
inline double tol_for(Dtype dtype, double f32_tol = 2e-5) { return dtype == Dtype::f64 ? 1e-11 : f32_tol; }

}  // namespace ssm::testing
