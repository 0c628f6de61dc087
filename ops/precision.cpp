// ops/precision.cpp — the per-thread matmul precision (see ops/precision.h).
#include "ops/precision.h"

#include "core/error.h"  // defines: SSM_USER_CHECK

namespace ssm::ops {
namespace {
thread_local MatmulPrecision g_precision = MatmulPrecision::fp32;
}  // namespace

MatmulPrecision matmul_precision() { return g_precision; }

void set_matmul_precision(MatmulPrecision precision) { g_precision = precision; }

const char* matmul_precision_name(MatmulPrecision precision) {
  switch (precision) {
    case MatmulPrecision::fp32: return "fp32";
    case MatmulPrecision::tf32: return "tf32";
    case MatmulPrecision::bf16: return "bf16";
  }
  return "?";
}

MatmulPrecision matmul_precision_for_run(const std::string& run_precision) {
  if (run_precision == "fp32") return MatmulPrecision::fp32;
  SSM_USER_CHECK(run_precision == "bf16-mixed", "run.precision: unknown value '", run_precision,
                 "' (allowed: fp32, bf16-mixed)");
  return MatmulPrecision::bf16;
}

}  // namespace ssm::ops
