// ops/matmul.cpp — batched matrix multiply and the linear layer, both on Backend::gemm.
//
// gemm takes row-major matrices with a leading dimension and a transpose flag, so transposed
// views (weightᵀ in linear, the operands in backward) reach the kernel without a copy. Anything
// gemm cannot express as (stride, transpose) is made contiguous first.
//
// What the backward keeps: the two operands. Under bf16-mixed on the GPU the GEMM rounds f32
// operands to bf16 (cuda/matmul.cu), so linear keeps its input, when that is an activation, as
// those bf16 values: the backward's GEMM gets the same bits, the kept copy takes half the memory,
// and the forward's rounding is that one cast. The weight, and an input that is a leaf, are stored
// anyway and are kept as they are (docs/performance.md, "bf16 activations").
#include "autograd/function.h"   // defines: record
#include "autograd/grad_mode.h"  // defines: grad_enabled
#include "ops/op_util.h"
#include "ops/ops.h"
#include "ops/precision.h"       // defines: matmul_precision

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

// a·b over the broadcast batch dims into a new tensor of `dtype`, with no checks and no autograd:
// the forward's and the backward's GEMM. One operand may be a bf16 activation kept for the
// backward while the other is f32 (the GPU's GEMM takes that mix under bf16-mixed).
Tensor gemm_product(const Tensor& a, const Tensor& b, Dtype dtype) {
  const int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1);
  const Shape batch = broadcast_shapes(Shape(a.shape().begin(), a.shape().end() - 2),
                                       Shape(b.shape().begin(), b.shape().end() - 2), "matmul");
  Shape out_shape = batch;
  out_shape.push_back(m);
  out_shape.push_back(n);
  Tensor out = Tensor::empty(out_shape, dtype, a.device());
  if (out.numel() > 0) {
    GemmOperand ga = as_gemm_operand(a, batch), gb = as_gemm_operand(b, batch);
    backend_of(a).gemm(ga.trans, gb.trans, shape_numel(batch), m, n, k, 1.0, ga.t, ga.ld, ga.batch_stride,
                       gb.t, gb.ld, gb.batch_stride, 0.0, out, n, m * n);
  }
  return out;
}

// What the backward keeps of an operand (header): the bf16 rounding of an f32 activation on the
// GPU under bf16-mixed while gradients are recorded, else the operand itself.
Tensor kept_for_backward(const Tensor& x, bool activation) {
  const bool in_bf16 = activation && autograd::grad_enabled() && x.device().is_cuda() && x.dtype() == Dtype::f32 &&
                       matmul_precision() == MatmulPrecision::bf16;
  return in_bf16 ? cast(x.detach(), Dtype::bf16) : x.detach();
}

// matmul, with `a_activation` saying whether a is an activation the backward may keep in bf16.
Tensor matmul_keeping(const Tensor& a, const Tensor& b, bool a_activation) {
  check_floating("matmul", a, "a");
  check_floating("matmul", b, "b");
  check_compatible("matmul", a, b);
  SSM_USER_CHECK(a.dim() >= 2 && b.dim() >= 2, "matmul: operands must be at least 2-d, got ", a.str(),
                 " @ ", b.str());
  SSM_USER_CHECK(b.size(-2) == a.size(-1), "matmul: inner dims differ: ", shape_str(a.shape()), " @ ",
                 shape_str(b.shape()));
  broadcast_shapes(Shape(a.shape().begin(), a.shape().end() - 2), Shape(b.shape().begin(), b.shape().end() - 2),
                   "matmul");  // refuses batch dims that do not broadcast, before anything is allocated
  const Tensor a_kept = kept_for_backward(a, a_activation), b_kept = b.detach();
  Tensor out = gemm_product(a_kept, b_kept, a.dtype());
  autograd::record("matmul", {a, b}, {out}, [a = a_kept, b = b_kept, a_shape = a.shape(), b_shape = b.shape()](
                                                const autograd::Grads& g, const autograd::Needs& need) {
    // C = A·B:  dA = dC·Bᵀ,  dB = Aᵀ·dC, summed over broadcast batch dims.
    const Dtype dtype = g[0].dtype();
    return autograd::Grads{
        need[0] ? sum_to_shape(gemm_product(g[0], transpose(b, -1, -2), dtype), a_shape) : Tensor(),
        need[1] ? sum_to_shape(gemm_product(transpose(a, -1, -2), g[0], dtype), b_shape) : Tensor()};
  });
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) { return matmul_keeping(a, b, false); }

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  SSM_USER_CHECK(weight.defined() && weight.dim() == 2, "linear: weight must be (out, in), got ", weight.str());
  SSM_USER_CHECK(x.dim() >= 1 && x.size(-1) == weight.size(1), "linear: input ", x.str(),
                 " does not match weight ", weight.str(), " (in = ", weight.size(1), ")");
  // Flatten the leading dims so one 2-d GEMM does the work: (R, in)·(in, out).
  Shape lead(x.shape().begin(), x.shape().end() - 1);
  Tensor x2 = reshape(x, {-1, x.size(-1)});
  Tensor y = matmul_keeping(x2, transpose(weight, 0, 1), /*a_activation=*/x.grad_fn() != nullptr);
  if (bias.defined()) {
    check_shape("linear", "bias", bias, {weight.size(0)});
    y = add(y, bias);
  }
  lead.push_back(weight.size(0));
  return reshape(y, lead);
}

}  // namespace ssm::ops
