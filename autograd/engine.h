// autograd/engine.h — the backward pass: walk the graph from the loss in reverse topological
// order, summing gradients that meet at a tensor used more than once.
#pragma once

#include <vector>

#include "core/tensor.h"  // defines: Tensor

namespace ssm::autograd {

// Backpropagates from `roots` with the given output gradients (for a scalar loss, pass {} and a
// gradient of 1 is used). Leaves that require grad receive their gradient in .grad (summed
// into what is already there, so micro-batches accumulate).
void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grad_roots = {});

inline void backward(const Tensor& loss) { backward(std::vector<Tensor>{loss}); }

}  // namespace ssm::autograd
