// bench/measure.h — timing one benchmark, and the device limits its numbers are compared with.
#pragma once

#include <functional>
#include <string>

#include "core/dtype.h"  // defines: Device

namespace ssm::bench {

// Median milliseconds of `repeats` timed runs of fn after `warmup` untimed ones. CUDA: each run
// between two events on the compute stream (the GPU time of what fn enqueued); CPU: wall clock.
double median_ms(Device device, int warmup, int repeats, const std::function<void()>& fn);

// What the achieved figures are divided by. The device's own memory bandwidth comes from its
// memory clock and bus width and its FP32 peak from SMs x FP32 lanes x 2 x clock; tensor-core
// peaks cannot be queried, so the H100 SXM figures (docs/performance.md) are the reference.
struct Limits {
  std::string description;     // one line about the device
  double bandwidth = 0;        // bytes/s; 0 when unknown (CPU)
  double fp32 = 0;             // FLOP/s on CUDA cores; 0 when unknown
  double tf32 = 494.7e12;      // H100 SXM, dense
  double bf16 = 989.4e12;      // H100 SXM, dense
  int sm_count = 0;
};
constexpr double kH100Bandwidth = 3.35e12;
constexpr double kH100Fp32 = 66.9e12;
Limits query_limits(Device device);

// Peak memory since the last reset, and the reset: on CUDA the bytes held by tensors, on the CPU
// the process's peak resident set (everything: tensors, caches, code).
double peak_memory_bytes(Device device);
void reset_peak_memory(Device device);

}  // namespace ssm::bench
