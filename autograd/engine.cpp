// autograd/engine.cpp — reverse-mode traversal (Kahn's algorithm over the node graph).
//
// 1. Count, for every node reachable from the roots, how many edges point at it.
// 2. Start from the roots; a node runs once every consumer has delivered its gradient
//    (its count reaches zero), so each node runs exactly once with the full summed gradient.
// Gradient sums go through the adder that ops/ registers (autograd cannot depend on ops/).
#include "autograd/engine.h"

#include <unordered_map>
#include <unordered_set>

#include "autograd/grad_mode.h"  // defines: NoGradGuard
#include "autograd/node.h"       // defines: Node, AccumulateGrad
#include "autograd/gradient_adder.h"   // defines: add_gradients
#include "core/error.h"          // defines: SSM_CHECK

namespace ssm::autograd {
namespace {

void accumulate(std::vector<Tensor>& slots, int index, const Tensor& g) {
  Tensor& slot = slots[index];
  slot = slot.defined() ? add_gradients(slot, g) : g;
}

}  // namespace

std::vector<Tensor> AccumulateGrad::backward(const std::vector<Tensor>& grad_outputs) {
  std::shared_ptr<TensorImpl> target = leaf.lock();
  if (!target) return {};
  Tensor leaf_tensor(target);
  const Tensor& g = grad_outputs[0];
  // A fresh contiguous copy: gradients handed around the graph may alias each other, and the
  // optimizer later edits .grad in place (clipping).
  Tensor current = leaf_tensor.grad();
  leaf_tensor.set_grad(current.defined() ? add_gradients(current, g) : g.clone_contiguous());
  return {};
}

void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grad_roots) {
  NoGradGuard no_grad;
  SSM_CHECK(grad_roots.empty() || grad_roots.size() == roots.size(),
            "backward: ", roots.size(), " roots but ", grad_roots.size(), " gradients");

  std::unordered_map<Node*, std::vector<Tensor>> buffers;
  std::vector<std::shared_ptr<Node>> root_nodes;
  for (size_t i = 0; i < roots.size(); ++i) {
    const Tensor& root = roots[i];
    SSM_CHECK(root.requires_grad(), "backward: root ", i, " (", root.str(), ") does not require grad");
    Tensor g;
    if (grad_roots.empty()) {
      SSM_CHECK(root.numel() == 1, "backward without a gradient needs a scalar, got ", root.str());
      g = Tensor::full(root.shape(), 1.0, root.dtype(), root.device());
    } else {
      g = grad_roots[i];
      SSM_CHECK(g.shape() == root.shape(), "backward: gradient ", g.str(), " for root ", root.str());
    }
    std::shared_ptr<Node> node = root.grad_fn();
    if (!node) {  // a leaf root: its gradient is the seed itself
      auto sink = std::make_shared<AccumulateGrad>();
      sink->leaf = root.impl_ptr();
      sink->outputs.push_back({root.shape(), root.dtype(), root.device()});
      node = sink;
    }
    auto& slots = buffers[node.get()];
    slots.resize(node->outputs.size());
    accumulate(slots, root.is_leaf() ? 0 : root.impl()->output_nr, g);
    root_nodes.push_back(node);
  }

  // Dependency counts over the reachable graph.
  std::unordered_map<Node*, int> pending;
  std::unordered_set<Node*> seen;
  std::vector<Node*> stack;
  for (auto& n : root_nodes) {
    if (seen.insert(n.get()).second) stack.push_back(n.get());
  }
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const Edge& e : n->next) {
      if (!e.node) continue;
      ++pending[e.node.get()];
      if (seen.insert(e.node.get()).second) stack.push_back(e.node.get());
    }
  }

  std::vector<std::shared_ptr<Node>> ready;
  std::unordered_set<Node*> queued;
  for (auto& n : root_nodes) {
    if (pending[n.get()] == 0 && queued.insert(n.get()).second) ready.push_back(n);
  }
  while (!ready.empty()) {
    std::shared_ptr<Node> node = ready.back();
    ready.pop_back();
    std::vector<Tensor> grads = std::move(buffers[node.get()]);
    buffers.erase(node.get());
    grads.resize(node->outputs.size());
    bool any = false;
    for (size_t k = 0; k < grads.size(); ++k) {
      if (grads[k].defined()) {
        any = true;
      } else {
        const OutputMeta& m = node->outputs[k];
        grads[k] = Tensor::zeros(m.shape, m.dtype, m.device);
      }
    }
    std::vector<Tensor> input_grads;
    if (any) input_grads = node->backward(grads);
    for (size_t i = 0; i < node->next.size(); ++i) {
      const Edge& e = node->next[i];
      if (!e.node) continue;
      if (i < input_grads.size() && input_grads[i].defined()) {
        auto& slots = buffers[e.node.get()];
        slots.resize(e.node->outputs.size());
        const OutputMeta& m = e.node->outputs[e.output_nr];
        SSM_CHECK(input_grads[i].shape() == m.shape, "backward of '", node->name, "': gradient ",
                  input_grads[i].str(), " for input ", i, " of shape ", shape_str(m.shape));
        accumulate(slots, e.output_nr, input_grads[i]);
      }
      if (--pending[e.node.get()] == 0) ready.push_back(e.node);
    }
  }
}

}  // namespace ssm::autograd
