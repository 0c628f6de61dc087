// autograd/gradient_adder.cpp — the registered gradient adder and its host fallback.
#include "autograd/gradient_adder.h"

#include "core/error.h"

namespace ssm::autograd {
namespace {

GradientAdder g_adder = nullptr;

template <typename T>
Tensor host_add(const Tensor& a, const Tensor& b) {
  Tensor ac = a.is_contiguous() ? a : a.clone_contiguous();
  Tensor bc = b.is_contiguous() ? b : b.clone_contiguous();
  Tensor out = Tensor::empty(a.shape(), a.dtype());
  const T* pa = ac.data<T>();
  const T* pb = bc.data<T>();
  T* po = out.data<T>();
  for (int64_t i = 0; i < out.numel(); ++i) po[i] = pa[i] + pb[i];
  return out;
}

}  // namespace

void set_gradient_adder(GradientAdder adder) { g_adder = adder; }

Tensor add_gradients(const Tensor& a, const Tensor& b) {
  if (g_adder) return g_adder(a, b);
  SSM_CHECK(a.shape() == b.shape() && a.dtype() == b.dtype() && a.device().is_cpu(),
            "add_gradients fallback: ", a.str(), " + ", b.str());
  return a.dtype() == Dtype::f64 ? host_add<double>(a, b) : host_add<float>(a, b);
}

}  // namespace ssm::autograd
