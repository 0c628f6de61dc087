// tests/cuda/test_cuda.cpp — the CUDA runtime side: the backend is registered exactly when a GPU is
// usable, host <-> device copies (contiguous, strided, converting) are exact, the device reports
// its limits, and without a GPU asking for one is a clear user error. The ops, scans and training
// on CUDA are in tests/cuda/test_cuda_*.cpp (which also run against the host emulator).
#include "tests/support/cuda_testing.h"  // defines: cuda_available, SSM_CUDA_AVAILABILITY_TEST, host
#include "ops/ops.h"       // defines: transpose
#if defined(SSMLAB_WITH_CUDA)
#include "cuda/device.h"  // defines: device_info
#endif

using namespace ssm;
using namespace ssm::testing;

SSM_CUDA_AVAILABILITY_TEST()

TEST_CASE("host -> device -> host copies are exact" * doctest::skip(!cuda_available())) {
  Tensor host_t = Tensor::randn({3, 257}, 7);
  Tensor back = host_t.to(Device::cuda()).to(Device::cpu());
  CHECK(back.to_vector<float>() == host_t.to_vector<float>());
  SUBCASE("strided source and destination, and a dtype change on the way") {
    Tensor t = ops::transpose(host_t, 0, 1);  // (257, 3), not contiguous
    Tensor dev = Tensor::empty({257, 3}, Dtype::f64, Device::cuda());
    dev.copy_from(t);
    CHECK(host(dev).to_vector<double>() == t.to(Dtype::f64).to_vector<double>());
    Tensor out = Tensor::zeros({3, 257}, Dtype::f32);
    Tensor window = out.as_strided({257, 3}, {1, 257}, 0);  // a transposed view of `out`
    window.copy_from(dev);
    CHECK(out.to_vector<float>() == host_t.to_vector<float>());
  }
}

#if defined(SSMLAB_WITH_CUDA)
TEST_CASE("the device reports its limits" * doctest::skip(!cuda_available())) {
  const cuda::DeviceInfo info = cuda::device_info(0);
  MESSAGE(info.name << ": " << info.sm_count << " SMs, " << info.memory_bandwidth_bytes_per_s / 1e12 << " TB/s");
  CHECK(!info.name.empty());
  CHECK(info.sm_count > 0);
  CHECK(info.memory_bandwidth_bytes_per_s > 1e11);
}
#endif

TEST_CASE("without a GPU, asking for one is a clear user error" * doctest::skip(cuda_available())) {
  CHECK_THROWS_WITH_AS(Tensor::zeros({2}, Dtype::f32, Device::cuda()), doctest::Contains("cuda:0"), UserError);
  CHECK_THROWS_WITH_AS(ops::add(Tensor::zeros({2}), Tensor::zeros({2})).to(Device::cuda()),
                       doctest::Contains("not available"), UserError);
}
