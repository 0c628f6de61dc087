// autograd/grad_mode.h — is the graph being recorded? (thread-local switch + RAII guard)
//
// Inference, evaluation and the optimizer step run under NoGradGuard so no nodes are built.
// Backward itself also runs with recording off: gradients are plain tensors.
#pragma once

namespace ssm::autograd {

bool grad_enabled();
void set_grad_enabled(bool enabled);

class NoGradGuard {
 public:
  NoGradGuard() : previous_(grad_enabled()) { set_grad_enabled(false); }
  ~NoGradGuard() { set_grad_enabled(previous_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace ssm::autograd
