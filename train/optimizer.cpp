// train/optimizer.cpp — AdamW, clipping and the learning-rate schedules.
#include "train/optimizer.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "autograd/grad_mode.h"  // defines: NoGradGuard
#include "core/error.h"
#include "ops/backend.h"  // defines: backend_for
#include "ops/ops.h"      // defines: square, sum_all, mul_scalar

namespace ssm {

AdamW::AdamW(std::vector<NamedParameter> params, const OptimConfig& cfg) : cfg_(cfg) {
  for (NamedParameter& p : params) {
    SSM_CHECK(p.tensor.dtype() == Dtype::f32, "AdamW keeps fp32 parameters; ", p.name, " is ", p.tensor.str());
    Tensor m = Tensor::zeros(p.tensor.shape(), Dtype::f32, p.tensor.device());
    Tensor v = Tensor::zeros(p.tensor.shape(), Dtype::f32, p.tensor.device());
    slots_.push_back({std::move(p), m, v});
  }
}

void AdamW::step(double lr) {
  autograd::NoGradGuard no_grad;
  ++step_;
  // Every parameter with a gradient, in one call per device: a backend may update them all in
  // one pass (on CUDA, one launch).
  std::vector<std::pair<Device, std::vector<AdamWTensors>>> by_device;
  for (Slot& s : slots_) {
    Tensor grad = s.param.tensor.grad();
    if (!grad.defined()) continue;
    const Device device = s.param.tensor.device();
    auto on = std::find_if(by_device.begin(), by_device.end(), [&](const auto& e) { return e.first == device; });
    if (on == by_device.end()) on = by_device.insert(by_device.end(), {device, {}});
    on->second.push_back({s.param.tensor, ops::contiguous(grad), s.exp_avg, s.exp_avg_sq,
                          s.param.no_weight_decay ? 0.0 : cfg_.weight_decay});
  }
  const AdamWHyper hyper{lr, cfg_.beta1, cfg_.beta2, cfg_.eps, step_};
  for (const auto& [device, params] : by_device) backend_for(device).adamw_step(params, hyper);
}

void AdamW::zero_grad() {
  for (Slot& s : slots_) s.param.tensor.zero_grad();
}

double AdamW::clip_grad_norm(double max_norm) {
  autograd::NoGradGuard no_grad;
  double total = 0;
  for (Slot& s : slots_) {
    Tensor g = s.param.tensor.grad();
    if (g.defined()) total += ops::sum_all(ops::square(g)).item();
  }
  const double norm = std::sqrt(total);
  if (max_norm > 0 && std::isfinite(norm) && norm > max_norm) {
    const double scale = max_norm / (norm + 1e-6);
    for (Slot& s : slots_) {
      Tensor g = s.param.tensor.grad();
      if (g.defined()) s.param.tensor.set_grad(ops::mul_scalar(g, scale));
    }
  }
  return norm;
}

std::vector<std::pair<std::string, Tensor>> AdamW::state_tensors() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const Slot& s : slots_) {
    out.emplace_back("exp_avg." + s.param.name, s.exp_avg);
    out.emplace_back("exp_avg_sq." + s.param.name, s.exp_avg_sq);
  }
  return out;
}

void AdamW::load_state(const std::function<Tensor(const std::string&)>& get, int64_t steps_taken) {
  for (Slot& s : slots_) {
    s.exp_avg.copy_from(get("exp_avg." + s.param.name));
    s.exp_avg_sq.copy_from(get("exp_avg_sq." + s.param.name));
  }
  step_ = steps_taken;
}

double learning_rate(const OptimConfig& cfg, int64_t step, int64_t total_steps) {
  if (cfg.warmup_steps > 0 && step < cfg.warmup_steps) {
    return cfg.lr * static_cast<double>(step + 1) / static_cast<double>(cfg.warmup_steps);
  }
  const double span = std::max<int64_t>(total_steps - cfg.warmup_steps, 1);
  const double progress = std::min(1.0, static_cast<double>(step - cfg.warmup_steps) / span);
  if (cfg.schedule == "cosine") {
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1.0 + std::cos(M_PI * progress));
  }
  if (cfg.schedule == "wsd") {
    // Warmup-Stable-Decay (MiniCPM): hold the peak, then decay linearly over the final share.
    const int64_t decay_steps = static_cast<int64_t>(std::ceil(cfg.decay_fraction * total_steps));
    const int64_t decay_start = total_steps - decay_steps;
    if (step < decay_start || decay_steps == 0) return cfg.lr;
    const double t = static_cast<double>(step - decay_start + 1) / static_cast<double>(decay_steps);
    return cfg.lr + (cfg.min_lr - cfg.lr) * std::min(t, 1.0);
  }
  return cfg.lr;  // constant
}

}  // namespace ssm
