// TEMPORARY placeholder: delete each definition as the real one lands (never commit).
#include "ops/cpu/cpu_backend.h"
#include "ops/ops.h"
#include "ops/scan/ssd.h"
namespace ssm {
void CpuBackend::softmax_forward(const Tensor& x, const Tensor& y, bool log) { throw Error("softmax_forward: not implemented yet"); }
void CpuBackend::softmax_backward(const Tensor& y, const Tensor& dy, const Tensor& dx, bool log) { throw Error("softmax_backward: not implemented yet"); }
void CpuBackend::cross_entropy_forward(const Tensor& logits, const Tensor& targets, int64_t ignore_index,
                             const Tensor& losses, const Tensor& lse) { throw Error("cross_entropy_forward: not implemented yet"); }
void CpuBackend::cross_entropy_backward(const Tensor& logits, const Tensor& targets, const Tensor& lse,
                              const Tensor& dlosses, int64_t ignore_index, const Tensor& dlogits) { throw Error("cross_entropy_backward: not implemented yet"); }
void CpuBackend::embedding_forward(const Tensor& weight, const Tensor& ids, const Tensor& out) { throw Error("embedding_forward: not implemented yet"); }
void CpuBackend::embedding_backward(const Tensor& ids, const Tensor& dout, const Tensor& dweight) { throw Error("embedding_backward: not implemented yet"); }
void CpuBackend::rms_norm_forward(const Tensor& x, const Tensor& w, double eps, const Tensor& y,
                        const Tensor& rstd) { throw Error("rms_norm_forward: not implemented yet"); }
void CpuBackend::rms_norm_backward(const Tensor& x, const Tensor& w, const Tensor& rstd, const Tensor& dy,
                         const Tensor& dx, const Tensor& dw) { throw Error("rms_norm_backward: not implemented yet"); }
void CpuBackend::gated_rms_norm_forward(const Tensor& x, const Tensor& z, const Tensor& w, double eps, int64_t group,
                              const Tensor& y, const Tensor& rstd) { throw Error("gated_rms_norm_forward: not implemented yet"); }
void CpuBackend::gated_rms_norm_backward(const Tensor& x, const Tensor& z, const Tensor& w, const Tensor& rstd,
                               int64_t group, const Tensor& dy, const Tensor& dx, const Tensor& dz,
                               const Tensor& dw) { throw Error("gated_rms_norm_backward: not implemented yet"); }
void CpuBackend::layer_norm_forward(const Tensor& x, const Tensor& w, const Tensor& b, double eps, const Tensor& y,
                          const Tensor& mean, const Tensor& rstd) { throw Error("layer_norm_forward: not implemented yet"); }
void CpuBackend::layer_norm_backward(const Tensor& x, const Tensor& w, const Tensor& mean, const Tensor& rstd,
                           const Tensor& dy, const Tensor& dx, const Tensor& dw, const Tensor& db) { throw Error("layer_norm_backward: not implemented yet"); }
void CpuBackend::conv1d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& state_in,
                      const Tensor& y, const Tensor& state_out) { throw Error("conv1d_forward: not implemented yet"); }
void CpuBackend::conv1d_backward(const Tensor& x, const Tensor& w, const Tensor& state_in, const Tensor& dy,
                       const Tensor& dstate_out, const Tensor& dx, const Tensor& dw, const Tensor& dbias,
                       const Tensor& dstate_in) { throw Error("conv1d_backward: not implemented yet"); }
}  // namespace ssm
namespace ssm::ops {
Tensor softmax(const Tensor&, int64_t) { throw Error("softmax: pending"); }
Tensor log_softmax(const Tensor&, int64_t) { throw Error("log_softmax: pending"); }
Tensor cross_entropy(const Tensor&, const Tensor&, int64_t) { throw Error("cross_entropy: pending"); }
Tensor cross_entropy_per_token(const Tensor&, const Tensor&, int64_t) { throw Error("ce: pending"); }
Tensor embedding(const Tensor&, const Tensor&) { throw Error("embedding: pending"); }
Tensor rms_norm(const Tensor&, const Tensor&, double) { throw Error("rms_norm: pending"); }
Tensor gated_rms_norm(const Tensor&, const Tensor&, const Tensor&, double, int64_t) { throw Error("gated: pending"); }
Tensor layer_norm(const Tensor&, const Tensor&, const Tensor&, double) { throw Error("layer_norm: pending"); }
ConvResult causal_conv1d(const Tensor&, const Tensor&, const Tensor&, const Tensor&) { throw Error("conv: pending"); }
}
