// cuda/dynamic/cublas_forward.cpp — the cuBLAS functions ssmlab calls, defined as forwards into
// the libcublas that cuda/dynamic/library_loader.h opened on the host. The prototypes are
// cublas_api.h's (cublas_v2.h maps cublasCreate to cublasCreate_v2, ...), so cuda/matmul.cu calls
// them unchanged; the host emulator (cuda/emulation/) defines the same names for its own build.
// A function added to the kernels needs its forward here, or the link fails naming it.
#include <cublas_v2.h>

#include "cuda/dynamic/library_loader.h"  // defines: cublas_library, resolved

#define SSM_CUBLAS(name) ::ssm::cuda::resolved<&name>(::ssm::cuda::cublas_library, #name)
// cublasGemmEx and cublasGemmStridedBatchedEx have C++ overloads (an older computeType): the one
// this file defines is picked by its type.
#define SSM_CUBLAS_OVERLOAD(name, type) \
  ::ssm::cuda::resolved<static_cast<type>(&name)>(::ssm::cuda::cublas_library, #name)

cublasStatus_t CUBLASWINAPI cublasCreate_v2(cublasHandle_t* handle) { return SSM_CUBLAS(cublasCreate_v2)(handle); }

cublasStatus_t CUBLASWINAPI cublasSetStream_v2(cublasHandle_t handle, cudaStream_t stream) {
  return SSM_CUBLAS(cublasSetStream_v2)(handle, stream);
}

const char* CUBLASWINAPI cublasGetStatusString(cublasStatus_t status) {
  return SSM_CUBLAS(cublasGetStatusString)(status);
}

cublasStatus_t CUBLASWINAPI cublasDgemm_v2(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
                                           int m, int n, int k, const double* alpha, const double* A, int lda,
                                           const double* B, int ldb, const double* beta, double* C, int ldc) {
  return SSM_CUBLAS(cublasDgemm_v2)(handle, transa, transb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

cublasStatus_t CUBLASWINAPI cublasDgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa,
                                                      cublasOperation_t transb, int m, int n, int k,
                                                      const double* alpha, const double* A, int lda,
                                                      long long int strideA, const double* B, int ldb,
                                                      long long int strideB, const double* beta, double* C, int ldc,
                                                      long long int strideC, int batchCount) {
  return SSM_CUBLAS(cublasDgemmStridedBatched)(handle, transa, transb, m, n, k, alpha, A, lda, strideA, B, ldb,
                                               strideB, beta, C, ldc, strideC, batchCount);
}

cublasStatus_t CUBLASWINAPI cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
                                         int m, int n, int k, const void* alpha, const void* A, cudaDataType Atype,
                                         int lda, const void* B, cudaDataType Btype, int ldb, const void* beta,
                                         void* C, cudaDataType Ctype, int ldc, cublasComputeType_t computeType,
                                         cublasGemmAlgo_t algo) {
  using GemmEx = cublasStatus_t (*)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const void*,
                                    const void*, cudaDataType, int, const void*, cudaDataType, int, const void*, void*,
                                    cudaDataType, int, cublasComputeType_t, cublasGemmAlgo_t);
  return SSM_CUBLAS_OVERLOAD(cublasGemmEx, GemmEx)(handle, transa, transb, m, n, k, alpha, A, Atype, lda, B, Btype, ldb, beta, C,
                                  Ctype, ldc, computeType, algo);
}

cublasStatus_t CUBLASWINAPI cublasGemmStridedBatchedEx(cublasHandle_t handle, cublasOperation_t transa,
                                                       cublasOperation_t transb, int m, int n, int k,
                                                       const void* alpha, const void* A, cudaDataType Atype, int lda,
                                                       long long int strideA, const void* B, cudaDataType Btype,
                                                       int ldb, long long int strideB, const void* beta, void* C,
                                                       cudaDataType Ctype, int ldc, long long int strideC,
                                                       int batchCount, cublasComputeType_t computeType,
                                                       cublasGemmAlgo_t algo) {
  using GemmStridedBatchedEx =
      cublasStatus_t (*)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const void*, const void*,
                         cudaDataType, int, long long int, const void*, cudaDataType, int, long long int, const void*,
                         void*, cudaDataType, int, long long int, int, cublasComputeType_t, cublasGemmAlgo_t);
  return SSM_CUBLAS_OVERLOAD(cublasGemmStridedBatchedEx, GemmStridedBatchedEx)(handle, transa, transb, m, n, k, alpha, A, Atype, lda, strideA, B,
                                                Btype, ldb, strideB, beta, C, Ctype, ldc, strideC, batchCount,
                                                computeType, algo);
}
