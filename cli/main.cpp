// cli/main.cpp — the `ssmlab` executable: dispatches to a subcommand and turns errors into exit
// codes. A UserError (bad config, missing file, bad option) prints one line and exits 2, and so
// does a std::filesystem error about a path the user gave (a symlink loop); a training run that
// diverged (non-finite loss or gradient) prints one line and exits 3; any other error is a bug
// or an environment failure and exits 1. `ssmlab train` also exits 130/143 when SIGINT/SIGTERM
// stopped it with a checkpoint (cli/cmd_train.cpp).
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "cli/commands.h"  // defines: cmd_train, cmd_capacity, cmd_passkey, cmd_ppl, cmd_states, cmd_info,
                           //          cmd_sweep, cmd_bench, cmd_generate, cmd_export
#include "cli/openblas_core.h"  // defines: ensure_openblas_kernels
#include "cli/version.h"        // defines: version_text
#include "core/error.h"    // defines: UserError, Error
#include "ops/kernel_versions.h"  // defines: check_kernel_environment
#include "train/trainer.h"  // defines: TrainingDiverged

namespace {

const char* kUsage =
    "usage: ssmlab <command> [options]\n"
    "\n"
    "commands:\n"
    "  train CONFIG          train a model from a YAML config (configs/*.yaml)\n"
    "  capacity --model DIR  T_recall, the T_forget verdict and state statistics, with and without mitigations\n"
    "  passkey --model DIR   passkey retrieval over lengths and depths (the paper's protocol)\n"
    "  ppl --model DIR       loss by position on long documents or a synthetic prompt; state collapse\n"
    "  states --model DIR    the recurrent state over time: moments, retention, inputs, outlier elements\n"
    "  info --model DIR      describe a checkpoint: architecture, sizes, parameters, state size\n"
    "  sweep [SWEEP.yaml]    train a grid of state sizes x training lengths, measure each, fit the capacity laws\n"
    "  bench                 time the kernels and a training step (GB/s, TFLOP/s, tokens/s)\n"
    "  generate --model DIR  continue a prompt token by token (greedy or sampled), mitigations included\n"
    "  export --model DIR    write a checkpoint for transformers, mamba_ssm, fla or the rwkv package (--to ...)\n"
    "\n"
    "ssmlab --version prints the version, commit, build type and the backends compiled in.\n"
    "Run 'ssmlab <command> --help' for a command's options.\n";

}  // namespace

int main(int argc, char** argv) {
  ssm::cli::ensure_openblas_kernels(argv);  // may start this process again with OPENBLAS_CORETYPE set
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0 ||
      std::strcmp(argv[1], "help") == 0) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  if (command == "--version" || command == "version") {
    std::fputs(ssm::cli::version_text().c_str(), stdout);
    return 0;
  }
  try {
    ssm::ops::check_kernel_environment();  // a malformed SSMLAB_KERNELS is refused, even where no kernel reads it
    if (command == "train") return ssm::cli::cmd_train(argc, argv);
    if (command == "capacity") return ssm::cli::cmd_capacity(argc, argv);
    if (command == "passkey") return ssm::cli::cmd_passkey(argc, argv);
    if (command == "ppl") return ssm::cli::cmd_ppl(argc, argv);
    if (command == "states") return ssm::cli::cmd_states(argc, argv);
    if (command == "info") return ssm::cli::cmd_info(argc, argv);
    if (command == "sweep") return ssm::cli::cmd_sweep(argc, argv);
    if (command == "bench") return ssm::cli::cmd_bench(argc, argv);
    if (command == "generate") return ssm::cli::cmd_generate(argc, argv);
    if (command == "export") return ssm::cli::cmd_export(argc, argv);
    std::fprintf(stderr,
                 "ssmlab: unknown command '%s' (allowed: train, capacity, passkey, ppl, states, info, sweep, bench, "
                 "generate, export, --version)\n",
                 command.c_str());
    return 2;
  } catch (const ssm::TrainingDiverged& e) {
    std::fprintf(stderr, "ssmlab: %s\n", e.what());
    return 3;
  } catch (const ssm::UserError& e) {
    std::fprintf(stderr, "ssmlab: error: %s\n", e.what());
    return 2;
  } catch (const std::filesystem::filesystem_error& e) {
    // A path the user gave that the system refuses (a symlink loop, a file where a directory
    // must be, no permission): their input to fix, named with the system's reason.
    std::string where = "'" + e.path1().string() + "'";
    if (!e.path2().empty()) where += " -> '" + e.path2().string() + "'";
    std::fprintf(stderr, "ssmlab: error: %s: %s\n", where.c_str(), e.code().message().c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ssmlab: internal error: %s\n", e.what());
    return 1;
  }
}
