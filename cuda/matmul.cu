// cuda/matmul.cu — GEMM on cuBLAS: the GPU twin of ops/cpu/matmul.cpp.
//
// The contract (ops/backend.h) is row-major: C[b] = alpha·op(A[b])·op(B[b]) + beta·C[b]. cuBLAS is
// column-major, and a row-major matrix read column-major is its transpose, so we ask cuBLAS for
//   Cᵀ = op(B)ᵀ·op(A)ᵀ   (m and n swapped, B passed first)
// with the same leading dimensions and batch strides (0 broadcasts an operand over the batch).
// Precision by dtype and by the thread's matmul precision (ops/precision.h):
//   f64                Dgemm (tests compare in f64)
//   f32, fp32          GemmEx, compute type 32F: plain fp32
//   f32, tf32          GemmEx, compute type 32F_FAST_TF32: tensor cores, fp32 accumulation
//   f32, bf16          A and B rounded to bf16 (a scratch copy), fp32 accumulation, f32 C: bf16-mixed;
//                      an operand that is bf16 already (an activation the backward keeps in bf16,
//                      ops/matmul.cpp) is used as it is
//   bf16               GemmEx with bf16 A, B and C, fp32 accumulation
#include <cublas_v2.h>

#include <climits>

#include "cuda/cuda_backend.h"   // defines: CudaBackend
#include "cuda/kernel_util.cuh"  // defines: dispatch helpers, scratch, grid_for
#include "ops/precision.h"       // defines: matmul_precision, MatmulPrecision

namespace ssm::cuda {
namespace {

cublasHandle_t handle() {
  static cublasHandle_t h = [] {
    cublasHandle_t created = nullptr;
    SSM_CUBLAS_CHECK("gemm", cublasCreate(&created));
    SSM_CUBLAS_CHECK("gemm", cublasSetStream(created, stream()));
    return created;
  }();
  return h;
}

__global__ void f32_to_bf16_kernel(const float* src, bf16* dst, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    dst[i] = __float2bfloat16(src[i]);
  }
}

// C[b] = beta·C[b] (the k == 0 case, where cuBLAS would reject the leading dimensions).
template <typename T>
__global__ void scale_matrices_kernel(T* c, int64_t batch, int64_t m, int64_t n, int64_t ldc, int64_t stride_c,
                                      Acc<T> beta) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < batch * m * n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t b = i / (m * n), r = (i / n) % m, col = i % n;
    T& v = c[b * stride_c + r * ldc + col];
    v = beta == Acc<T>(0) ? Num<T>::store(Acc<T>(0)) : Num<T>::store(beta * Num<T>::load(v));
  }
}

// Elements from an operand's first to its last used one: `rows` x `cols` as stored (row-major with
// leading dimension ld), repeated over the batch at `stride`.
int64_t operand_span(bool trans, int64_t rows, int64_t cols, int64_t ld, int64_t batch, int64_t stride) {
  const int64_t stored_rows = trans ? cols : rows, stored_cols = trans ? rows : cols;
  return (batch - 1) * stride + (stored_rows - 1) * ld + stored_cols;
}

// A bf16 copy of `span` f32 elements starting at p (the gaps between rows come along; harmless).
Tensor to_bf16(const void* p, int64_t span) {
  Tensor out = scratch(span, Dtype::bf16);
  SSM_CUDA_LAUNCH("gemm", f32_to_bf16_kernel, grid_for(span), kBlock, 0, static_cast<const float*>(p),
                  ptr<bf16>(out), span);
  return out;
}

struct GemmArgs {
  cublasOperation_t op_first, op_second;  // for B and A, in cuBLAS's argument order
  int m, n, k, lda, ldb, ldc, batch;        // cuBLAS's m = our n, n = our m
  long long stride_first, stride_second, stride_c;
};

void gemm_ex(const GemmArgs& g, const void* first, cudaDataType_t first_type, const void* second,
             cudaDataType_t second_type, void* c, cudaDataType_t c_type, cublasComputeType_t compute, float alpha,
             float beta) {
  if (g.batch == 1) {
    SSM_CUBLAS_CHECK("gemm", cublasGemmEx(handle(), g.op_first, g.op_second, g.m, g.n, g.k, &alpha, first, first_type,
                                          g.lda, second, second_type, g.ldb, &beta, c, c_type, g.ldc, compute,
                                          CUBLAS_GEMM_DEFAULT));
    return;
  }
  SSM_CUBLAS_CHECK("gemm", cublasGemmStridedBatchedEx(handle(), g.op_first, g.op_second, g.m, g.n, g.k, &alpha, first,
                                                      first_type, g.lda, g.stride_first, second, second_type, g.ldb,
                                                      g.stride_second, &beta, c, c_type, g.ldc, g.stride_c, g.batch,
                                                      compute, CUBLAS_GEMM_DEFAULT));
}

int checked_int(int64_t v, const char* what) {
  SSM_CHECK(v >= 0 && v <= INT_MAX, "gemm: ", what, " = ", v, " exceeds cuBLAS's 32-bit sizes");
  return static_cast<int>(v);
}

}  // namespace

void CudaBackend::gemm(bool trans_a, bool trans_b, int64_t batch, int64_t m, int64_t n, int64_t k, double alpha,
                       const Tensor& a, int64_t lda, int64_t stride_a, const Tensor& b, int64_t ldb,
                       int64_t stride_b, double beta, const Tensor& c, int64_t ldc, int64_t stride_c) {
  if (batch == 0 || m == 0 || n == 0) return;
  if (k == 0) {  // op(A)·op(B) is empty: C = beta·C
    dispatch_floating<true>(c.dtype(), "gemm", [&](auto tag) {
      using T = typename decltype(tag)::type;
      SSM_CUDA_LAUNCH("gemm", scale_matrices_kernel<T>, grid_for(batch * m * n), kBlock, 0, ptr<T>(c), batch, m, n,
                      ldc, stride_c, static_cast<Acc<T>>(beta));
    });
    return;
  }
  GemmArgs g;
  g.op_first = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  g.op_second = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  g.m = checked_int(n, "n");
  g.n = checked_int(m, "m");
  g.k = checked_int(k, "k");
  g.lda = checked_int(ldb, "ldb");
  g.ldb = checked_int(lda, "lda");
  g.ldc = checked_int(ldc, "ldc");
  g.batch = checked_int(batch, "batch");
  g.stride_first = stride_b;
  g.stride_second = stride_a;
  g.stride_c = stride_c;

  switch (c.dtype()) {
    case Dtype::f64: {
      const double al = alpha, be = beta;
      const double* pb = static_cast<const double*>(b.raw_data());
      const double* pa = static_cast<const double*>(a.raw_data());
      double* pc = static_cast<double*>(c.raw_data());
      if (g.batch == 1) {
        SSM_CUBLAS_CHECK("gemm", cublasDgemm(handle(), g.op_first, g.op_second, g.m, g.n, g.k, &al, pb, g.lda, pa,
                                             g.ldb, &be, pc, g.ldc));
      } else {
        SSM_CUBLAS_CHECK("gemm", cublasDgemmStridedBatched(handle(), g.op_first, g.op_second, g.m, g.n, g.k, &al, pb,
                                                           g.lda, g.stride_first, pa, g.ldb, g.stride_second, &be,
                                                           pc, g.ldc, g.stride_c, g.batch));
      }
      return;
    }
    case Dtype::f32: {
      const ops::MatmulPrecision precision = ops::matmul_precision();
      const bool mixed = a.dtype() == Dtype::bf16 || b.dtype() == Dtype::bf16;
      SSM_CHECK(!mixed || precision == ops::MatmulPrecision::bf16, "gemm: a bf16 operand with an f32 result needs ",
                "the bf16 matmul precision, got ", ops::matmul_precision_name(precision));
      if (precision == ops::MatmulPrecision::bf16) {
        Tensor b16 = b.dtype() == Dtype::bf16 ? b
                                               : to_bf16(b.raw_data(), operand_span(trans_b, k, n, ldb, batch, stride_b));
        Tensor a16 = a.dtype() == Dtype::bf16 ? a
                                               : to_bf16(a.raw_data(), operand_span(trans_a, m, k, lda, batch, stride_a));
        gemm_ex(g, b16.raw_data(), CUDA_R_16BF, a16.raw_data(), CUDA_R_16BF, c.raw_data(), CUDA_R_32F,
                CUBLAS_COMPUTE_32F, static_cast<float>(alpha), static_cast<float>(beta));
        return;
      }
      const cublasComputeType_t compute =
          precision == ops::MatmulPrecision::tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
      gemm_ex(g, b.raw_data(), CUDA_R_32F, a.raw_data(), CUDA_R_32F, c.raw_data(), CUDA_R_32F, compute,
              static_cast<float>(alpha), static_cast<float>(beta));
      return;
    }
    case Dtype::bf16:
      gemm_ex(g, b.raw_data(), CUDA_R_16BF, a.raw_data(), CUDA_R_16BF, c.raw_data(), CUDA_R_16BF, CUBLAS_COMPUTE_32F,
              static_cast<float>(alpha), static_cast<float>(beta));
      return;
    default:
      throw Error(absl::StrCat("gemm: the CUDA GEMM supports f32, f64 and bf16, got ", dtype_name(c.dtype())));
  }
}

}  // namespace ssm::cuda
