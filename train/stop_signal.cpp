// train/stop_signal.cpp — the async-signal-safe flag behind StopSignalGuard.
#include "train/stop_signal.h"

#include <csignal>

namespace ssm {

namespace {

volatile std::sig_atomic_t g_requested = 0;
struct sigaction g_previous_int, g_previous_term;

void on_stop_signal(int signal_number) {
  g_requested = signal_number;
  // Only the first signal is ours: the next one gets the default action (the process ends).
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

}  // namespace

StopSignalGuard::StopSignalGuard() {
  g_requested = 0;
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // blocking reads and writes resume; the trainer polls the flag
  sigaction(SIGINT, &action, &g_previous_int);
  sigaction(SIGTERM, &action, &g_previous_term);
}

StopSignalGuard::~StopSignalGuard() {
  sigaction(SIGINT, &g_previous_int, nullptr);
  sigaction(SIGTERM, &g_previous_term, nullptr);
}

int StopSignalGuard::requested() { return static_cast<int>(g_requested); }

}  // namespace ssm
