// ops/op_util.cpp — the argument checks every op runs before dispatching (each failure is a
// UserError naming the op, the argument and the shapes or dtypes), and broadcast views.
#include "ops/op_util.h"

namespace ssm::ops {

void check_floating(const char* op, const Tensor& x, const char* arg) {
  SSM_USER_CHECK(x.defined(), op, ": ", arg, " is undefined");
  SSM_USER_CHECK(is_floating(x.dtype()), op, ": ", arg, " must be floating, got ", x.str());
}

void check_compatible(const char* op, const Tensor& a, const Tensor& b) {
  SSM_USER_CHECK(a.dtype() == b.dtype(), op, ": dtype mismatch ", a.str(), " vs ", b.str());
  SSM_USER_CHECK(a.device() == b.device(), op, ": device mismatch ", a.str(), " vs ", b.str());
}

void check_shape(const char* op, const char* arg, const Tensor& x, const Shape& expected) {
  SSM_USER_CHECK(x.shape() == expected, op, ": ", arg, " has shape ", shape_str(x.shape()),
                 ", expected ", shape_str(expected));
}

Tensor broadcast_view(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  const size_t n = shape.size(), k = x.shape().size();
  Shape strides(n, 0);
  for (size_t i = 0; i < k; ++i) {
    const size_t d = n - k + i;
    strides[d] = x.shape()[i] == 1 ? 0 : x.strides()[i];
  }
  return x.as_strided(shape, strides, x.offset());
}

}  // namespace ssm::ops
