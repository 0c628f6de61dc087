// ops/matmul.cpp — batched matrix multiply and the linear layer, both on Backend::gemm.
//
// gemm takes row-major matrices with a leading dimension and a transpose flag, so transposed
// views (weightᵀ in linear, the operands in backward) reach the kernel without a copy. Anything
// gemm cannot express as (stride, transpose) is made contiguous first.
#include "autograd/function.h"  // defines: record
#include "ops/op_util.h"
#include "ops/ops.h"

namespace ssm::ops {
namespace {

struct GemmOperand {
  Tensor t;          // points at the first element
  bool trans;        // the matrix is stored column-major (a transposed row-major view)
  int64_t ld;        // leading dimension as gemm expects it
  int64_t batch_stride;
};

// x has shape (batch..., R, C) where batch matches `batch_shape` after broadcasting.
GemmOperand as_gemm_operand(const Tensor& x_in, const Shape& batch_shape) {
  Shape full = batch_shape;
  full.push_back(x_in.size(-2));
  full.push_back(x_in.size(-1));
  Tensor x = broadcast_view(x_in, full);
  const int64_t nd = x.dim();
  const int64_t rows = x.shape()[nd - 2], cols = x.shape()[nd - 1];
  const int64_t rs = x.strides()[nd - 2], cs = x.strides()[nd - 1];
  // Batch dims must collapse into one stride: all broadcast (0) or evenly nested.
  auto batch_stride = [&](const Tensor& t, int64_t& out) {
    int64_t stride = -1;
    int64_t expected = -1;
    for (int64_t d = nd - 3; d >= 0; --d) {
      if (t.shape()[d] == 1) continue;
      const int64_t s = t.strides()[d];
      if (stride < 0) {
        stride = s;
        expected = s * t.shape()[d];
      } else if (s == 0 && stride == 0) {
        continue;
      } else if (s == expected) {
        expected = s * t.shape()[d];
      } else {
        return false;
      }
    }
    out = stride < 0 ? 0 : stride;
    return true;
  };
  int64_t bs = 0;
  const bool row_major = cs == 1 && (rs >= cols || rows == 1);
  const bool col_major = rs == 1 && (cs >= rows || cols == 1) && !row_major;
  if ((row_major || col_major) && batch_stride(x, bs)) {
    if (row_major) return {x, false, std::max<int64_t>(rs, cols), bs};
    return {x, true, std::max<int64_t>(cs, rows), bs};
  }
  Tensor c = empty_like(x);
  backend_of(x).copy(x, c);
  const int64_t matrix = rows * cols;
  return {c, false, cols, shape_numel(batch_shape) > 1 ? matrix : 0};
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_floating("matmul", a, "a");
  check_floating("matmul", b, "b");
  check_compatible("matmul", a, b);
  SSM_USER_CHECK(a.dim() >= 2 && b.dim() >= 2, "matmul: operands must be at least 2-d, got ", a.str(),
                 " @ ", b.str());
  const int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1);
  SSM_USER_CHECK(b.size(-2) == k, "matmul: inner dims differ: ", shape_str(a.shape()), " @ ",
                 shape_str(b.shape()));
  const Shape batch = broadcast_shapes(Shape(a.shape().begin(), a.shape().end() - 2),
                                       Shape(b.shape().begin(), b.shape().end() - 2), "matmul");
  Shape out_shape = batch;
  out_shape.push_back(m);
  out_shape.push_back(n);
  Tensor out = empty_like(a, out_shape);
  if (out.numel() > 0) {
    GemmOperand ga = as_gemm_operand(a, batch), gb = as_gemm_operand(b, batch);
    backend_of(a).gemm(ga.trans, gb.trans, shape_numel(batch), m, n, k, 1.0, ga.t, ga.ld, ga.batch_stride,
                       gb.t, gb.ld, gb.batch_stride, 0.0, out, n, m * n);
  }
  autograd::record("matmul", {a, b}, {out}, [a = a.detach(), b = b.detach()](const autograd::Grads& g,
                                                                          const autograd::Needs& need) {
    // C = A·B:  dA = dC·Bᵀ,  dB = Aᵀ·dC, summed over broadcast batch dims.
    return autograd::Grads{
        need[0] ? sum_to_shape(matmul(g[0], transpose(b, -1, -2)), a.shape()) : Tensor(),
        need[1] ? sum_to_shape(matmul(transpose(a, -1, -2), g[0]), b.shape()) : Tensor()};
  });
  return out;
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  SSM_USER_CHECK(weight.defined() && weight.dim() == 2, "linear: weight must be (out, in), got ", weight.str());
  SSM_USER_CHECK(x.dim() >= 1 && x.size(-1) == weight.size(1), "linear: input ", x.str(),
                 " does not match weight ", weight.str(), " (in = ", weight.size(1), ")");
  // Flatten the leading dims so one 2-d GEMM does the work: (R, in)·(in, out).
  Shape lead(x.shape().begin(), x.shape().end() - 1);
  Tensor x2 = reshape(x, {-1, x.size(-1)});
  Tensor y = matmul(x2, transpose(weight, 0, 1));
  if (bias.defined()) {
    check_shape("linear", "bias", bias, {weight.size(0)});
    y = add(y, bias);
  }
  lead.push_back(weight.size(0));
  return reshape(y, lead);
}

}  // namespace ssm::ops
