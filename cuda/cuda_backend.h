// cuda/cuda_backend.h — the CUDA backend: every Backend kernel (ops/backend.h) on the GPU.
//
// It mirrors the CPU reference file by file, and each kernel mirrors its CPU loop (layouts, index
// formulas, loop order inside an output element), so the two read side by side:
//   elementwise.cu  copy, unary, binary               (ops/cpu/elementwise.cpp)
//   reduce.cu       sum_to, max, cumsum               (ops/cpu/reduce.cpp)
//   matmul.cu       GEMM on cuBLAS                    (ops/cpu/matmul.cpp)
//   layers.cu       softmax, cross-entropy, embedding, causal conv   (ops/cpu/layers.cpp)
//   norms.cu        RMSNorm, gated RMSNorm, LayerNorm  (ops/cpu/norms.cpp)
//   adamw.cu        the AdamW step                    (ops/cpu/adamw.cpp)
//   scan/ssd_cuda_recurrent.cu     Mamba-2 SSD: entry points, recurrence (ops/scan/ssd_cpu.cpp,
//                                  ssd_cpu_recurrent.cpp)
//   scan/ssd_cuda_chunked.cu, scan/ssd_cuda_chunked_backward.cu   its chunked form
//                                  (ops/scan/ssd_cpu_chunked.cpp)
//   scan/selective_scan_cuda_recurrent.cu   Mamba-1 selective scan (ops/scan/selective_scan_cpu*.cpp)
//   scan/gla_cuda_recurrent.cu     gated linear attention (ops/scan/gla_cpu*.cpp)
// Dtypes: f32 and f64 everywhere (f64 for the CPU == CUDA tests), bf16 for copy, the elementwise
// ops and GEMM. Recurrent states and scan accumulations are f32 (f64 for f64). Registered for
// DeviceType::cuda at start-up when a GPU is visible (cuda/register.cpp).
#pragma once

#include "ops/backend.h"  // defines: Backend, UnaryOp, BinaryOp, SsdShape, SelectiveScanShape, GlaShape

namespace ssm::cuda {

class CudaBackend final : public Backend {
 public:
  void copy(const Tensor& src, const Tensor& dst) override;
  void unary(UnaryOp op, const Tensor& x, const Tensor& out, double scalar) override;
  void unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& dy, const Tensor& dx,
                      double scalar) override;
  void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) override;
  void sum_to(const Tensor& x, const Tensor& out) override;
  void max_dim(const Tensor& x, int64_t dim, const Tensor& values, const Tensor& indices) override;
  void max_dim_backward(const Tensor& dy, const Tensor& indices, int64_t dim, const Tensor& dx) override;
  void cumsum(const Tensor& x, int64_t dim, bool reverse, const Tensor& out) override;
  void gemm(bool trans_a, bool trans_b, int64_t batch, int64_t m, int64_t n, int64_t k, double alpha,
            const Tensor& a, int64_t lda, int64_t stride_a, const Tensor& b, int64_t ldb,
            int64_t stride_b, double beta, const Tensor& c, int64_t ldc, int64_t stride_c) override;
  void softmax_forward(const Tensor& x, const Tensor& y, bool log) override;
  void softmax_backward(const Tensor& y, const Tensor& dy, const Tensor& dx, bool log) override;
  void cross_entropy_forward(const Tensor& logits, const Tensor& targets, int64_t ignore_index,
                             const Tensor& losses, const Tensor& lse) override;
  void cross_entropy_backward(const Tensor& logits, const Tensor& targets, const Tensor& lse,
                              const Tensor& dlosses, int64_t ignore_index, const Tensor& dlogits) override;
  void embedding_forward(const Tensor& weight, const Tensor& ids, const Tensor& out) override;
  void embedding_backward(const Tensor& ids, const Tensor& dout, const Tensor& dweight) override;
  void rms_norm_forward(const Tensor& x, const Tensor& w, double eps, const Tensor& y,
                        const Tensor& rstd) override;
  void rms_norm_backward(const Tensor& x, const Tensor& w, const Tensor& rstd, const Tensor& dy,
                         const Tensor& dx, const Tensor& dw) override;
  void gated_rms_norm_forward(const Tensor& x, const Tensor& z, const Tensor& w, double eps, int64_t group,
                              const Tensor& y, const Tensor& rstd) override;
  void gated_rms_norm_backward(const Tensor& x, const Tensor& z, const Tensor& w, const Tensor& rstd,
                               int64_t group, const Tensor& dy, const Tensor& dx, const Tensor& dz,
                               const Tensor& dw) override;
  void layer_norm_forward(const Tensor& x, const Tensor& w, const Tensor& b, double eps, const Tensor& y,
                          const Tensor& mean, const Tensor& rstd) override;
  void layer_norm_backward(const Tensor& x, const Tensor& w, const Tensor& mean, const Tensor& rstd,
                           const Tensor& dy, const Tensor& dx, const Tensor& dw, const Tensor& db) override;
  void conv1d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& state_in,
                      const Tensor& y, const Tensor& state_out) override;
  void conv1d_backward(const Tensor& x, const Tensor& w, const Tensor& state_in, const Tensor& dy,
                       const Tensor& dstate_out, const Tensor& dx, const Tensor& dw, const Tensor& dbias,
                       const Tensor& dstate_in) override;
  void ssd_forward(const SsdShape& s, int64_t chunk, const Tensor& x, const Tensor& dt, const Tensor& A,
                   const Tensor& Bm, const Tensor& Cm, const Tensor& h0, const Tensor& y,
                   const Tensor& hT) override;
  void ssd_backward(const SsdShape& s, int64_t chunk, const Tensor& x, const Tensor& dt, const Tensor& A,
                    const Tensor& Bm, const Tensor& Cm, const Tensor& h0, const Tensor& dy,
                    const Tensor& dhT, const Tensor& dx, const Tensor& ddt, const Tensor& dA,
                    const Tensor& dB, const Tensor& dC, const Tensor& dh0) override;
  void selective_scan_forward(const SelectiveScanShape& s, int64_t chunk, const Tensor& x, const Tensor& dt,
                              const Tensor& A, const Tensor& Bm, const Tensor& Cm, const Tensor& h0,
                              const Tensor& y, const Tensor& hT) override;
  void selective_scan_backward(const SelectiveScanShape& s, int64_t chunk, const Tensor& x, const Tensor& dt,
                               const Tensor& A, const Tensor& Bm, const Tensor& Cm, const Tensor& h0,
                               const Tensor& dy, const Tensor& dhT, const Tensor& dx, const Tensor& ddt,
                               const Tensor& dA, const Tensor& dB, const Tensor& dC, const Tensor& dh0) override;
  void gla_forward(const GlaShape& s, int64_t chunk, bool bonus, const Tensor& q, const Tensor& k,
                   const Tensor& v, const Tensor& g, const Tensor& u, const Tensor& h0, const Tensor& o,
                   const Tensor& hT) override;
  void gla_backward(const GlaShape& s, int64_t chunk, bool bonus, const Tensor& q, const Tensor& k,
                    const Tensor& v, const Tensor& g, const Tensor& u, const Tensor& h0, const Tensor& dout,
                    const Tensor& dhT, const Tensor& dq, const Tensor& dk, const Tensor& dv, const Tensor& dg,
                    const Tensor& du, const Tensor& dh0) override;
  void adamw_step(const Tensor& param, const Tensor& grad, const Tensor& m, const Tensor& v, double lr,
                  double beta1, double beta2, double eps, double weight_decay, int64_t step) override;
};

}  // namespace ssm::cuda
