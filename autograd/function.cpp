// autograd/function.cpp — builds graph nodes from op lambdas.
#include "autograd/function.h"

#include "autograd/grad_mode.h"  // defines: grad_enabled

namespace ssm::autograd {
namespace {

struct LambdaNode : Node {
  BackwardFn fn;
  Needs needs;
  std::vector<Tensor> backward(const std::vector<Tensor>& grad_outputs) override {
    return fn(grad_outputs, needs);
  }
};

}  // namespace

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!grad_enabled()) return false;
  for (const Tensor& t : inputs) {
    if (t.defined() && t.requires_grad()) return true;
  }
  return false;
}

void record(const char* name, const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs,
            BackwardFn backward) {
  if (!needs_grad(inputs)) return;
  auto node = std::make_shared<LambdaNode>();
  node->name = name;
  node->fn = std::move(backward);
  for (const Tensor& in : inputs) {
    const bool need = in.defined() && in.requires_grad();
    node->needs.push_back(need);
    Edge edge;
    if (need && in.grad_fn()) {
      edge = {in.grad_fn(), in.impl()->output_nr};
    } else if (need) {
      auto sink = std::make_shared<AccumulateGrad>();
      sink->name = "accumulate_grad";
      sink->leaf = in.impl_ptr();
      sink->outputs.push_back({in.shape(), in.dtype(), in.device()});
      edge = {sink, 0};
    }
    node->next.push_back(edge);
  }
  for (size_t k = 0; k < outputs.size(); ++k) {
    TensorImpl* out = outputs[k].impl();
    out->grad_fn = node;
    out->output_nr = static_cast<int>(k);
    out->requires_grad = true;
    node->outputs.push_back({outputs[k].shape(), outputs[k].dtype(), outputs[k].device()});
  }
}

}  // namespace ssm::autograd
