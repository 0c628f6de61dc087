// autograd/gradcheck.h — compare autograd's gradients with central finite differences (f64).
//
// The function's outputs are reduced to one scalar L = Σ_k <out_k, W_k> with fixed random
// weights W_k, so every output (including e.g. a final recurrent state) is tested at once:
// this is "testing through the state". Inputs must be f64 CPU tensors.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"  // defines: Tensor

namespace ssm::autograd {

struct GradcheckOptions {
  double eps = 1e-6;     // finite-difference step
  double atol = 1e-7;
  double rtol = 1e-5;
  uint64_t seed = 1234;  // for the output weights W_k
};

struct GradcheckResult {
  bool ok = true;
  double max_abs_error = 0;
  std::string message;  // names the first failing input and element when !ok
};

using MultiFn = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;

// `inputs` with requires_grad=false are treated as constants (not checked).
GradcheckResult gradcheck(const MultiFn& fn, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});

}  // namespace ssm::autograd
