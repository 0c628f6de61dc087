// autograd/node.h — one recorded operation in the define-by-run graph.
//
// When an op runs with grad mode on and some input requires grad, it creates a Node whose
// `backward` maps the gradients of the op's outputs to gradients of its inputs. `next[i]` points
// at whatever produced input i (another Node, or an AccumulateGrad for a leaf), so the graph is
// the chain of Nodes reachable from the loss. Nodes are written as lambdas through
// autograd::record (function.h); custom fused ops (scans, losses) do the same with a
// hand-written backward.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"  // defines: Tensor, Shape, Dtype, Device

namespace ssm::autograd {

struct Node;

struct Edge {
  std::shared_ptr<Node> node;  // nullptr: that input needs no gradient
  int output_nr = 0;           // which output of `node` the input was
};

// Shape, dtype and device of one output, so the engine can give zeros to outputs that
// received no gradient (e.g. an unused final state).
struct OutputMeta {
  Shape shape;
  Dtype dtype;
  Device device;
};

struct Node {
  std::string name;
  std::vector<Edge> next;           // one per input of the op
  std::vector<OutputMeta> outputs;  // one per output of the op

  virtual ~Node() = default;
  // grad_outputs[k] is dLoss/d(output k), always defined. Returns one gradient per input
  // (undefined Tensor where no gradient is needed).
  virtual std::vector<Tensor> backward(const std::vector<Tensor>& grad_outputs) = 0;
};

// Sink for a leaf tensor: adds the incoming gradient into leaf.grad.
struct AccumulateGrad : Node {
  std::weak_ptr<TensorImpl> leaf;
  std::vector<Tensor> backward(const std::vector<Tensor>& grad_outputs) override;
};

}  // namespace ssm::autograd
