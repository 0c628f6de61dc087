// tests/test_cuda.cpp — the CUDA side, run wherever a GPU is visible and reported as skipped
// otherwise (doctest's skip decorator, so the summary line counts them as skipped).
#include "core/tensor.h"
#include "testing.h"

#if defined(SSMLAB_WITH_CUDA)
#include "cuda/device.h"
static const bool kHaveGpu = ssm::cuda::initialize();
#else
static const bool kHaveGpu = false;
#endif

using namespace ssm;

TEST_CASE("host -> device -> host copies are exact" * doctest::skip(!kHaveGpu)) {
  Tensor host = Tensor::randn({3, 257}, 7);
  Tensor back = host.to(Device::cuda()).to(Device::cpu());
  CHECK(back.to_vector<float>() == host.to_vector<float>());
}

TEST_CASE("without a GPU, asking for one is a clear user error" * doctest::skip(kHaveGpu)) {
  CHECK_THROWS_WITH_AS(Tensor::zeros({2}, Dtype::f32, Device::cuda()), doctest::Contains("cuda:0"), UserError);
}
