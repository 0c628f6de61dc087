// ops/cpu/adamw.cpp — the AdamW update (Loshchilov & Hutter), in place, f32.
//
//   m ← β1·m + (1-β1)·g        v ← β2·v + (1-β2)·g²
//   p ← p - lr·( m̂ / (sqrt(v̂) + eps) + wd·p ),   m̂ = m/(1-β1^t), v̂ = v/(1-β2^t)
// Weight decay is decoupled (applied to p, not added to g), as in torch.optim.AdamW.
//
// The arithmetic is f32, as the moments are stored (torch.optim.AdamW computes in the parameters'
// dtype too): each element's update is a few f32 operations, so it is within a few ulp of the
// same formula in double. The bias corrections, computed once per call, stay in double. The loop
// vectorises (sqrt included) and runs on all threads for large parameters; every element is
// written by one thread, so the result does not depend on the thread count.
#include <algorithm>
#include <cmath>

#include "ops/cpu/cpu_backend.h"
#include "ops/cpu/simd.h"  // defines: SSM_CPU_CLONES

namespace ssm {
namespace {

SSM_CPU_CLONES
void adamw_block(float* p, const float* g, float* m, float* v, int64_t n, float lr, float beta1, float beta2,
                 float eps, float weight_decay, float inv_bc1, float inv_bc2) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const float mi = beta1 * m[i] + (1 - beta1) * g[i];
    const float vi = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] - lr * (mi * inv_bc1 / (std::sqrt(vi * inv_bc2) + eps) + weight_decay * p[i]);
  }
}

}  // namespace

void CpuBackend::adamw_step(const std::vector<AdamWTensors>& params, const AdamWHyper& h) {
  const double bc1 = 1.0 - std::pow(h.beta1, static_cast<double>(h.step));
  const double bc2 = 1.0 - std::pow(h.beta2, static_cast<double>(h.step));
  constexpr int64_t kBlock = 1 << 14;  // elements per parallel job
  for (const AdamWTensors& t : params) {
    float* p = t.param.data<float>();
    const float* g = t.grad.data<float>();
    float* pm = t.m.data<float>();
    float* pv = t.v.data<float>();
    const int64_t n = t.param.numel();
    const int64_t blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (worth_parallel(n * 8))
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t begin = b * kBlock, len = std::min(kBlock, n - begin);
      adamw_block(p + begin, g + begin, pm + begin, pv + begin, len, static_cast<float>(h.lr),
                  static_cast<float>(h.beta1), static_cast<float>(h.beta2), static_cast<float>(h.eps),
                  static_cast<float>(t.weight_decay), static_cast<float>(1.0 / bc1), static_cast<float>(1.0 / bc2));
    }
  }
}

}  // namespace ssm
