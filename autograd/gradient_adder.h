// autograd/gradient_adder.h — how the engine adds two gradients without depending on ops/.
//
// ops/ installs its `add` here (see ops/elementwise.cpp); until then a host-only fallback for
// contiguous f32/f64 tensors is used, which keeps autograd testable on its own.
#pragma once

#include "core/tensor.h"  // defines: Tensor

namespace ssm::autograd {

using GradientAdder = Tensor (*)(const Tensor&, const Tensor&);
void set_gradient_adder(GradientAdder adder);
Tensor add_gradients(const Tensor& a, const Tensor& b);

}  // namespace ssm::autograd
