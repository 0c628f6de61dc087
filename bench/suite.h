// bench/suite.h — what ssmlab bench runs: the problem sizes of each preset, the benchmark records,
// the kernel benchmarks (bench/kernels.cpp) and the training steps (bench/train_step.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/dtype.h"           // defines: Device
#include "models/model_config.h"  // defines: ModelConfig

namespace ssm::bench {

// Problem sizes. full: H100-scale (a mamba2-130m layer: D 768, E 1536, P 64, N 128, Q 256);
// small: a few seconds on a CPU; tiny: the CLI test.
struct Sizes {
  std::string preset;
  int64_t gemm;                                  // M = N = K
  int64_t batch, seqlen;                         // the scans
  int64_t ssd_heads, ssd_headdim, ssd_state, ssd_chunk;
  int64_t sel_channels, sel_state;
  int64_t gla_heads, gla_dim;                    // K = V
  int64_t rows, width, vocab;                    // norms: rows x width; softmax, cross-entropy: rows x vocab
  int warmup, repeats, train_warmup, train_repeats;
  // Training: the demo model (configs/mamba2_s128.yaml) and a larger Mamba-2 at two lengths.
  int64_t demo_d_model, demo_layers, demo_state, demo_headdim, demo_batch, demo_seq;
  int64_t big_d_model, big_layers, big_vocab, big_chunk, batch_2k, seq_2k, batch_8k, seq_8k;
  std::string big_label;                         // "mamba2-130m shape" or "scaled down"
  // Evaluation: tokens streamed through forward() (two lengths for the demo model, so its peak
  // memory shows it does not grow with the length; one for the larger model), and decode steps.
  int64_t stream_short, stream_long, stream_big, decode_steps, decode_steps_big;
  // Scaling (--only scaling): the demo model's training step at batch 1 over these lengths, and
  // the demo, the larger model and the mamba2-130m shape at one length.
  std::vector<int64_t> scaling_lengths;
  int64_t scaling_model_length;
};
Sizes preset_sizes(const std::string& preset);  // UserError naming the allowed presets

// What bounds a benchmark's throughput: HBM bandwidth, or the peak of one kind of arithmetic.
enum class Peak { fp32, tf32, bf16 };

struct Benchmark {
  std::string name, shape;
  double bytes = 0, flops = 0;  // per run: ideal memory traffic and arithmetic
  Peak peak = Peak::fp32;
  std::function<void()> run;
};
std::vector<Benchmark> kernel_benchmarks(const Sizes& s, Device device);

// A training-step benchmark: what to build (one model at a time, so a large one is freed before
// the next is built) ...
struct TrainSpec {
  std::string name;
  ModelConfig model;
  int64_t vocab, batch, seq;
};
std::vector<TrainSpec> train_benchmarks(const Sizes& s);
// The scaling rows (--only scaling): training steps as T grows, then as the model grows; `group`
// says which of the two each row belongs to ("length" or "model").
struct ScalingSpec {
  TrainSpec train;
  std::string group;
};
std::vector<ScalingSpec> scaling_benchmarks(const Sizes& s);

// ... and what is timed: the model on `device`, its shape, the work of one step and the step.
// The step runs under the calling thread's matmul precision (ops/precision.h).
struct TrainStep {
  std::string shape;
  double tokens = 0;       // per step
  double flops_6n = 0;     // per step: 6 x parameters x tokens
  double flops_mixer = 0;  // per step: the SSD scans' arithmetic on top (3 x forward)
  std::function<void()> step;
};
TrainStep prepare_train_step(const TrainSpec& spec, Device device);

// An evaluation benchmark: a long sequence streamed through forward() in chunks of 2048 tokens
// with the state carried and no autograd (what `ppl` and `capacity` do), or single-token step()
// calls (what `passkey` and `generate` do). Batch 1.
struct EvalSpec {
  std::string name;
  ModelConfig model;
  int64_t vocab, tokens;
  bool decode;  // step() per token instead of chunked forward()
};
std::vector<EvalSpec> eval_benchmarks(const Sizes& s);

struct EvalRun {
  std::string shape;
  double tokens = 0;  // per run
  std::function<void()> run;
};
EvalRun prepare_eval(const EvalSpec& spec, Device device);

}  // namespace ssm::bench
