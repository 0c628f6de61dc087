// train/stop_signal.h — SIGINT/SIGTERM as a request to stop at the next step boundary.
//
// While a StopSignalGuard lives, the first SIGINT or SIGTERM only sets a flag: the trainer
// finishes the step it is in, writes a checkpoint and returns, and `ssmlab train` exits with
// 128 + the signal number (130 for SIGINT, 143 for SIGTERM), the shell's convention for "ended
// by this signal", so job scripts can tell an interrupted run (resume it) from a finished one
// (exit 0). A second signal of either kind is not caught: it ends the process at once, for when
// a checkpoint is not worth waiting for. The previous handlers come back when the guard dies.
#pragma once

namespace ssm {

class StopSignalGuard {
 public:
  StopSignalGuard();
  ~StopSignalGuard();
  StopSignalGuard(const StopSignalGuard&) = delete;
  StopSignalGuard& operator=(const StopSignalGuard&) = delete;

  // The signal that asked to stop (SIGINT or SIGTERM), or 0.
  static int requested();
};

}  // namespace ssm
