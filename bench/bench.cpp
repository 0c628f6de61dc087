// bench/bench.cpp — runs ssmlab bench (bench/bench.h): checks the device, picks the preset, times
// every benchmark and prints the table (and the JSON file bench/torch_peer.py reads).
#include "bench/bench.h"

#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>  // defines: nlohmann::json

#include "absl/strings/str_cat.h"     // defines: absl::StrCat
#include "absl/strings/str_format.h"  // defines: absl::StrFormat
#include "bench/measure.h"            // defines: median_ms, query_limits, Limits
#include "bench/suite.h"              // defines: preset_sizes, kernel_benchmarks, train_benchmarks
#include "core/error.h"               // defines: SSM_USER_CHECK
#include "ops/backend.h"              // defines: has_backend
#include "ops/precision.h"            // defines: MatmulPrecisionGuard

namespace ssm::bench {
namespace {

std::string percent(double achieved, double limit) {
  return limit > 0 ? absl::StrFormat("%5.1f%%", 100.0 * achieved / limit) : std::string("    -");
}

// The peak a benchmark's FLOP/s are compared with, and its label.
std::pair<double, const char*> peak_of(Peak peak, const Limits& limits, Device device) {
  if (device.is_cpu()) return {0.0, "-"};
  switch (peak) {
    case Peak::fp32: return {limits.fp32, "FP32"};
    case Peak::tf32: return {limits.tf32, "TF32 TC (H100 ref)"};
    case Peak::bf16: return {limits.bf16, "BF16 TC (H100 ref)"};
  }
  return {0.0, "-"};
}

Peak peak_for_precision(ops::MatmulPrecision p) {
  return p == ops::MatmulPrecision::bf16 ? Peak::bf16 : p == ops::MatmulPrecision::tf32 ? Peak::tf32 : Peak::fp32;
}

bool selected(const std::string& name, const std::string& filter) {
  return filter.empty() || name.find(filter) != std::string::npos;
}

}  // namespace

void run_bench(const BenchOptions& options) {
  const Device device = options.device;
  SSM_USER_CHECK(device.is_cpu() || has_backend(DeviceType::cuda),
                 "ssmlab bench: no CUDA GPU is visible (or this ssmlab was built without CUDA); nothing was "
                 "measured. Run 'ssmlab bench --device cpu' to benchmark the CPU backend");
  const std::string preset = options.preset.empty() ? (device.is_cuda() ? "full" : "small") : options.preset;
  Sizes s = preset_sizes(preset);
  if (options.warmup >= 0) s.warmup = s.train_warmup = options.warmup;
  if (options.repeats > 0) s.repeats = s.train_repeats = options.repeats;
  const std::string precision_name = options.precision.empty() ? (device.is_cuda() ? "bf16" : "fp32") : options.precision;
  SSM_USER_CHECK(precision_name == "fp32" || precision_name == "tf32" || precision_name == "bf16",
                 "ssmlab bench: unknown --precision '", precision_name, "' (allowed: fp32, tf32, bf16)");
  SSM_USER_CHECK(device.is_cuda() || precision_name == "fp32", "ssmlab bench: --precision ", precision_name,
                 " needs --device cuda (the CPU computes GEMMs in fp32)");
  SSM_USER_CHECK(options.only == "all" || options.only == "kernels" || options.only == "train" ||
                     options.only == "eval" || options.only == "scaling",
                 "ssmlab bench: unknown --only '", options.only, "' (allowed: all, kernels, train, eval, scaling)");
  const ops::MatmulPrecision precision = precision_name == "bf16"   ? ops::MatmulPrecision::bf16
                                         : precision_name == "tf32" ? ops::MatmulPrecision::tf32
                                                                    : ops::MatmulPrecision::fp32;
  const Limits limits = query_limits(device);
  std::printf("ssmlab bench on %s: %s\n", device.str().c_str(), limits.description.c_str());
  std::printf("reference limits, H100 SXM dense (docs/performance.md): HBM %.2f TB/s, FP32 %.1f, TF32 %.1f, BF16 %.1f TFLOP/s\n",
              kH100Bandwidth / 1e12, kH100Fp32 / 1e12, limits.tf32 / 1e12, limits.bf16 / 1e12);
  std::printf("preset %s: median of %d runs after %d warm-up runs (training steps: %d after %d), %s\n\n",
              preset.c_str(), s.repeats, s.warmup, s.train_repeats, s.train_warmup,
              device.is_cuda() ? "timed with CUDA events" : "timed with the wall clock");
  nlohmann::json report = {{"device", limits.description}, {"preset", preset}, {"precision", precision_name},
                           {"kernels", nlohmann::json::array()}, {"train", nlohmann::json::array()},
                           {"eval", nlohmann::json::array()}, {"scaling", nlohmann::json::array()}};

  if (options.only == "all" || options.only == "kernels") {
    std::printf("%-30s %-34s %10s %9s %6s %9s %6s  %s\n", "kernel", "shape", "ms", "GB/s", "%HBM", "TFLOP/s", "%peak",
                "peak");
    std::vector<Benchmark> kernels = kernel_benchmarks(s, device);
    for (const Benchmark& b : kernels) {
      if (!selected(b.name, options.filter)) continue;
      const double ms = median_ms(device, s.warmup, s.repeats, b.run);
      const double bw = b.bytes / (ms * 1e-3), fl = b.flops / (ms * 1e-3);
      const auto [peak, label] = peak_of(b.peak, limits, device);
      std::printf("%-30s %-34s %10.3f %9.1f %6s %9.3f %6s  %s\n", b.name.c_str(), b.shape.c_str(), ms, bw / 1e9,
                  percent(bw, limits.bandwidth).c_str(), fl / 1e12, percent(fl, peak).c_str(), label);
      std::fflush(stdout);
      report["kernels"].push_back({{"name", b.name}, {"shape", b.shape}, {"ms", ms}, {"bytes", b.bytes},
                                   {"flops", b.flops}, {"gb_per_s", bw / 1e9}, {"tflop_per_s", fl / 1e12}});
    }
    std::printf("\n");
  }

  if (options.only == "all" || options.only == "train") {
    const ops::MatmulPrecisionGuard guard(precision);
    const auto [peak, label] = peak_of(peak_for_precision(precision), limits, device);
    std::printf("%-44s %-40s %10s %10s %9s %6s %12s %9s\n", absl::StrCat("training step, matmuls ", precision_name).c_str(),
                "shape", "ms/step", "tokens/s", "TFLOP/s", "%peak", "+SSD TFLOP/s",
                device.is_cpu() ? "peak RSS GiB" : "peak GiB");
    std::printf("%-44s %-40s %10s %10s %9s %6s\n", "", "", "", "", "(6N)", label);
    for (const TrainSpec& spec : train_benchmarks(s)) {
      if (!selected(spec.name, options.filter)) continue;
      TrainStep t = prepare_train_step(spec, device);
      reset_peak_memory(device);
      const double ms = median_ms(device, s.train_warmup, s.train_repeats, t.step);
      const double tokens_per_s = t.tokens / (ms * 1e-3);
      const double f6n = t.flops_6n / (ms * 1e-3), fall = (t.flops_6n + t.flops_mixer) / (ms * 1e-3);
      const double peak_gib = peak_memory_bytes(device) / (1 << 30);
      std::printf("%-44s %-40s %10.2f %10.0f %9.3f %6s %12.3f %9.2f\n", spec.name.c_str(), t.shape.c_str(), ms,
                  tokens_per_s, f6n / 1e12, percent(f6n, peak).c_str(), fall / 1e12, peak_gib);
      std::fflush(stdout);
      report["train"].push_back({{"name", spec.name}, {"shape", t.shape}, {"ms", ms}, {"tokens_per_s", tokens_per_s},
                                 {"tflop_per_s_6n", f6n / 1e12}, {"tflop_per_s_6n_ssd", fall / 1e12},
                                 {"peak_gib", peak_gib}});
    }
  }
  if (options.only == "all" || options.only == "eval") {
    std::printf("\n%-44s %-40s %10s %10s %12s\n", "evaluation (no autograd)", "shape", "ms", "tokens/s",
                device.is_cpu() ? "peak RSS GiB" : "peak GiB");
    for (const EvalSpec& spec : eval_benchmarks(s)) {
      if (!selected(spec.name, options.filter)) continue;
      EvalRun e = prepare_eval(spec, device);
      reset_peak_memory(device);
      const double ms = median_ms(device, s.train_warmup, s.train_repeats, e.run);
      const double tokens_per_s = e.tokens / (ms * 1e-3);
      const double peak_gib = peak_memory_bytes(device) / (1 << 30);
      std::printf("%-44s %-40s %10.1f %10.0f %12.2f\n", spec.name.c_str(), e.shape.c_str(), ms, tokens_per_s, peak_gib);
      std::fflush(stdout);
      report["eval"].push_back({{"name", spec.name}, {"shape", e.shape}, {"ms", ms}, {"tokens_per_s", tokens_per_s},
                                {"peak_gib", peak_gib}});
    }
  }
  // Scaling: not part of "all" (the mamba2-130m step alone takes seconds to minutes on a CPU).
  if (options.only == "scaling") {
    const ops::MatmulPrecisionGuard guard(precision);
    std::printf("%-48s %-40s %10s %10s %8s\n", "scaling (training step, batch 1)", "shape", "ms/step", "us/token",
                "x first");
    std::map<std::string, double> first;  // µs/token of each group's first row
    for (const ScalingSpec& spec : scaling_benchmarks(s)) {
      if (!selected(spec.train.name, options.filter)) continue;
      TrainStep t = prepare_train_step(spec.train, device);
      reset_peak_memory(device);
      const double ms = median_ms(device, s.train_warmup, s.train_repeats, t.step);
      const double us_per_token = ms * 1e3 / t.tokens;
      const double base = first.emplace(spec.group, us_per_token).first->second;
      const double peak_gib = peak_memory_bytes(device) / (1 << 30);
      std::printf("%-48s %-40s %10.1f %10.2f %8.2f\n", spec.train.name.c_str(), t.shape.c_str(), ms, us_per_token,
                  us_per_token / base);
      std::fflush(stdout);
      report["scaling"].push_back({{"name", spec.train.name}, {"shape", t.shape}, {"group", spec.group}, {"ms", ms},
                                   {"us_per_token", us_per_token}, {"peak_gib", peak_gib}});
    }
  }
  if (!options.json_path.empty()) {
    std::ofstream out(options.json_path);
    SSM_USER_CHECK(out.good(), "ssmlab bench: cannot write --json ", options.json_path);
    out << report.dump(2) << "\n";
  }
}

}  // namespace ssm::bench
