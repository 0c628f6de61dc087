// cuda/register.cpp — makes the CUDA backend available when a GPU is visible: at start-up it
// registers the caching allocator with core/ and the CudaBackend with ops/ for DeviceType::cuda,
// so has_backend(DeviceType::cuda) (which run.device: auto asks) is true exactly when this
// ssmlab was built with CUDA and a GPU can be used. Without a GPU nothing is registered and every
// path stays on the CPU. The library is linked whole-archive (cuda/CMakeLists.txt) so this
// initializer is part of every program that links ssm_cuda.
#include "cuda/cuda_backend.h"  // defines: CudaBackend
#include "cuda/device.h"        // defines: initialize
#include "ops/backend.h"        // defines: register_backend

namespace ssm::cuda {
namespace {

const bool g_registered = [] {
  if (!initialize()) return false;
  static CudaBackend backend;
  register_backend(DeviceType::cuda, &backend);
  return true;
}();

}  // namespace
}  // namespace ssm::cuda
