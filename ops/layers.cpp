// ops/layers.cpp — op layer for softmax, cross-entropy, embedding, the norms and the causal conv:
// shape checks, kernel calls, and the autograd nodes that call the backward kernels.
#include <optional>

#include "autograd/function.h"  // defines: record
#include "ops/op_util.h"
#include "ops/ops.h"

namespace ssm::ops {
namespace {

Tensor softmax_impl(const char* name, const Tensor& x, int64_t dim, bool log) {
  check_floating(name, x);
  const int64_t d = wrap_dim(dim, x.dim(), name);
  // Kernels work over the last dim: move `dim` there and back.
  Tensor moved = d == x.dim() - 1 ? x : transpose(x, d, -1);
  Tensor xc = contiguous(moved.detach());
  Tensor y = empty_like(xc);
  backend_of(x).softmax_forward(xc, y, log);
  Tensor yd = y.detach();
  autograd::record(name, {moved}, {y}, [yd, log](const autograd::Grads& g, const autograd::Needs&) {
    Tensor dx = empty_like(yd);
    backend_of(yd).softmax_backward(yd, contiguous(g[0]), dx, log);
    return autograd::Grads{dx};
  });
  return d == x.dim() - 1 ? y : transpose(y, d, -1);
}

// Integer ids (targets, tokens) on `weight_like`'s device, each in [0, limit); `ignore`, when
// given, is also allowed (cross-entropy's ignore_index). Checked on the host so a bad id is a
// clear error here instead of an out-of-bounds read in a kernel.
void check_ids(const char* op, const Tensor& ids, const Tensor& weight_like, int64_t limit,
               std::optional<int64_t> ignore, const char* what) {
  SSM_USER_CHECK(ids.dtype() == Dtype::i64 || ids.dtype() == Dtype::i32, op, ": ", what,
                 " must be i32 or i64, got ", ids.str());
  SSM_USER_CHECK(ids.device() == weight_like.device(), op, ": device mismatch ", ids.str(), " vs ",
                 weight_like.str());
  for (int64_t id : ids.to_vector<int64_t>()) {
    SSM_USER_CHECK(id == ignore || (id >= 0 && id < limit), op, ": ", what, " ", id,
                   " out of range [0, ", limit, ")");
  }
}

Tensor cross_entropy_impl(const char* name, const Tensor& logits, const Tensor& targets, int64_t ignore_index,
                          bool reduce) {
  check_floating(name, logits, "logits");
  SSM_USER_CHECK(logits.dim() == 2, name, ": logits must be (N, V), got ", shape_str(logits.shape()));
  SSM_USER_CHECK(targets.dim() == 1 && targets.size(0) == logits.size(0), name, ": targets ",
                 shape_str(targets.shape()), " do not match logits ", shape_str(logits.shape()));
  SSM_USER_CHECK(logits.size(1) > 0, name, ": logits ", shape_str(logits.shape()), " have no classes");
  check_ids(name, targets, logits, logits.size(1), ignore_index, "target");
  const int64_t N = logits.size(0);
  Tensor lc = contiguous(logits.detach());
  Tensor tc = targets.is_contiguous() ? targets : targets.clone_contiguous();
  Tensor losses = empty_like(lc, {N}), lse = empty_like(lc, {N});
  backend_of(lc).cross_entropy_forward(lc, tc, ignore_index, losses, lse);
  autograd::record(name, {logits}, {losses}, [lc, tc, lse, ignore_index](const autograd::Grads& g,
                                                                      const autograd::Needs&) {
    Tensor dl = empty_like(lc);
    backend_of(lc).cross_entropy_backward(lc, tc, lse, contiguous(g[0]), ignore_index, dl);
    return autograd::Grads{dl};
  });
  if (!reduce) return losses;
  int64_t counted = 0;
  for (int64_t t : tc.to_vector<int64_t>()) counted += t != ignore_index;
  return mul_scalar(sum_all(losses), counted > 0 ? 1.0 / static_cast<double>(counted) : 0.0);
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl("softmax", x, dim, false); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_impl("log_softmax", x, dim, true); }

Tensor cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index) {
  return cross_entropy_impl("cross_entropy", logits, targets, ignore_index, true);
}

Tensor cross_entropy_per_token(const Tensor& logits, const Tensor& targets, int64_t ignore_index) {
  return cross_entropy_impl("cross_entropy_per_token", logits, targets, ignore_index, false);
}

Tensor embedding(const Tensor& weight, const Tensor& ids) {
  check_floating("embedding", weight, "weight");
  SSM_USER_CHECK(weight.dim() == 2, "embedding: weight must be (V, D), got ", shape_str(weight.shape()));
  check_ids("embedding", ids, weight, weight.size(0), std::nullopt, "id");
  Tensor wc = contiguous(weight.detach());
  Tensor idc = ids.is_contiguous() ? ids : ids.clone_contiguous();
  Shape shape = ids.shape();
  shape.push_back(weight.size(1));
  Tensor out = empty_like(wc, shape);
  backend_of(wc).embedding_forward(wc, idc, out);
  autograd::record("embedding", {weight}, {out}, [idc, wshape = weight.shape()](const autograd::Grads& g,
                                                                             const autograd::Needs&) {
    Tensor dw = empty_like(g[0], wshape);
    backend_of(dw).embedding_backward(idc, contiguous(g[0]), dw);
    return autograd::Grads{dw};
  });
  return out;
}

Tensor rms_norm(const Tensor& x, const Tensor& weight, double eps) {
  check_floating("rms_norm", x);
  SSM_USER_CHECK(x.dim() >= 1 && x.size(-1) > 0, "rms_norm: x must be (..., C) with C >= 1, got ",
                 shape_str(x.shape()));
  check_shape("rms_norm", "weight", weight, {x.size(-1)});
  check_compatible("rms_norm", x, weight);
  Tensor xc = contiguous(x.detach()), wc = contiguous(weight.detach());
  Tensor y = empty_like(xc), rstd = empty_like(xc, {x.numel() / x.size(-1)});
  backend_of(x).rms_norm_forward(xc, wc, eps, y, rstd);
  autograd::record("rms_norm", {x, weight}, {y}, [xc, wc, rstd](const autograd::Grads& g, const autograd::Needs&) {
    Tensor dx = empty_like(xc), dw = empty_like(wc);
    backend_of(xc).rms_norm_backward(xc, wc, rstd, contiguous(g[0]), dx, dw);
    return autograd::Grads{dx, dw};
  });
  return y;
}

Tensor gated_rms_norm(const Tensor& x, const Tensor& z, const Tensor& weight, double eps, int64_t group_size) {
  check_floating("gated_rms_norm", x);
  SSM_USER_CHECK(x.dim() >= 1 && x.size(-1) > 0, "gated_rms_norm: x must be (..., C) with C >= 1, got ",
                 shape_str(x.shape()));
  check_shape("gated_rms_norm", "z", z, x.shape());
  check_shape("gated_rms_norm", "weight", weight, {x.size(-1)});
  SSM_USER_CHECK(group_size > 0 && x.size(-1) % group_size == 0, "gated_rms_norm: group size ", group_size,
                 " does not divide ", x.size(-1), " channels");
  check_compatible("gated_rms_norm", x, z);
  check_compatible("gated_rms_norm", x, weight);
  Tensor xc = contiguous(x.detach()), zc = contiguous(z.detach()), wc = contiguous(weight.detach());
  Tensor y = empty_like(xc), rstd = empty_like(xc, {x.numel() / group_size});
  backend_of(x).gated_rms_norm_forward(xc, zc, wc, eps, group_size, y, rstd);
  autograd::record("gated_rms_norm", {x, z, weight}, {y},
                   [xc, zc, wc, rstd, group_size](const autograd::Grads& g, const autograd::Needs&) {
                     Tensor dx = empty_like(xc), dz = empty_like(zc), dw = empty_like(wc);
                     backend_of(xc).gated_rms_norm_backward(xc, zc, wc, rstd, group_size, contiguous(g[0]), dx, dz, dw);
                     return autograd::Grads{dx, dz, dw};
                   });
  return y;
}

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  check_floating("layer_norm", x);
  SSM_USER_CHECK(x.dim() >= 1 && x.size(-1) > 0, "layer_norm: x must be (..., C) with C >= 1, got ",
                 shape_str(x.shape()));
  check_shape("layer_norm", "weight", weight, {x.size(-1)});
  check_shape("layer_norm", "bias", bias, {x.size(-1)});
  check_compatible("layer_norm", x, weight);
  check_compatible("layer_norm", x, bias);
  Tensor xc = contiguous(x.detach()), wc = contiguous(weight.detach()), bc = contiguous(bias.detach());
  const int64_t R = x.numel() / x.size(-1);
  Tensor y = empty_like(xc), mean = empty_like(xc, {R}), rstd = empty_like(xc, {R});
  backend_of(x).layer_norm_forward(xc, wc, bc, eps, y, mean, rstd);
  autograd::record("layer_norm", {x, weight, bias}, {y},
                   [xc, wc, mean, rstd](const autograd::Grads& g, const autograd::Needs&) {
                     Tensor dx = empty_like(xc), dw = empty_like(wc), db = empty_like(wc);
                     backend_of(xc).layer_norm_backward(xc, wc, mean, rstd, contiguous(g[0]), dx, dw, db);
                     return autograd::Grads{dx, dw, db};
                   });
  return y;
}

Tensor group_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t groups, double eps) {
  check_floating("group_norm", x);
  SSM_USER_CHECK(x.dim() >= 1 && groups > 0 && x.size(-1) % groups == 0, "group_norm: ", groups,
                 " groups do not divide the last dim of ", shape_str(x.shape()));
  check_shape("group_norm", "weight", weight, {x.size(-1)});
  check_shape("group_norm", "bias", bias, {x.size(-1)});
  // A LayerNorm over (..., groups, C/groups) without affine, then the per-channel affine: the
  // existing LayerNorm kernels (and their backward) do all the work.
  const int64_t per_group = x.size(-1) / groups;
  Shape grouped = x.shape();
  grouped.back() = groups;
  grouped.push_back(per_group);
  Tensor ones = Tensor::full({per_group}, 1.0, x.dtype(), x.device());
  Tensor zeros = Tensor::zeros({per_group}, x.dtype(), x.device());
  Tensor normed = reshape(layer_norm(reshape(x, grouped), ones, zeros, eps), x.shape());
  return normed * weight + bias;
}

ConvResult causal_conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& state,
                         ConvActivation activation) {
  check_floating("causal_conv1d", x);
  SSM_USER_CHECK(x.dim() == 3, "causal_conv1d: x must be (B, T, C), got ", shape_str(x.shape()));
  const int64_t B = x.size(0), T = x.size(1), C = x.size(2);
  SSM_USER_CHECK(weight.dim() == 2 && weight.size(0) == C && weight.size(1) >= 1, "causal_conv1d: weight must be (",
                 C, ", W), got ", shape_str(weight.shape()));
  const int64_t W = weight.size(1);
  if (bias.defined()) check_shape("causal_conv1d", "bias", bias, {C});
  check_compatible("causal_conv1d", x, weight);
  if (bias.defined()) check_compatible("causal_conv1d", x, bias);
  if (state.defined()) check_shape("causal_conv1d", "state", state, {B, W - 1, C});
  if (state.defined()) check_compatible("causal_conv1d", x, state);
  Tensor xc = contiguous(x.detach()), wc = contiguous(weight.detach());
  Tensor bc = bias.defined() ? contiguous(bias.detach()) : Tensor();
  Tensor sc = state.defined() ? contiguous(state.detach()) : Tensor();
  Tensor y = empty_like(xc, {B, T, C}), state_out = empty_like(xc, {B, W - 1, C});
  backend_of(x).conv1d_forward(xc, wc, bc, sc, activation, y, state_out);
  autograd::record("causal_conv1d", {x, weight, bias, state}, {y, state_out},
                   [xc, wc, bc, sc, activation](const autograd::Grads& g, const autograd::Needs& need) {
                     Tensor dx = empty_like(xc), dw = empty_like(wc);
                     Tensor db = need[2] ? empty_like(bc) : Tensor();
                     Tensor ds = need[3] ? empty_like(sc) : Tensor();
                     backend_of(xc).conv1d_backward(xc, wc, bc, sc, activation, contiguous(g[0]), contiguous(g[1]),
                                                    dx, dw, db, ds);
                     return autograd::Grads{dx, dw, db, ds};
                   });
  return {y, state_out};
}

}  // namespace ssm::ops
