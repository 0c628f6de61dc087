// cli/cmd_train.cpp — `ssmlab train CONFIG`: validate the config, train, report where things went.
//
// Several processes: `mpirun -np N ssmlab train CONFIG` or `srun ... ssmlab train CONFIG`; each
// finds its rank in the launcher's environment (cli/distributed_setup.h) and only rank 0 prints
// and writes. Exit codes: 0 done (or --stop-after reached), 2 bad input, 3 diverged (non-finite
// loss or gradient), 1 internal error, 130 / 143 stopped by SIGINT / SIGTERM with a checkpoint written (resume with
// --resume). When one process of several fails, it prints its error and aborts the whole run
// with its exit code (the others would wait for it forever).
#include <csignal>
#include <cstdio>
#include <filesystem>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/distributed_setup.h"  // defines: make_training_communicator
#include "core/error.h"
#include "train/trainer.h"  // defines: train_model, resolve_device

namespace ssm::cli {

int cmd_train(int argc, char** argv) {
  Args args("train",
            {{"run-dir", "where config, metrics.jsonl and ckpt/ go", false, false, "runs/<config name>"},
             {"resume", "continue from <run-dir>/ckpt if it exists", true},
             {"set", "override a config key, e.g. --set train.steps=100 (repeatable)", false, true},
             {"stop-after", "stop after this many steps (with a checkpoint); resume later with --resume"},
             {"quiet", "no progress output", true}},
            argc, argv, 2);
  if (args.help_requested()) {
    std::fputs(args.usage("CONFIG [options]").c_str(), stdout);
    return 0;
  }
  SSM_USER_CHECK(args.positionals().size() == 1, "ssmlab train needs exactly one CONFIG file, got ",
                 args.positionals().size(), " (see ssmlab train --help)");
  const std::string config_path = args.positionals()[0];
  const Config config = load_config(config_path, args.get_all("set"));

  TrainOptions options;
  options.run_dir = args.has("run-dir")
                        ? args.get("run-dir")
                        : (std::filesystem::path("runs") / std::filesystem::path(config_path).stem()).string();
  options.resume = args.flag("resume");
  options.quiet = args.flag("quiet");
  if (args.has("stop-after")) {
    // The trainer reads -1 as "no limit" and 0 as 1: neither is what a user typing it means.
    options.stop_after_steps = args.get_int("stop-after");
    SSM_USER_CHECK(options.stop_after_steps >= 1, "option '--stop-after' must be a positive number of steps, got ",
                   options.stop_after_steps);
  }

  const LaunchInfo launch = launch_from_environment();
  std::unique_ptr<Communicator> comm = make_training_communicator(launch, resolve_device(config.run.device));
  options.communicator = comm.get();
  if (comm->rank() != 0) options.quiet = true;

  TrainSummary summary;
  try {
    summary = train_model(config, options);
  } catch (const std::exception& e) {
    if (comm->world() == 1) throw;
    const bool user = dynamic_cast<const UserError*>(&e) != nullptr ||
                      dynamic_cast<const std::filesystem::filesystem_error*>(&e) != nullptr;  // as cli/main.cpp
    const bool diverged = dynamic_cast<const TrainingDiverged*>(&e) != nullptr;
    std::fprintf(stderr, "ssmlab: %s(process %d of %d) %s\n", user ? "error: " : diverged ? "" : "internal error: ",
                 comm->rank(), comm->world(), e.what());
    std::fflush(stderr);
    comm->abort(user ? 2 : diverged ? 3 : 1);
  }
  if (comm->rank() != 0) return summary.stop_signal ? 128 + summary.stop_signal : 0;
  if (summary.stop_signal) {
    std::printf("stopped by %s after step %lld; checkpoint: %s/ckpt (continue with --resume)\n",
                summary.stop_signal == SIGINT ? "SIGINT" : "SIGTERM", static_cast<long long>(summary.last_step),
                options.run_dir.c_str());
    return 128 + summary.stop_signal;
  }
  std::printf("trained steps %lld..%lld: final loss %.4f", static_cast<long long>(summary.first_step),
              static_cast<long long>(summary.last_step), summary.losses.empty() ? 0.0 : summary.losses.back());
  if (summary.last_val_loss >= 0) std::printf(", validation loss %.4f", summary.last_val_loss);
  std::printf(", %.0f tokens/s\ncheckpoint: %s/ckpt\n", summary.tokens_per_s, options.run_dir.c_str());
  return 0;
}

}  // namespace ssm::cli
