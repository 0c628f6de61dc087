// ops/reduce.cpp — sum, mean, max and running sums over dims, and sum_to_shape (the broadcasting
// adjoint).
#include <algorithm>

#include "autograd/function.h"  // defines: record
#include "ops/op_util.h"
#include "ops/ops.h"

namespace ssm::ops {
namespace {

// x's shape with every reduced dim set to 1 (the keepdim shape).
Shape keepdim_shape(const Tensor& x, const std::vector<int64_t>& dims, const char* op) {
  Shape shape = x.shape();
  for (int64_t d : dims) shape[wrap_dim(d, x.dim(), op)] = 1;
  return shape;
}

Shape drop_dims(const Shape& shape, const Tensor& x, const std::vector<int64_t>& dims, const char* op) {
  std::vector<bool> drop(x.dim(), false);
  for (int64_t d : dims) drop[wrap_dim(d, x.dim(), op)] = true;
  Shape out;
  for (int64_t i = 0; i < x.dim(); ++i) {
    if (!drop[i]) out.push_back(shape[i]);
  }
  return out;
}

}  // namespace

Tensor sum_to_shape(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  SSM_CHECK(shape.size() <= x.shape().size(), "sum_to_shape: ", x.str(), " to ", shape_str(shape));
  // Sum the leading extra dims and every dim that was broadcast from 1.
  const size_t lead = x.shape().size() - shape.size();
  Shape keep = x.shape();
  for (size_t i = 0; i < keep.size(); ++i) {
    if (i < lead || shape[i - lead] == 1) keep[i] = 1;
  }
  Tensor out = empty_like(x, keep);
  backend_of(x).sum_to(x, out);
  autograd::record("sum_to_shape", {x}, {out}, [from = x.shape()](const autograd::Grads& g, const autograd::Needs&) {
    return autograd::Grads{contiguous(broadcast_view(g[0], from))};
  });
  return reshape(out, shape);
}

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  check_floating("sum", x);
  const Shape keep = keepdim_shape(x, dims, "sum");
  Tensor out = empty_like(x, keep);
  backend_of(x).sum_to(x, out);
  autograd::record("sum", {x}, {out}, [from = x.shape()](const autograd::Grads& g, const autograd::Needs&) {
    return autograd::Grads{contiguous(broadcast_view(g[0], from))};
  });
  return keepdim ? out : reshape(out, drop_dims(keep, x, dims, "sum"));
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  int64_t count = 1;
  for (int64_t d : dims) count *= x.shape()[wrap_dim(d, x.dim(), "mean")];
  return mul_scalar(sum(x, dims, keepdim), 1.0 / static_cast<double>(std::max<int64_t>(count, 1)));
}

Tensor sum_all(const Tensor& x) {
  std::vector<int64_t> dims(x.dim());
  for (int64_t i = 0; i < x.dim(); ++i) dims[i] = i;
  return sum(x, dims, false);
}

Tensor mean_all(const Tensor& x) {
  return mul_scalar(sum_all(x), 1.0 / static_cast<double>(std::max<int64_t>(x.numel(), 1)));
}

Tensor max(const Tensor& x, int64_t dim, bool keepdim) {
  check_floating("max", x);
  const int64_t d = wrap_dim(dim, x.dim(), "max");
  SSM_USER_CHECK(x.shape()[d] > 0, "max: dim ", d, " of ", x.str(), " is empty");
  Tensor xc = contiguous(x.detach());
  const Shape keep = keepdim_shape(x, {d}, "max");
  Tensor values = empty_like(x, keep);
  Tensor indices = Tensor::empty(keep, Dtype::i64, x.device());
  backend_of(x).max_dim(xc, d, values, indices);
  autograd::record("max", {x}, {values}, [from = x.shape(), indices, d](const autograd::Grads& g,
                                                                     const autograd::Needs&) {
    Tensor dx = Tensor::empty(from, g[0].dtype(), g[0].device());
    backend_of(dx).max_dim_backward(contiguous(g[0]), indices, d, dx);
    return autograd::Grads{dx};
  });
  return keepdim ? values : reshape(values, drop_dims(keep, x, {d}, "max"));
}

Tensor cumsum(const Tensor& x, int64_t dim, bool reverse) {
  check_floating("cumsum", x);
  const int64_t d = wrap_dim(dim, x.dim(), "cumsum");
  Tensor xc = contiguous(x.detach());
  Tensor out = empty_like(xc);
  backend_of(x).cumsum(xc, d, reverse, out);
  // Each x[j] reaches every out[i] with i ≥ j, so the gradient is the running sum the other way.
  autograd::record("cumsum", {x}, {out}, [d, reverse](const autograd::Grads& g, const autograd::Needs&) {
    return autograd::Grads{cumsum(g[0], d, !reverse)};
  });
  return out;
}

}  // namespace ssm::ops
