// autograd/gradcheck.cpp — finite differences against the backward pass, in f64.
#include "autograd/gradcheck.h"

#include <cmath>

#include "autograd/engine.h"     // defines: backward
#include "autograd/grad_mode.h"  // defines: NoGradGuard
#include "core/error.h"   // defines: SSM_CHECK
#include "core/philox.h"  // defines: Philox

namespace ssm::autograd {
namespace {

double weighted_sum(const std::vector<Tensor>& outs, const std::vector<std::vector<double>>& w) {
  double total = 0;
  for (size_t k = 0; k < outs.size(); ++k) {
    if (!outs[k].defined()) continue;
    std::vector<double> v = outs[k].to_vector<double>();
    for (size_t i = 0; i < v.size(); ++i) total += v[i] * w[k][i];
  }
  return total;
}

}  // namespace

GradcheckResult gradcheck(const MultiFn& fn, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options) {
  for (const Tensor& x : inputs) {
    if (!x.defined()) continue;
    SSM_CHECK(!x.requires_grad() || (x.dtype() == Dtype::f64 && x.device().is_cpu() && x.is_contiguous()),
              "gradcheck needs contiguous f64 CPU inputs, got ", x.str());
  }
  // Analytic gradients of L = Σ_k <out_k, W_k>.
  std::vector<Tensor> outs = fn(inputs);
  std::vector<std::vector<double>> weights;
  std::vector<Tensor> roots, seeds;
  for (size_t k = 0; k < outs.size(); ++k) {
    const Tensor& o = outs[k];
    std::vector<double> w(o.defined() ? o.numel() : 0);
    for (size_t i = 0; i < w.size(); ++i) w[i] = Philox::normal(options.seed + k, i);
    if (o.defined() && o.requires_grad()) {
      roots.push_back(o);
      seeds.push_back(Tensor::from_vector(w, o.shape()).to(o.dtype()));
    }
    weights.push_back(std::move(w));
  }
  for (const Tensor& x : inputs) {
    if (x.defined()) const_cast<Tensor&>(x).zero_grad();
  }
  GradcheckResult result;
  if (roots.empty()) {
    result.ok = false;
    result.message = "no output requires grad";
    return result;
  }
  backward(roots, seeds);

  NoGradGuard no_grad;
  for (size_t a = 0; a < inputs.size(); ++a) {
    const Tensor& x = inputs[a];
    if (!x.defined() || !x.requires_grad()) continue;
    std::vector<double> analytic(x.numel(), 0.0);
    if (x.grad().defined()) analytic = x.grad().to_vector<double>();
    double* p = x.data<double>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      const double saved = p[i];
      p[i] = saved + options.eps;
      const double plus = weighted_sum(fn(inputs), weights);
      p[i] = saved - options.eps;
      const double minus = weighted_sum(fn(inputs), weights);
      p[i] = saved;
      const double numeric = (plus - minus) / (2 * options.eps);
      const double err = std::fabs(numeric - analytic[i]);
      result.max_abs_error = std::max(result.max_abs_error, err);
      if (result.ok && !(err <= options.atol + options.rtol * std::fabs(numeric))) {
        result.ok = false;
        result.message = absl::StrCat("input ", a, " ", x.str(), " element ", i, ": analytic ",
                                      analytic[i], " vs numeric ", numeric);
      }
    }
  }
  return result;
}

}  // namespace ssm::autograd
