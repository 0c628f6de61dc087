// cuda/register.cpp — makes the CUDA backend available when a GPU is visible: at start-up it
// registers the caching allocator with core/ and the CudaBackend with ops/ for DeviceType::cuda,
// so has_backend(DeviceType::cuda) (which run.device: auto asks) is true exactly when this
// ssmlab was built with CUDA and a GPU can be used. cuBLAS is opened here too
// (cuda/dynamic/library_loader.h), so a host without it hears so before any work. When the
// backend cannot register, the reason is recorded (ops/backend.h, record_backend_absence) for the
// messages of run.device and `ssmlab --version`, and every path stays on the CPU. The library is
// linked whole-archive (cuda/CMakeLists.txt) so this initializer is part of every program that
// links ssm_cuda.
#include "core/error.h"                   // defines: Error
#include "cuda/cuda_backend.h"            // defines: CudaBackend
#include "cuda/device.h"                  // defines: initialize, no_device_reason
#if !defined(SSMLAB_CUDA_EMULATED)
#include "cuda/dynamic/library_loader.h"  // defines: cublas_library
#endif
#include "ops/backend.h"                  // defines: register_backend, record_backend_absence

namespace ssm::cuda {
namespace {

const bool g_registered = [] {
  if (!initialize()) {
    record_backend_absence(DeviceType::cuda, {no_device_reason(), false});
    return false;
  }
#if !defined(SSMLAB_CUDA_EMULATED)  // the host emulator brings its own cuBLAS
  try {
    cublas_library();
  } catch (const Error& e) {
    record_backend_absence(DeviceType::cuda, {e.what(), true});
    return false;
  }
#endif
  static CudaBackend backend;
  register_backend(DeviceType::cuda, &backend);
  return true;
}();

}  // namespace
}  // namespace ssm::cuda
