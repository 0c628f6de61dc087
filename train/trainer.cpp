// train/trainer.cpp — build everything from the config, then step: forward, loss, backward,
// clip, AdamW; log, evaluate and checkpoint on their cadences.
#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>  // defines: nlohmann::json
#include <optional>

#include "absl/strings/str_format.h"  // defines: absl::StrFormat
#include "core/error.h"
#include "models/model_factory.h"  // defines: make_model
#include "ops/backend.h"         // defines: has_backend, backend_absence
#include "ops/precision.h"       // defines: MatmulPrecisionGuard, matmul_precision_for_run
#include "train/checkpoint.h"    // defines: save_checkpoint, load_checkpoint, load_trainer_state
#include "train/data/dataset.h"       // defines: TrainingData, Batch
#include "train/optimizer.h"     // defines: AdamW, learning_rate
#include "train/progress.h"      // defines: Progress
#include "train/run_dir.h"       // defines: RunDirLock, write_file_atomically, rewrite_metrics
#include "train/stop_signal.h"   // defines: StopSignalGuard
#include "train/tbptt.h"         // defines: train_segments, evaluate_segments
#include "train/text/tokenizer.h"     // defines: make_tokenizer

namespace ssm {
namespace fs = std::filesystem;

Device resolve_device(const std::string& name) {
  if (name == "cpu") return Device::cpu();
  const bool cuda_ready = has_backend(DeviceType::cuda);
  const BackendAbsence* absent = backend_absence(DeviceType::cuda);
  if (name == "cuda") {
    SSM_USER_CHECK(cuda_ready, "run.device: 'cuda' requested but ",
                   absent ? absent->why : "this ssmlab was built without CUDA");
    return Device::cuda();
  }
  SSM_USER_CHECK(name == "auto", "run.device: unknown device '", name, "' (allowed: auto, cpu, cuda)");
  if (cuda_ready) return Device::cuda();
  // A GPU that is there but unusable (cuBLAS missing) is an error: a run that quietly took the
  // CPU instead would be a hundred times slower without saying why.
  SSM_USER_CHECK(!(absent && absent->hardware_present), "run.device: auto found a GPU but cannot use it: ",
                 absent ? absent->why : "");
  return Device::cpu();
}

namespace {

// Why a CUDA build runs on the CPU, for the training banner: " (no CUDA device is visible (...))".
// Said once, where the run says which device it uses.
std::string device_note(Device device) {
  const BackendAbsence* absent = backend_absence(DeviceType::cuda);
  if (!device.is_cpu() || absent == nullptr) return "";
  return absl::StrCat(" (", absent->why, ")");
}

// Validation loss over `batches` fixed batches, shared out over the processes (batch i goes to
// rank i mod world) and summed, so every process gets the same number.
double validation_loss(LanguageModel& model, const TrainingData& data, int64_t batches, int64_t segments,
                       Device device, Communicator& comm) {
  std::vector<double> total = {0.0};
  for (int64_t i = comm.rank(); i < batches; i += comm.world()) {
    total[0] += evaluate_segments(model, data.valid_batch(i), segments, device);
  }
  comm.all_reduce_sum(total);
  return total[0] / static_cast<double>(std::max<int64_t>(batches, 1));
}

// The corpora are tokenized into the shared cache by rank 0 alone; the others wait, then map it.
std::unique_ptr<TrainingData> load_data(const Config& config, const Tokenizer& tokenizer, Communicator& comm) {
  std::unique_ptr<TrainingData> data;
  if (comm.rank() == 0) data = std::make_unique<TrainingData>(config.data, tokenizer, config.run.seed);
  comm.barrier();
  if (comm.rank() != 0) data = std::make_unique<TrainingData>(config.data, tokenizer, config.run.seed);
  return data;
}

std::vector<Tensor> parameter_tensors(LanguageModel& model) {
  std::vector<Tensor> out;
  for (const NamedParameter& p : model.named_parameters()) out.push_back(p.tensor);
  return out;
}

}  // namespace

TrainSummary train_model(const Config& config, const TrainOptions& options) {
  std::unique_ptr<Communicator> own_comm;
  Communicator* comm_ptr = options.communicator;
  if (!comm_ptr) comm_ptr = (own_comm = make_single_process_communicator()).get();
  Communicator& comm = *comm_ptr;
  const int64_t world = comm.world(), rank = comm.rank();
  const bool lead = rank == 0;  // the one process that writes and prints

  const Device device = resolve_device(config.run.device);
  // Mixed precision is the CUDA backend's (bf16 GEMMs); the CPU computes in fp32.
  SSM_USER_CHECK(config.run.precision == "fp32" || device.is_cuda(), config.source,
                 ": run.precision bf16-mixed needs a CUDA device; this run is on ", device.str());
  // bf16-mixed: the CUDA GEMMs round their operands to bf16 and accumulate in fp32 (ops/precision.h).
  const ops::MatmulPrecisionGuard matmul_precision(ops::matmul_precision_for_run(config.run.precision));
  // The run directory is this process's alone until it returns (train/run_dir.h): taken before
  // the data is tokenized and the checkpoint read, so a second `ssmlab train` on it is refused at
  // once, before it reads a checkpoint being replaced or appends to metrics.jsonl.
  std::optional<RunDirLock> run_dir_lock;
  if (lead) run_dir_lock.emplace(options.run_dir);
  std::unique_ptr<Tokenizer> tokenizer = make_tokenizer(config.data.tokenizer);
  std::unique_ptr<TrainingData> data = load_data(config, *tokenizer, comm);
  // Fail before the first step, not at the first evaluation, when no source has held-out data.
  if (config.train.eval_every > 0) data->valid_batch(0);
  std::unique_ptr<LanguageModel> model = make_model(config.model, tokenizer->vocab_size(), config.run.seed);
  model->to(device);
  AdamW optimizer(model->named_parameters(), config.optim);
  const std::vector<Tensor> params = parameter_tensors(*model);

  const fs::path run_dir(options.run_dir);
  const fs::path ckpt_dir = run_dir / "ckpt";
  const int64_t micro_batches = config.train.grad_accum * world;
  TrainerState state;
  if (options.resume && fs::exists(ckpt_dir)) {
    state = load_checkpoint(ckpt_dir.string(), *model, &optimizer);
  }
  Progress progress(config.train.steps, state.step, config.train.log_every, options.quiet || !lead);
  if (state.step > 0 && state.micro_batches_per_step > 0 && state.micro_batches_per_step != micro_batches) {
    progress.message(absl::StrCat("note: the checkpoint was trained with ", state.micro_batches_per_step,
                                  " micro-batches per step (processes x train.grad_accum); this run uses ",
                                  micro_batches, ", so its batches differ from the uninterrupted run's"));
  }
  state.micro_batches_per_step = micro_batches;
  // From here a SIGINT or SIGTERM stops the run at a step boundary with a checkpoint; the run
  // files are replaced only under it, and never in place (train/run_dir.h), so neither a signal
  // nor a kill between the rewrite and the first new row can lose metrics rows.
  const StopSignalGuard stop_signals;
  const fs::path metrics_path = run_dir / "metrics.jsonl";
  std::ofstream metrics;
  if (lead) {
    write_file_atomically((run_dir / "config.yaml").string(), config_to_yaml(config));
    // On resume, rows past the checkpoint go: they are about to be run again.
    if (state.step > 0) {
      rewrite_metrics(metrics_path.string(), state.step);
    } else {
      write_file_atomically(metrics_path.string(), "");
    }
    metrics.open(metrics_path, std::ios::app);
    SSM_USER_CHECK(metrics.is_open(), "cannot append to '", metrics_path.string(), "'");
  }

  const int64_t total = config.train.steps;
  const int64_t segments = config.data.segments;
  const int64_t tokens_per_step = config.data.batch_size * data->sequence_tokens() * micro_batches;
  const size_t bucket_bytes = static_cast<size_t>(config.train.allreduce_bucket_mb * 1024 * 1024);
  progress.message(absl::StrCat("training ", model->architecture(), " (", model->num_parameters(),
                                " parameters) on ", device.str(), device_note(device),
                                world > 1 ? absl::StrCat(" x ", world, " processes (", comm.backend(), ")") : "",
                                " for ", total, " steps of ", tokens_per_step, " tokens",
                                segments > 1 ? absl::StrCat(" (", segments, " segments of ", config.data.seq_len, ")")
                                             : "",
                                "; run directory ", run_dir.string()));

  TrainSummary summary;
  summary.first_step = state.step;
  const auto wall_start = std::chrono::steady_clock::now();
  const double elapsed_before = state.elapsed_s;
  const double grad_scale = 1.0 / static_cast<double>(micro_batches);
  int64_t steps_this_call = 0;
  auto checkpoint = [&] {
    if (!lead) return;
    metrics.flush();
    save_checkpoint(ckpt_dir.string(), *model, &optimizer, config, state, config.train.keep_checkpoints);
  };
  while (state.step < total) {
    const auto step_start = std::chrono::steady_clock::now();
    // [0] this process's summed micro-batch losses, [1] whether a stop signal arrived here.
    std::vector<double> shared = {0.0, 0.0};
    for (int64_t micro = 0; micro < config.train.grad_accum; ++micro) {
      shared[0] += train_segments(*model, data->batch(state.step, micro, rank, world), segments, device, grad_scale);
    }
    shared[1] = StopSignalGuard::requested() != 0 ? 1.0 : 0.0;
    all_reduce_gradients(params, comm, bucket_bytes);
    comm.all_reduce_sum(shared);  // every process now agrees on the loss and on stopping
    const double loss = shared[0] / static_cast<double>(micro_batches);
    const double grad_norm = optimizer.clip_grad_norm(config.optim.grad_clip);
    if (!std::isfinite(loss) || !std::isfinite(grad_norm)) {
      progress.finish();
      const bool have_ckpt = fs::exists(ckpt_dir / "trainer_state.json");
      throw TrainingDiverged(absl::StrCat(
          "training diverged: non-finite ", std::isfinite(loss) ? "gradient norm" : "loss", " at step ",
          state.step + 1, " (loss ", loss, ", gradient norm ", grad_norm, "); nothing of that step was applied; ",
          have_ckpt ? absl::StrCat("the last good checkpoint is ", ckpt_dir.string(), " (step ",
                                   load_trainer_state(ckpt_dir.string()).step, ")")
                    : "no checkpoint was written yet"));
    }
    const double lr = learning_rate(config.optim, state.step, total);
    optimizer.step(lr);
    optimizer.zero_grad();

    ++state.step;
    ++steps_this_call;
    state.tokens_seen += tokens_per_step;
    const double step_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start).count();
    state.elapsed_s =
        elapsed_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    const double tokens_per_s = static_cast<double>(tokens_per_step) / std::max(step_s, 1e-9);
    summary.losses.push_back(loss);
    if (lead) {
      metrics << nlohmann::json{{"step", state.step}, {"loss", loss}, {"lr", lr}, {"grad_norm", grad_norm},
                                {"tokens", state.tokens_seen}, {"tokens_per_s", tokens_per_s},
                                {"elapsed_s", state.elapsed_s}}.dump()
              << "\n";
    }
    progress.update(state.step, loss, lr, grad_norm, tokens_per_s);

    if (config.train.eval_every > 0 && (state.step % config.train.eval_every == 0 || state.step == total)) {
      summary.last_val_loss = validation_loss(*model, *data, config.train.eval_batches, segments, device, comm);
      if (lead) metrics << nlohmann::json{{"step", state.step}, {"val_loss", summary.last_val_loss}}.dump() << "\n";
      progress.message(absl::StrFormat("step %d  val_loss %.4f", state.step, summary.last_val_loss));
    }
    const bool signalled = shared[1] > 0;
    const bool stopping = signalled || (options.stop_after_steps >= 0 && steps_this_call >= options.stop_after_steps);
    if (state.step % config.train.ckpt_every == 0 || state.step == total || stopping) checkpoint();
    if (signalled) {
      // Every process saw the flag in the same step; one of them may not have had the signal.
      summary.stop_signal = StopSignalGuard::requested() != 0 ? StopSignalGuard::requested() : SIGTERM;
      progress.finish();
      progress.message(absl::StrCat("stopped by ", summary.stop_signal == SIGINT ? "SIGINT" : "SIGTERM",
                                    " after step ", state.step, "; checkpoint written to ", ckpt_dir.string(),
                                    " (continue with --resume)"));
      break;
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
