// autograd/function.h — how an op attaches its backward to its outputs.
//
// Usage inside an op (see ops/ for many examples):
//
//   Tensor out = ...forward...;
//   autograd::record("mul", {a, b}, {out}, [a, b](const Grads& g, const Needs& need) {
//     return Grads{need[0] ? g[0] * b : Tensor(), need[1] ? g[0] * a : Tensor()};
//   });
//
// The lambda captures what backward needs. Capture outputs only through detach(): an output
// holds the node, so capturing the output itself would make a reference cycle.
#pragma once

#include <functional>
#include <vector>

#include "autograd/node.h"  // defines: Node, Edge

namespace ssm::autograd {

using Grads = std::vector<Tensor>;
using Needs = std::vector<bool>;
using BackwardFn = std::function<Grads(const Grads& grad_outputs, const Needs& needs_input_grad)>;

// True when grad mode is on and at least one input requires grad.
bool needs_grad(const std::vector<Tensor>& inputs);

// Records a node for `outputs` if needs_grad(inputs); otherwise does nothing.
void record(const char* name, const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs,
            BackwardFn backward);

}  // namespace ssm::autograd
