// train/progress.h — what the trainer prints while it runs.
//
// On a terminal: one self-rewriting line with a bar, step, loss, tokens/s and ETA. Otherwise
// (CI, a log file): a plain line every `every` steps, so logs stay greppable.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace ssm {

class Progress {
 public:
  Progress(int64_t total_steps, int64_t first_step, int64_t every, bool quiet);
  void update(int64_t step, double loss, double lr, double grad_norm, double tokens_per_s);
  void message(const std::string& line);  // a full line that does not disturb the bar
  void finish();

 private:
  int64_t total_, first_, every_;
  bool quiet_, tty_;
  bool bar_drawn_ = false;
  std::chrono::steady_clock::time_point start_;
};

std::string format_duration(double seconds);  // "1h02m", "3m05s", "42s"

}  // namespace ssm
