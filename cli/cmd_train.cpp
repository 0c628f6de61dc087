// cli/cmd_train.cpp — `ssmlab train CONFIG`: validate the config, train, report where things went.
#include <cstdio>
#include <filesystem>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/error.h"
#include "train/trainer.h"  // defines: train_model

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
  if (args.has("stop-after")) options.stop_after_steps = args.get_int("stop-after");

  const TrainSummary summary = train_model(config, options);
  std::printf("trained steps %lld..%lld: final loss %.4f", static_cast<long long>(summary.first_step),
              static_cast<long long>(summary.last_step), summary.losses.empty() ? 0.0 : summary.losses.back());
  if (summary.last_val_loss >= 0) std::printf(", validation loss %.4f", summary.last_val_loss);
  std::printf(", %.0f tokens/s\ncheckpoint: %s/ckpt\n", summary.tokens_per_s, options.run_dir.c_str());
  return 0;
}

}  // namespace ssm::cli
