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

#include "ops/backend.h"  // defines: Backend, SSM_BACKEND_METHODS

namespace ssm::cuda {

class CudaBackend final : public Backend {
 public:
  // An override of every kernel of the list in ops/backend.h, defined in the files listed above.
  SSM_BACKEND_METHODS(SSM_BACKEND_OVERRIDE)
};

}  // namespace ssm::cuda
