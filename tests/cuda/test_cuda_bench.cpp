// tests/cuda/test_cuda_bench.cpp — every ssmlab bench benchmark runs on CUDA (tiny sizes, once, no
// timing): the kernel calls with their preallocated tensors, the four GEMM precisions, every
// version of a kernel that has several (the row fails if its version did not run), and the
// training steps. Skipped without a GPU (see tests/support/cuda_testing.h).
#include "bench/suite.h"    // defines: preset_sizes, kernel_benchmarks, train_benchmarks
#include "tests/support/cuda_testing.h"   // defines: cuda_available
#include "ops/precision.h"  // defines: MatmulPrecisionGuard

using namespace ssm;
using namespace ssm::testing;

SSM_CUDA_AVAILABILITY_TEST()

TEST_CASE("every kernel benchmark runs on CUDA" * doctest::skip(!cuda_available())) {
  const bench::Sizes s = bench::preset_sizes("tiny");
  const std::vector<bench::Benchmark> kernels = bench::kernel_benchmarks(s, Device::cuda());
  // 16 on the CPU, plus the TF32, bf16-mixed and bf16-tensor GEMMs, version 2 of the SSD forward
  // and backward, of the selective scan forward and backward, of the GLA forward and backward, of
  // the cross-entropy forward and backward, and of AdamW
  CHECK(kernels.size() == 28);
  for (const bench::Benchmark& b : kernels) {
    INFO(b.name);
    CHECK_NOTHROW(b.run());
    CHECK(b.bytes > 0);
    CHECK(b.flops > 0);
  }
}

TEST_CASE("every training-step benchmark runs on CUDA, in fp32 and bf16-mixed" * doctest::skip(!cuda_available())) {
  const bench::Sizes s = bench::preset_sizes("tiny");
  for (auto precision : {ops::MatmulPrecision::fp32, ops::MatmulPrecision::bf16}) {
    ops::MatmulPrecisionGuard guard(precision);
    for (const bench::TrainSpec& spec : bench::train_benchmarks(s)) {
      INFO(spec.name << " " << ops::matmul_precision_name(precision));
      bench::TrainStep t = bench::prepare_train_step(spec, Device::cuda());
      CHECK_NOTHROW(t.step());
      CHECK(t.tokens == static_cast<double>(spec.batch * spec.seq));
    }
  }
}
