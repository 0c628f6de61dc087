// cuda/adamw.cu — the AdamW update in place on the GPU: the twin of ops/cpu/adamw.cpp, one thread
// per parameter, the same f32 arithmetic per element (so CPU and GPU steps agree to rounding, up to
// where each compiler fuses a multiply and an add).
//   m ← β1·m + (1-β1)·g        v ← β2·v + (1-β2)·g²
//   p ← p - lr·( m̂ / (sqrt(v̂) + eps) + wd·p ),   m̂ = m/(1-β1^t), v̂ = v/(1-β2^t)
#include <cmath>

#include "cuda/cuda_backend.h"   // defines: CudaBackend
#include "cuda/kernel_util.cuh"  // defines: grid_for, SSM_CUDA_LAUNCH

namespace ssm::cuda {
namespace {

__global__ void adamw_kernel(float* p, const float* g, float* m, float* v, int64_t n, float lr, float beta1,
                             float beta2, float eps, float weight_decay, float inv_bc1, float inv_bc2) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float mi = beta1 * m[i] + (1 - beta1) * g[i];
    const float vi = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] - lr * (mi * inv_bc1 / (sqrtf(vi * inv_bc2) + eps) + weight_decay * p[i]);
  }
}

}  // namespace

void CudaBackend::adamw_step(const Tensor& param, const Tensor& grad, const Tensor& m, const Tensor& v, double lr,
                             double beta1, double beta2, double eps, double weight_decay, int64_t step) {
  for (const Tensor* t : {&param, &grad, &m, &v}) {
    SSM_CHECK(t->dtype() == Dtype::f32 && t->is_contiguous(), "adamw_step: needs contiguous f32 tensors, got ",
              t->str());
  }
  const int64_t n = param.numel();
  if (n == 0) return;
  const double bc1 = 1.0 - std::pow(beta1, static_cast<double>(step));
  const double bc2 = 1.0 - std::pow(beta2, static_cast<double>(step));
  SSM_CUDA_LAUNCH("adamw_step", adamw_kernel, grid_for(n), kBlock, 0, ptr<float>(param), ptr<const float>(grad),
                  ptr<float>(m), ptr<float>(v), n, static_cast<float>(lr), static_cast<float>(beta1),
                  static_cast<float>(beta2), static_cast<float>(eps), static_cast<float>(weight_decay),
                  static_cast<float>(1.0 / bc1), static_cast<float>(1.0 / bc2));
}

}  // namespace ssm::cuda
