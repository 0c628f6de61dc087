// train/progress.cpp — progress bar and plain log lines.
#include "train/progress.h"

#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_format.h"  // defines: absl::StrFormat

namespace ssm {

std::string format_duration(double seconds) {
  const int64_t s = static_cast<int64_t>(seconds + 0.5);
  if (s >= 3600) return absl::StrFormat("%dh%02dm", s / 3600, (s / 60) % 60);
  if (s >= 60) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  return absl::StrFormat("%ds", s);
}

Progress::Progress(int64_t total_steps, int64_t first_step, int64_t every, bool quiet)
    : total_(total_steps), first_(first_step), every_(every > 0 ? every : 1), quiet_(quiet),
      tty_(::isatty(STDERR_FILENO) != 0), start_(std::chrono::steady_clock::now()) {}

void Progress::update(int64_t step, double loss, double lr, double grad_norm, double tokens_per_s) {
  if (quiet_) return;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double done = static_cast<double>(step - first_);
  const double eta = done > 0 ? elapsed / done * static_cast<double>(total_ - step) : 0.0;
  if (tty_) {
    const int width = 24;
    const int filled = static_cast<int>(width * static_cast<double>(step) / std::max<int64_t>(total_, 1));
    std::string bar(filled, '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "\r[%s] %lld/%lld  loss %.4f  %s tok/s  ETA %s   ", bar.c_str(),
                 static_cast<long long>(step), static_cast<long long>(total_), loss,
                 absl::StrFormat("%.0f", tokens_per_s).c_str(), format_duration(eta).c_str());
    bar_drawn_ = true;
  } else if (step % every_ == 0 || step == total_) {
    std::fprintf(stderr, "step %lld/%lld  loss %.4f  lr %.3g  grad_norm %.3g  %.0f tok/s  eta %s\n",
                 static_cast<long long>(step), static_cast<long long>(total_), loss, lr, grad_norm, tokens_per_s,
                 format_duration(eta).c_str());
  }
  std::fflush(stderr);
}

void Progress::message(const std::string& line) {
  if (quiet_) return;
  if (bar_drawn_) std::fprintf(stderr, "\n");
  bar_drawn_ = false;
  std::fprintf(stderr, "%s\n", line.c_str());
}

void Progress::finish() {
  if (!quiet_ && bar_drawn_) std::fprintf(stderr, "\n");
  bar_drawn_ = false;
}

}  // namespace ssm
