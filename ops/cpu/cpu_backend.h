// ops/cpu/cpu_backend.h — the CPU backend: plain loops that read like the math, written so the
// compiler vectorises them (docs/performance.md, "The CPU").
//
// Constraints: no intrinsics, f32 and f64 via templates, OpenMP only on outer loops with a
// static schedule (each output element is written by exactly one thread, so results are
// bit-reproducible run to run, which exact checkpoint resume relies on). GEMM goes to OpenBLAS.
// The f64 paths are the references the tests hold everything to; hot f32 paths have kernels of
// their own, compiled per instruction set (ops/cpu/simd.h), each saying what bound its f32
// arithmetic keeps.
// Kernels by file: elementwise.cpp (copy, unary, binary), reduce.cpp (sum_to, max, cumsum),
// matmul.cpp (GEMM), layers.cpp (softmax, cross-entropy, embedding, causal conv), norms.cpp (the
// norms), adamw.cpp, and the scans in ops/scan/: SSD in ssd_cpu*.cpp, the selective scan in
// selective_scan_cpu*.cpp, gated linear attention in gla_cpu*.cpp (ops/README.md: kernel by kernel).
#pragma once

#include "core/error.h"    // defines: Error
#include "ops/backend.h"  // defines: Backend, SSM_BACKEND_METHODS, SsdShape, SelectiveScanShape, GlaShape

namespace ssm {

class CpuBackend final : public Backend {
 public:
  // An override of every kernel of the list in ops/backend.h, defined in the files listed above.
  SSM_BACKEND_METHODS(SSM_BACKEND_OVERRIDE)
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
