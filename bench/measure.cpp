// bench/measure.cpp — timers and device limits for ssmlab bench (bench/measure.h).
#include "bench/measure.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"  // defines: absl::StrFormat
#include "core/error.h"               // defines: SSM_CHECK
#include "core/storage.h"             // defines: release_cached_host_memory
#if defined(SSMLAB_WITH_CUDA)
#include "cuda/allocator.h"  // defines: memory_stats, reset_peak_memory
#include "cuda/device.h"     // defines: device_info, current_device
#include "cuda/stream.h"     // defines: EventTimer, synchronize
#endif

namespace ssm::bench {

double median_ms(Device device, int warmup, int repeats, const std::function<void()>& fn) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> times;
  for (int i = 0; i < std::max(repeats, 1); ++i) {
    if (device.is_cuda()) {
#if defined(SSMLAB_WITH_CUDA)
      cuda::synchronize();
      cuda::EventTimer timer;
      timer.start();
      fn();
      timer.stop();
      times.push_back(timer.elapsed_ms());
#else
      SSM_CHECK(false, "ssmlab bench: CUDA timing in a build without CUDA");
#endif
    } else {
      const auto t0 = std::chrono::steady_clock::now();
      fn();
      times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
  }
  std::sort(times.begin(), times.end());
  const size_t n = times.size();
  return n % 2 ? times[n / 2] : 0.5 * (times[n / 2 - 1] + times[n / 2]);
}

Limits query_limits(Device device) {
  Limits limits;
  if (device.is_cpu()) {
    std::string model = "unknown CPU";
    std::ifstream cpuinfo("/proc/cpuinfo");
    for (std::string line; std::getline(cpuinfo, line);) {
      if (line.rfind("model name", 0) == 0) {
        model = line.substr(line.find(':') + 2);
        break;
      }
    }
    limits.description = absl::StrFormat("CPU: %s, %d threads (OpenMP); no bandwidth or peak figures", model,
                                         omp_get_max_threads());
    return limits;
  }
#if defined(SSMLAB_WITH_CUDA)
  const cuda::DeviceInfo info = cuda::device_info(cuda::current_device());
  // FP32 lanes per SM: 128 on sm_86/sm_89/sm_90 and later, 64 on sm_80 and sm_70.
  const int lanes = (info.major == 8 && info.minor == 0) || info.major < 8 ? 64 : 128;
  limits.sm_count = info.sm_count;
  limits.bandwidth = info.memory_bandwidth_bytes_per_s;
  limits.fp32 = static_cast<double>(info.sm_count) * lanes * 2.0 * info.sm_clock_khz * 1e3;
  limits.description = absl::StrFormat(
      "%s, sm_%d%d, %d SMs at %.0f MHz, %.1f GiB; memory %.2f TB/s (%d-bit bus at %.0f MHz), FP32 %.1f TFLOP/s",
      info.name, info.major, info.minor, info.sm_count, info.sm_clock_khz / 1e3, info.total_memory_bytes / (1 << 30),
      limits.bandwidth / 1e12, info.memory_bus_bits, info.memory_clock_khz / 1e3, limits.fp32 / 1e12);
#endif
  return limits;
}

// The CPU's peak is the process's peak resident set (VmHWM in /proc/self/status), which Linux
// resets when "5" is written to /proc/self/clear_refs: the figure then covers one benchmark.
double peak_memory_bytes(Device device) {
#if defined(SSMLAB_WITH_CUDA)
  if (device.is_cuda()) return static_cast<double>(cuda::memory_stats().peak_in_use_bytes);
#endif
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) * 1024.0;  // "VmHWM:  123 kB"
  }
  return 0;
}

void reset_peak_memory(Device device) {
#if defined(SSMLAB_WITH_CUDA)
  if (device.is_cuda()) {
    cuda::reset_peak_memory();
    return;
  }
#endif
  release_cached_host_memory();  // what earlier benchmarks left cached is not this one's
  std::ofstream("/proc/self/clear_refs") << "5";
}

}  // namespace ssm::bench
