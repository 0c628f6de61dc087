// bench/bench.h — `ssmlab bench`: time the kernels and a whole training step on one device and
// print achieved bandwidth and throughput next to the device's limits.
//
// Kernels: GEMM (fp32, TF32, bf16-mixed, bf16 tensors), the three scans forward and backward, the
// SSD decode step, RMSNorm, softmax and cross-entropy, each called through its Backend kernel with
// preallocated outputs. Training: forward, cross-entropy, backward, clipping and AdamW of a
// Mamba-2 (the demo model of configs/mamba2_s128.yaml and a mamba2-130m-shaped one at 2K and 8K
// context), reported as tokens/s and model FLOP/s. Evaluation: the same models streamed through
// forward() over a long sequence, and decoded one token per step(), as tokens/s. Peak memory:
// the GPU's bytes in tensors, or on the CPU the peak resident set. Times are medians of repeats
// after warm-up runs; on CUDA they come from events on the compute stream, on the CPU from the
// wall clock.
// Not a test: numbers depend on the machine (DESIGN.md: benchmarks are programs).
#pragma once

#include <string>

#include "core/dtype.h"  // defines: Device

namespace ssm::bench {

struct BenchOptions {
  Device device = Device::cuda();
  std::string preset;            // full | small | tiny; empty: full on CUDA, small on the CPU
  std::string only = "all";      // all | kernels | train | eval
  std::string filter;            // run only benchmarks whose name contains this
  std::string precision;         // training matmuls: fp32 | tf32 | bf16; empty: bf16 on CUDA, fp32 on the CPU
  int warmup = -1, repeats = -1;  // -1: the preset's
  std::string json_path;         // also write the results here (bench/torch_peer.py reads them)
};

// Runs the benchmarks and prints the table. UserError (exit code 2 at the CLI) when the device
// cannot run: no CUDA backend or no visible GPU for --device cuda.
void run_bench(const BenchOptions& options);

}  // namespace ssm::bench
