// cli/main.cpp — the `ssmlab` executable: dispatches to a subcommand and turns errors into exit
// codes. A UserError (bad config, missing file, bad option) prints one line and exits 2; any other
// error is a bug or an environment failure and exits 1.
#include <cstdio>
#include <cstring>
#include <string>

#include "cli/commands.h"  // defines: cmd_train, cmd_capacity, cmd_info, cmd_bench
#include "core/error.h"    // defines: UserError, Error

namespace {

const char* kUsage =
    "usage: ssmlab <command> [options]\n"
    "\n"
    "commands:\n"
    "  train CONFIG          train a model from a YAML config (configs/*.yaml)\n"
    "  capacity --model DIR  passkey retrieval, loss by position and state statistics of a checkpoint\n"
    "  info --model DIR      describe a checkpoint: architecture, sizes, parameters, state size\n"
    "  bench                 time the kernels and a training step (GB/s, TFLOP/s, tokens/s)\n"
    "\n"
    "Run 'ssmlab <command> --help' for a command's options.\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0 ||
      std::strcmp(argv[1], "help") == 0) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  try {
    if (command == "train") return ssm::cli::cmd_train(argc, argv);
    if (command == "capacity") return ssm::cli::cmd_capacity(argc, argv);
    if (command == "info") return ssm::cli::cmd_info(argc, argv);
    if (command == "bench") return ssm::cli::cmd_bench(argc, argv);
    std::fprintf(stderr, "ssmlab: unknown command '%s' (allowed: train, capacity, info, bench)\n", command.c_str());
    return 2;
  } catch (const ssm::UserError& e) {
    std::fprintf(stderr, "ssmlab: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ssmlab: internal error: %s\n", e.what());
    return 1;
  }
}
