// ops/precision.h — the matmul precision of the current thread: how a backend may run f32 GEMMs.
//
// Parameters, optimizer state, activations and recurrent states stay f32 whatever this says; it
// only tells a backend's GEMM what it may do with f32 operands (ops::matmul and ops::linear are
// the only GEMM callers). The CPU backend always computes in f32 and ignores it; the CUDA backend
// reads it in its gemm:
//   fp32 — strict fp32 (cuBLAS compute type 32F, no tensor-core shortcuts); the default
//   tf32 — fp32 inputs rounded to TF32 on the tensor cores, fp32 accumulation
//   bf16 — the operands rounded to bf16, fp32 accumulation and an f32 result (run.precision
//          bf16-mixed)
// The setting is per thread, so a test or a benchmark can change it without touching another
// thread; MatmulPrecisionGuard sets it for a scope and restores the previous value.
#pragma once

#include <string>

namespace ssm::ops {

enum class MatmulPrecision { fp32, tf32, bf16 };

MatmulPrecision matmul_precision();
void set_matmul_precision(MatmulPrecision precision);
const char* matmul_precision_name(MatmulPrecision precision);  // "fp32", "tf32", "bf16"

// run.precision of a config ("fp32" | "bf16-mixed") as a matmul precision; UserError otherwise.
MatmulPrecision matmul_precision_for_run(const std::string& run_precision);

class MatmulPrecisionGuard {
 public:
  explicit MatmulPrecisionGuard(MatmulPrecision precision) : saved_(matmul_precision()) {
    set_matmul_precision(precision);
  }
  ~MatmulPrecisionGuard() { set_matmul_precision(saved_); }
  MatmulPrecisionGuard(const MatmulPrecisionGuard&) = delete;
  MatmulPrecisionGuard& operator=(const MatmulPrecisionGuard&) = delete;

 private:
  MatmulPrecision saved_;
};

}  // namespace ssm::ops
