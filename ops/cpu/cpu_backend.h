// ops/cpu/cpu_backend.h — the CPU reference backend: plain loops that read like the math.
//
// Constraints: no intrinsics, f32 and f64 via templates, OpenMP only on outer loops with a
// static schedule (each output element is written by exactly one thread, so results are
// bit-reproducible run to run, which exact checkpoint resume relies on). GEMM goes to OpenBLAS.
// Kernels by file: elementwise.cpp (copy, unary, binary), reduce.cpp (sum_to, max), matmul.cpp
// (GEMM), layers.cpp (softmax, cross-entropy, embedding, norms, causal conv), adamw.cpp, and the
// scans in ops/scan/: SSD in ssd_cpu*.cpp, the selective scan in selective_scan_cpu*.cpp, gated
// linear attention in gla_cpu*.cpp.
#pragma once

#include "core/error.h"    // defines: Error
#include "ops/backend.h"  // defines: Backend, UnaryOp, BinaryOp, SsdShape, SelectiveScanShape, GlaShape

namespace ssm {

class CpuBackend final : public Backend {
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

// Whether a loop of `work` element operations is worth an OpenMP team. Below ~32K the team's
// start-up and its threads' spin-waiting cost more than the loop itself, and on a busy machine
// far more: evaluation's 128-token calls and decoding's single tokens ran several times faster
// on one thread. Results do not depend on it (each output is written by one thread either way).
constexpr int64_t kParallelMinWork = int64_t{1} << 15;
inline bool worth_parallel(int64_t work) { return work >= kParallelMinWork; }
// The element operations of one scan call (every step touches the whole state once).
inline int64_t scan_work(const SsdShape& s) { return s.batch * s.seqlen * s.heads * s.headdim * s.dstate; }
inline int64_t scan_work(const SelectiveScanShape& s) { return s.batch * s.seqlen * s.channels * s.dstate; }
inline int64_t scan_work(const GlaShape& s) { return s.batch * s.seqlen * s.heads * s.dk * s.dv; }

// The data pointer of an optional tensor argument (initial states, final-state gradients), or
// null when it is undefined: the raw-pointer kernels take null for "absent".
template <typename T>
const T* ptr_or_null(const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; }
template <typename T>
T* mut_or_null(const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; }

// Calls fn.template operator()<T>() with T = float or double according to `dtype`.
template <typename Fn>
void dispatch_floating(Dtype dtype, const char* what, Fn&& fn) {
  if (dtype == Dtype::f32) {
    fn.template operator()<float>();
  } else if (dtype == Dtype::f64) {
    fn.template operator()<double>();
  } else {
    throw Error(absl::StrCat(what, ": CPU kernels support f32 and f64, got ", dtype_name(dtype)));
  }
}

}  // namespace ssm
