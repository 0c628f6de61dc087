// ops/ops.h — the op API: every differentiable operation ssmlab has, on any device.
//
// Each op, once, for every backend: validates shapes and dtypes (errors name the op and the
// shapes), allocates the output, calls the device's kernel (ops/backend.h), and records its
// backward with autograd::record. Kernels therefore never re-check and never know about autograd.
// Shapes are innermost-last; B batch, T time, D model width, V vocab, C channels.
// Floating ops accept f32 and f64 (f64 is for gradient checks); mixing dtypes is an error.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"  // defines: Tensor, Shape
#include "ops/conv_activation.h"  // defines: ConvActivation

namespace ssm::ops {

// ---- conversion --------------------------------------------------------------------------
Tensor contiguous(const Tensor& x);              // x itself if already contiguous
Tensor cast(const Tensor& x, Dtype dtype);       // gradient is cast back
Tensor to_device(const Tensor& x, Device device);

// ---- elementwise (numpy broadcasting for binary ops) -------------------------------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor add_scalar(const Tensor& x, double s);
Tensor mul_scalar(const Tensor& x, double s);
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor square(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor silu(const Tensor& x);      // x·σ(x)
Tensor softplus(const Tensor& x);  // log(1 + e^x), = x for x > 20 (every reference's threshold)
Tensor relu(const Tensor& x);
Tensor tanh(const Tensor& x);
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

// ---- reductions --------------------------------------------------------------------------
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
Tensor sum_all(const Tensor& x);   // scalar
Tensor mean_all(const Tensor& x);  // scalar
// Maximum over one dim; the gradient flows to the first maximal element.
Tensor max(const Tensor& x, int64_t dim, bool keepdim = false);
// Inclusive running sum along `dim`: out[i] = Σ_{j≤i} x[j] (Σ_{j≥i} when `reverse`).
Tensor cumsum(const Tensor& x, int64_t dim, bool reverse = false);
// Sums x down to `shape` (the inverse of broadcasting; used by binary ops' backward).
Tensor sum_to_shape(const Tensor& x, const Shape& shape);

// ---- softmax and losses ------------------------------------------------------------------
Tensor softmax(const Tensor& x, int64_t dim = -1);
Tensor log_softmax(const Tensor& x, int64_t dim = -1);
// logits (N, V), targets (N) i32/i64. Mean over targets != ignore_index (0 if none).
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index = -100);
// Same, unreduced: (N) per-position losses, 0 where ignored.
Tensor cross_entropy_per_token(const Tensor& logits, const Tensor& targets,
                               int64_t ignore_index = -100);

// ---- layers ------------------------------------------------------------------------------
// weight (V, D), ids (...) integer -> (..., D)
Tensor embedding(const Tensor& weight, const Tensor& ids);
// (..., M, K) @ (..., K, N) -> (..., M, N); batch dims broadcast. 1-D operands are not allowed.
Tensor matmul(const Tensor& a, const Tensor& b);
// x (..., in) · weightᵀ (out, in) + bias (out) -> (..., out). bias may be undefined.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());
// x (..., C), weight (C): x · (mean x² + eps)^-1/2 · weight
Tensor rms_norm(const Tensor& x, const Tensor& weight, double eps);
// Mamba-2's norm(y ⊙ silu(z)) with the RMS taken over groups of `group_size` channels.
Tensor gated_rms_norm(const Tensor& x, const Tensor& z, const Tensor& weight, double eps,
                      int64_t group_size);
// x (..., C), weight and bias (C): (x - μ)/sqrt(σ² + eps)·weight + bias (biased variance)
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps);
// LayerNorm applied separately to each of `groups` contiguous blocks of the last dim, with a
// per-channel affine: weight and bias (C). RWKV's ln_x after the WKV heads.
Tensor group_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t groups, double eps);

// Causal depthwise conv over time. x (B, T, C), weight (C, W) (W taps, tap W-1 multiplies the
// current token), bias (C) or undefined, state (B, W-1, C): the W-1 inputs before x, oldest
// first (undefined = zeros). Returns y (B, T, C) and the new state (the last W-1 inputs).
// activation silu: y = silu(conv) in the same pass (ops/conv_activation.h); the state is the
// inputs either way.
struct ConvResult {
  Tensor y;
  Tensor state;
};
ConvResult causal_conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias,
                         const Tensor& state = Tensor(), ConvActivation activation = ConvActivation::none);

// ---- shape ops (views when the layout allows, copies otherwise) ---------------------------
Tensor reshape(const Tensor& x, const Shape& shape);  // one -1 allowed
Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1);
Tensor permute(const Tensor& x, const std::vector<int64_t>& dims);
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end);  // [start, end)
Tensor unsqueeze(const Tensor& x, int64_t dim);
Tensor squeeze(const Tensor& x, int64_t dim);  // dim must have size 1
Tensor concat(const std::vector<Tensor>& xs, int64_t dim);
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim);

// Normalises a possibly negative dim for a tensor of rank `ndim` (error names `op`).
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op);

}  // namespace ssm::ops

namespace ssm {
// Operators for readable model code: a + b is ops::add(a, b).
inline Tensor operator+(const Tensor& a, const Tensor& b) { return ops::add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return ops::sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return ops::mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return ops::div(a, b); }
inline Tensor operator*(const Tensor& a, double s) { return ops::mul_scalar(a, s); }
inline Tensor operator+(const Tensor& a, double s) { return ops::add_scalar(a, s); }
inline Tensor operator-(const Tensor& a) { return ops::neg(a); }
inline Tensor operator-(const Tensor& a, double s) { return ops::add_scalar(a, -s); }
inline Tensor operator-(double s, const Tensor& a) { return ops::add_scalar(ops::neg(a), s); }
inline Tensor operator*(double s, const Tensor& a) { return ops::mul_scalar(a, s); }
}  // namespace ssm
