// ops/cpu/matmul.cpp — GEMM on the CPU through OpenBLAS (cblas, row-major).
#include <cblas.h>  // defines: cblas_sgemm, cblas_dgemm

#include "ops/cpu/cpu_backend.h"

namespace ssm {

void CpuBackend::gemm(bool trans_a, bool trans_b, int64_t batch, int64_t m, int64_t n, int64_t k,
                      double alpha, const Tensor& a, int64_t lda, int64_t stride_a, const Tensor& b,
                      int64_t ldb, int64_t stride_b, double beta, const Tensor& c, int64_t ldc,
                      int64_t stride_c) {
  const CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans;
  const CBLAS_TRANSPOSE tb = trans_b ? CblasTrans : CblasNoTrans;
  dispatch_floating(c.dtype(), "gemm", [&]<typename T>() {
    const T* pa = static_cast<const T*>(a.raw_data());
    const T* pb = static_cast<const T*>(b.raw_data());
    T* pc = static_cast<T*>(c.raw_data());
    for (int64_t i = 0; i < batch; ++i) {
      if constexpr (std::is_same_v<T, float>) {
        cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, static_cast<float>(alpha), pa + i * stride_a, lda,
                    pb + i * stride_b, ldb, static_cast<float>(beta), pc + i * stride_c, ldc);
      } else {
        cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, alpha, pa + i * stride_a, lda, pb + i * stride_b, ldb,
                    beta, pc + i * stride_c, ldc);
      }
    }
  });
}

}  // namespace ssm
