// ops/cpu/adamw.cpp — the AdamW update (Loshchilov & Hutter), in place, f32.
//
//   m ← β1·m + (1-β1)·g        v ← β2·v + (1-β2)·g²
//   p ← p - lr·( m̂ / (sqrt(v̂) + eps) + wd·p ),   m̂ = m/(1-β1^t), v̂ = v/(1-β2^t)
// Weight decay is decoupled (applied to p, not added to g), as in torch.optim.AdamW.
#include <cmath>

#include "ops/cpu/cpu_backend.h"

namespace ssm {

void CpuBackend::adamw_step(const Tensor& param, const Tensor& grad, const Tensor& m, const Tensor& v,
                            double lr, double beta1, double beta2, double eps, double weight_decay,
                            int64_t step) {
  float* p = param.data<float>();
  const float* g = grad.data<float>();
  float* pm = m.data<float>();
  float* pv = v.data<float>();
  const double bc1 = 1.0 - std::pow(beta1, static_cast<double>(step));
  const double bc2 = 1.0 - std::pow(beta2, static_cast<double>(step));
  const int64_t n = param.numel();
  for (int64_t i = 0; i < n; ++i) {
    pm[i] = static_cast<float>(beta1 * pm[i] + (1 - beta1) * g[i]);
    pv[i] = static_cast<float>(beta2 * pv[i] + (1 - beta2) * g[i] * g[i]);
    const double m_hat = pm[i] / bc1, v_hat = pv[i] / bc2;
    p[i] = static_cast<float>(p[i] - lr * (m_hat / (std::sqrt(v_hat) + eps) + weight_decay * p[i]));
  }
}

}  // namespace ssm
