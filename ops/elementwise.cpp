// ops/elementwise.cpp — unary and broadcasting binary ops with their gradients.
//
// Binary backward: the gradient of a broadcast input is summed back to its own shape
// (sum_to_shape), the rule that makes bias adds and per-channel scales work.
#include "autograd/function.h"  // defines: record
#include "autograd/gradient_adder.h"  // defines: set_gradient_adder
#include "ops/op_util.h"
#include "ops/ops.h"

namespace ssm::ops {

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    SSM_USER_CHECK(da == db || da == 1 || db == 1, op, ": shapes ", shape_str(a), " and ",
                   shape_str(b), " do not broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

namespace {

Tensor unary_op(const char* name, UnaryOp op, const Tensor& x, double scalar = 0) {
  check_floating(name, x);
  Tensor out = empty_like(x);
  backend_of(x).unary(op, x, out, scalar);
  Tensor y = out.detach();
  autograd::record(name, {x}, {out}, [op, x, y, scalar](const autograd::Grads& g, const autograd::Needs&) {
    Tensor xc = contiguous(x.detach());
    Tensor gc = contiguous(g[0]);
    Tensor dx = empty_like(xc);
    backend_of(xc).unary_backward(op, xc, y, gc, dx, scalar);
    return autograd::Grads{dx};
  });
  return out;
}

Tensor binary_raw(BinaryOp op, const Tensor& a, const Tensor& b, const char* name) {
  check_floating(name, a, "a");
  check_floating(name, b, "b");
  check_compatible(name, a, b);
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = empty_like(a, shape);
  backend_of(a).binary(op, broadcast_view(a, shape), broadcast_view(b, shape), out);
  return out;
}

Tensor add_for_autograd(const Tensor& a, const Tensor& b) { return add(a, b); }

// Registers ops::add as the engine's gradient adder when the ops library is loaded. It sits in
// this file because every program that uses ops links elementwise.cpp.
const bool g_adder_registered = [] {
  autograd::set_gradient_adder(&add_for_autograd);
  return true;
}();

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = binary_raw(BinaryOp::add, a, b, "add");
  autograd::record("add", {a, b}, {out}, [sa = a.shape(), sb = b.shape()](const autograd::Grads& g,
                                                                       const autograd::Needs& need) {
    return autograd::Grads{need[0] ? sum_to_shape(g[0], sa) : Tensor(),
                           need[1] ? sum_to_shape(g[0], sb) : Tensor()};
  });
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary_raw(BinaryOp::sub, a, b, "sub");
  autograd::record("sub", {a, b}, {out}, [sa = a.shape(), sb = b.shape()](const autograd::Grads& g,
                                                                       const autograd::Needs& need) {
    return autograd::Grads{need[0] ? sum_to_shape(g[0], sa) : Tensor(),
                           need[1] ? sum_to_shape(neg(g[0]), sb) : Tensor()};
  });
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary_raw(BinaryOp::mul, a, b, "mul");
  autograd::record("mul", {a, b}, {out}, [a = a.detach(), b = b.detach()](const autograd::Grads& g,
                                                                       const autograd::Needs& need) {
    return autograd::Grads{need[0] ? sum_to_shape(mul(g[0], b), a.shape()) : Tensor(),
                           need[1] ? sum_to_shape(mul(g[0], a), b.shape()) : Tensor()};
  });
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = binary_raw(BinaryOp::div, a, b, "div");
  autograd::record("div", {a, b}, {out}, [a = a.detach(), b = b.detach()](const autograd::Grads& g,
                                                                       const autograd::Needs& need) {
    // d(a/b)/da = 1/b, d(a/b)/db = -a/b²
    Tensor ga = div(g[0], b);
    return autograd::Grads{need[0] ? sum_to_shape(ga, a.shape()) : Tensor(),
                           need[1] ? sum_to_shape(neg(div(mul(ga, a), b)), b.shape()) : Tensor()};
  });
  return out;
}

Tensor add_scalar(const Tensor& x, double s) { return unary_op("add_scalar", UnaryOp::add_scalar, x, s); }
Tensor mul_scalar(const Tensor& x, double s) { return unary_op("mul_scalar", UnaryOp::mul_scalar, x, s); }
Tensor neg(const Tensor& x) { return unary_op("neg", UnaryOp::neg, x); }
Tensor exp(const Tensor& x) { return unary_op("exp", UnaryOp::exp, x); }
Tensor log(const Tensor& x) { return unary_op("log", UnaryOp::log, x); }
Tensor sqrt(const Tensor& x) { return unary_op("sqrt", UnaryOp::sqrt, x); }
Tensor square(const Tensor& x) { return unary_op("square", UnaryOp::square, x); }
Tensor sigmoid(const Tensor& x) { return unary_op("sigmoid", UnaryOp::sigmoid, x); }
Tensor silu(const Tensor& x) { return unary_op("silu", UnaryOp::silu, x); }
Tensor softplus(const Tensor& x) { return unary_op("softplus", UnaryOp::softplus, x); }
Tensor tanh(const Tensor& x) { return unary_op("tanh", UnaryOp::tanh, x); }
Tensor relu(const Tensor& x) { return unary_op("relu", UnaryOp::relu, x); }

}  // namespace ssm::ops
