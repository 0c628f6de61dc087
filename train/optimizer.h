// train/optimizer.h — AdamW with the usual no-decay group, and global-norm gradient clipping.
//
// Parameters flagged no_weight_decay (biases, norm weights, Mamba's A_log, D, dt_bias) get no
// weight decay; everything else decays by optim.weight_decay. Moments are fp32, like the
// parameters. The update itself is a Backend kernel, so it runs where the parameters live.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "models/language_model.h"  // defines: NamedParameter
#include "train/config.h"           // defines: OptimConfig

namespace ssm {

class AdamW {
 public:
  AdamW(std::vector<NamedParameter> params, const OptimConfig& cfg);

  // Applies one update with learning rate `lr` to every parameter that has a gradient.
  void step(double lr);
  void zero_grad();
  // Scales all gradients so their global L2 norm is at most max_norm (0 = no clipping);
  // returns the norm before clipping. A non-finite norm is returned as is, and nothing is scaled.
  double clip_grad_norm(double max_norm);

  int64_t steps_taken() const { return step_; }
  // Checkpoint I/O: tensors named "exp_avg.<param>" and "exp_avg_sq.<param>", plus the step.
  std::vector<std::pair<std::string, Tensor>> state_tensors() const;
  void load_state(const std::function<Tensor(const std::string&)>& get, int64_t steps_taken);

 private:
  struct Slot {
    NamedParameter param;
    Tensor exp_avg;     // m
    Tensor exp_avg_sq;  // v
  };
  std::vector<Slot> slots_;
  OptimConfig cfg_;
  int64_t step_ = 0;
};

// Learning rate at optimizer step `step` (0-based) of `total_steps`: linear warm-up, then
// cosine to min_lr, WSD (constant, then a linear decay over the last decay_fraction of steps),
// or constant.
double learning_rate(const OptimConfig& cfg, int64_t step, int64_t total_steps);

}  // namespace ssm
