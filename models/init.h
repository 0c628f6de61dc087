// models/init.h — how every architecture creates its parameters.
//
// A ParameterFactory hands out leaf tensors (requires_grad) drawn from named Philox streams:
// stream (layer, slot) is a pure function of the seed, so adding a parameter never shifts the
// init of another. With `initialize = false` every call returns uninitialised storage of the
// right shape instead: that builds a 14B-parameter model in milliseconds without touching its
// memory (parameter counts, or weights about to be overwritten by a checkpoint load).
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"  // defines: Tensor, Shape, Dtype

namespace ssm {

int64_t round_up(int64_t n, int64_t multiple);

// Mamba's Δ bias init (mamba_ssm; docs/arch/mamba1.md, initialisation): Δ0 log-uniform in [1e-3, 0.1], floored
// at 1e-4, returned as softplus⁻¹(Δ0) so that softplus(0 + bias) starts at Δ0. `u` ~ U[0, 1).
double mamba_dt_bias(double u);

class ParameterFactory {
 public:
  ParameterFactory(uint64_t seed, Dtype dtype, bool initialize) : seed_(seed), dtype_(dtype), initialize_(initialize) {}

  // The stream for (layer, slot); layer -1 is for model-level tensors.
  uint64_t stream(int64_t layer, int64_t slot) const;

  Tensor constant(const Shape& shape, double value) const;
  Tensor uniform(const Shape& shape, double low, double high, int64_t layer, int64_t slot) const;
  Tensor normal(const Shape& shape, double stddev, int64_t layer, int64_t slot) const;
  // PyTorch's default nn.Linear / nn.Conv1d init, kaiming_uniform(a=√5) = U(±1/√fan_in).
  Tensor torch_default(const Shape& shape, int64_t fan_in, int64_t layer, int64_t slot) const;
  // torch.nn.init.orthogonal_ on a (rows, cols) matrix, times `gain` (gain 0 gives zeros).
  Tensor orthogonal(int64_t rows, int64_t cols, double gain, int64_t layer, int64_t slot) const;
  // Values computed by the caller (per-channel inits such as RWKV's time_decay), row-major.
  Tensor values(const Shape& shape, const std::vector<double>& data) const;

  Dtype dtype() const { return dtype_; }
  bool initialize() const { return initialize_; }

 private:
  Tensor leaf(Tensor t) const;
  uint64_t seed_;
  Dtype dtype_;
  bool initialize_;
};

}  // namespace ssm
