// tests/cuda/test_cuda.cpp — the CUDA runtime side: the backend is registered exactly when a GPU is
// usable, host <-> device copies (contiguous, strided, converting) are exact, the device reports
// its limits, and without a GPU asking for one is a clear user error. cuBLAS and NCCL are found and
// opened at run time (cuda/dynamic/), GPU or not, and a missing library is a one-line error. The ops, scans and training
// on CUDA are in tests/cuda/test_cuda_*.cpp (which also run against the host emulator).
#include "tests/support/cuda_testing.h"  // defines: cuda_available, SSM_CUDA_AVAILABILITY_TEST, host
#include "ops/ops.h"       // defines: transpose
#if defined(SSMLAB_WITH_CUDA)
#include "cuda/device.h"  // defines: device_info
#endif
#if defined(SSMLAB_WITH_CUDA) && !defined(SSMLAB_CUDA_EMULATED)
#include <cstdlib>
#include <filesystem>

#include "cuda/dynamic/library_loader.h"  // defines: open_library, cublas_library, library_search_dirs
#include "train/trainer.h"                // defines: resolve_device
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

#if defined(SSMLAB_WITH_CUDA) && !defined(SSMLAB_CUDA_EMULATED)
TEST_CASE("cuBLAS and NCCL are found on the host at run time, without a GPU too") {
  // The toolkit this was built with is on the search path (its lib64 or lib).
  const ssm::cuda::LoadedLibrary& cublas = ssm::cuda::cublas_library();
  CHECK(cublas.handle != nullptr);
  CHECK(cublas.path.find("libcublas.so.") != std::string::npos);
  CHECK(ssm::cuda::library_symbol(cublas, "cublasGemmEx") != nullptr);
  CHECK_THROWS_WITH_AS(ssm::cuda::library_symbol(cublas, "cublasNoSuchFunction"),
                       doctest::Contains("has no cublasNoSuchFunction"), Error);
#if defined(SSMLAB_WITH_NCCL)
  CHECK(ssm::cuda::nccl_library().path.find("libnccl.so.2") != std::string::npos);
#endif
}

TEST_CASE("a library that is nowhere: one line naming it and every folder searched") {
  const std::filesystem::path extra = std::filesystem::temp_directory_path() / "ssmlab_no_libs_here";
  std::filesystem::create_directories(extra);
  setenv("SSMLAB_CUDA_LIBRARY_PATH", extra.c_str(), 1);
  const std::vector<std::string> dirs = ssm::cuda::library_search_dirs();
  REQUIRE(!dirs.empty());
  CHECK(dirs.front() == extra.string());  // the user's folders come first
  try {
    ssm::cuda::open_library("libssmlab_absent.so.7", "a test library");
    FAIL("no error");
  } catch (const UserError& e) {
    const std::string what = e.what();
    CHECK(what.find("cannot find a test library (libssmlab_absent.so.7)") != std::string::npos);
    CHECK(what.find(extra.string()) != std::string::npos);
    CHECK(what.find("LD_LIBRARY_PATH") != std::string::npos);
    CHECK(what.find('\n') == std::string::npos);
  }
  unsetenv("SSMLAB_CUDA_LIBRARY_PATH");
}

TEST_CASE("without a GPU, run.device auto is the CPU and cuda names the reason" * doctest::skip(cuda_available())) {
  CHECK(resolve_device("auto").is_cpu());
  CHECK_THROWS_WITH_AS(resolve_device("cuda"), doctest::Contains("no CUDA device is visible"), UserError);
}
#endif
