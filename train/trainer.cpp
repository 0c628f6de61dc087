// train/trainer.cpp — build everything from the config, then step: forward, loss, backward,
// clip, AdamW; log, evaluate and checkpoint on their cadences.
#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>  // defines: nlohmann::json

#include "absl/strings/str_format.h"  // defines: absl::StrFormat
#include "autograd/engine.h"     // defines: backward
#include "autograd/grad_mode.h"  // defines: NoGradGuard
#include "core/error.h"
#include "models/model_factory.h"  // defines: make_model
#include "ops/backend.h"         // defines: has_backend
#include "ops/ops.h"             // defines: cross_entropy, reshape
#include "ops/precision.h"       // defines: MatmulPrecisionGuard, matmul_precision_for_run
#include "train/checkpoint.h"    // defines: save_checkpoint, load_checkpoint
#include "train/dataset.h"       // defines: TrainingData, Batch
#include "train/optimizer.h"     // defines: AdamW, learning_rate
#include "train/progress.h"      // defines: Progress
#include "train/tokenizer.h"     // defines: make_tokenizer

namespace ssm {
namespace fs = std::filesystem;

Device resolve_device(const std::string& name) {
  if (name == "cpu") return Device::cpu();
  const bool cuda_ready = has_backend(DeviceType::cuda);
  if (name == "cuda") {
    SSM_USER_CHECK(cuda_ready, "run.device: 'cuda' requested but this ssmlab has no usable CUDA backend ",
                   "(built without CUDA, or no GPU visible)");
    return Device::cuda();
  }
  SSM_USER_CHECK(name == "auto", "run.device: unknown device '", name, "' (allowed: auto, cpu, cuda)");
  return cuda_ready ? Device::cuda() : Device::cpu();
}

namespace {

// Mean cross-entropy of a batch; logits (B, T, V), targets (B, T) with -100 = not scored.
Tensor batch_loss(LanguageModel& model, const Batch& batch, Device device) {
  Tensor logits = model.forward(ops::to_device(batch.tokens, device), nullptr);
  return ops::cross_entropy(ops::reshape(logits, {-1, model.vocab_size()}),
                            ops::reshape(ops::to_device(batch.targets, device), {-1}));
}

double validation_loss(LanguageModel& model, const TrainingData& data, int64_t batches, Device device) {
  autograd::NoGradGuard no_grad;
  double total = 0;
  for (int64_t i = 0; i < batches; ++i) total += batch_loss(model, data.valid_batch(i), device).item();
  return total / static_cast<double>(std::max<int64_t>(batches, 1));
}

// On resume, drop metric rows past the checkpoint: the interrupted run may have logged steps
// that the checkpoint does not contain, and they are about to be run again.
void truncate_metrics(const fs::path& path, int64_t last_step) {
  if (!fs::exists(path)) return;
  std::ifstream in(path);
  std::string line, kept;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const nlohmann::json row = nlohmann::json::parse(line, nullptr, false);
    if (!row.is_discarded() && row.value("step", int64_t{0}) <= last_step) kept += line + "\n";
  }
  in.close();
  std::ofstream(path, std::ios::trunc) << kept;
}

}  // namespace

TrainSummary train_model(const Config& config, const TrainOptions& options) {
  const Device device = resolve_device(config.run.device);
  // Mixed precision is the CUDA backend's (bf16 GEMMs); the CPU computes in fp32.
  SSM_USER_CHECK(config.run.precision == "fp32" || device.is_cuda(), config.source,
                 ": run.precision bf16-mixed needs a CUDA device; this run is on ", device.str());
  // bf16-mixed: the CUDA GEMMs round their operands to bf16 and accumulate in fp32 (ops/precision.h).
  const ops::MatmulPrecisionGuard matmul_precision(ops::matmul_precision_for_run(config.run.precision));
  std::unique_ptr<Tokenizer> tokenizer = make_tokenizer(config.data.tokenizer);
  TrainingData data(config.data, *tokenizer, config.run.seed);
  // Fail before the first step, not at the first evaluation, when no source has held-out data.
  if (config.train.eval_every > 0) data.valid_batch(0);
  std::unique_ptr<LanguageModel> model = make_model(config.model, tokenizer->vocab_size(), config.run.seed);
  model->to(device);
  AdamW optimizer(model->named_parameters(), config.optim);

  const fs::path run_dir(options.run_dir);
  const fs::path ckpt_dir = run_dir / "ckpt";
  fs::create_directories(run_dir);
  TrainerState state;
  if (options.resume && fs::exists(ckpt_dir)) {
    state = load_checkpoint(ckpt_dir.string(), *model, &optimizer);
  }
  std::ofstream(run_dir / "config.yaml") << config_to_yaml(config);
  const fs::path metrics_path = run_dir / "metrics.jsonl";
  if (state.step > 0) {
    truncate_metrics(metrics_path, state.step);
  } else {
    std::ofstream(metrics_path, std::ios::trunc);
  }
  std::ofstream metrics(metrics_path, std::ios::app);

  const int64_t total = config.train.steps;
  const int64_t tokens_per_step = config.data.batch_size * config.data.seq_len * config.train.grad_accum;
  Progress progress(total, state.step, config.train.log_every, options.quiet);
  progress.message(absl::StrCat("training ", model->architecture(), " (", model->num_parameters(),
                                " parameters) on ", device.str(), " for ", total, " steps of ", tokens_per_step,
                                " tokens; run directory ", run_dir.string()));

  TrainSummary summary;
  summary.first_step = state.step;
  const auto wall_start = std::chrono::steady_clock::now();
  const double elapsed_before = state.elapsed_s;
  int64_t steps_this_call = 0;
  while (state.step < total) {
    const auto step_start = std::chrono::steady_clock::now();
    double loss_sum = 0;
    for (int64_t micro = 0; micro < config.train.grad_accum; ++micro) {
      Tensor loss = batch_loss(*model, data.batch(state.step, micro), device);
      loss_sum += loss.item();
      autograd::backward(ops::mul_scalar(loss, 1.0 / static_cast<double>(config.train.grad_accum)));
    }
    const double loss = loss_sum / static_cast<double>(config.train.grad_accum);
    const double grad_norm = optimizer.clip_grad_norm(config.optim.grad_clip);
    if (!std::isfinite(loss) || !std::isfinite(grad_norm)) {
      progress.finish();
      throw Error(absl::StrCat("non-finite ", std::isfinite(loss) ? "gradient norm" : "loss", " at step ",
                               state.step + 1, "; the last good checkpoint is ", ckpt_dir.string()));
    }
    const double lr = learning_rate(config.optim, state.step, total);
    optimizer.step(lr);
    optimizer.zero_grad();

    ++state.step;
    ++steps_this_call;
    state.tokens_seen += tokens_per_step;
    const double step_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start).count();
    state.elapsed_s = elapsed_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    const double tokens_per_s = static_cast<double>(tokens_per_step) / std::max(step_s, 1e-9);
    summary.losses.push_back(loss);
    metrics << nlohmann::json{{"step", state.step}, {"loss", loss}, {"lr", lr}, {"grad_norm", grad_norm},
                              {"tokens", state.tokens_seen}, {"tokens_per_s", tokens_per_s},
                              {"elapsed_s", state.elapsed_s}}.dump()
            << "\n";
    progress.update(state.step, loss, lr, grad_norm, tokens_per_s);

    if (config.train.eval_every > 0 && (state.step % config.train.eval_every == 0 || state.step == total)) {
      summary.last_val_loss = validation_loss(*model, data, config.train.eval_batches, device);
      metrics << nlohmann::json{{"step", state.step}, {"val_loss", summary.last_val_loss}}.dump() << "\n";
      progress.message(absl::StrFormat("step %d  val_loss %.4f", state.step, summary.last_val_loss));
    }
    const bool stopping = options.stop_after_steps >= 0 && steps_this_call >= options.stop_after_steps;
    if (state.step % config.train.ckpt_every == 0 || state.step == total || stopping) {
      metrics.flush();
      save_checkpoint(ckpt_dir.string(), *model, &optimizer, config, state);
    }
    if (stopping) break;
  }
  progress.finish();
  summary.last_step = state.step;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  summary.tokens_per_s = static_cast<double>(steps_this_call * tokens_per_step) / std::max(wall, 1e-9);
  return summary;
}

}  // namespace ssm
