// ops/scan/gla.cpp — the gated-linear-attention op: shape, dtype and device checks, the backend
// call, and one autograd node with two outputs (o and the final state), so gradients flow through
// a carried state too. The kernels live in ops/scan/gla_cpu*.cpp (CPU).
#include "ops/scan/gla.h"

#include "autograd/function.h"  // defines: record
#include "ops/op_util.h"        // defines: check_floating, check_shape, check_compatible, empty_like, backend_of
#include "ops/ops.h"            // defines: contiguous

namespace ssm::ops {

GlaResult gla(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& u,
              const Tensor& initial_state, GlaReadout readout, ScanImpl impl, int64_t chunk_size) {
  check_floating("gla", q, "q");
  SSM_USER_CHECK(q.dim() == 4, "gla: q must be (B, T, H, K), got ", shape_str(q.shape()));
  const int64_t B = q.size(0), T = q.size(1), H = q.size(2), K = q.size(3);
  SSM_USER_CHECK(k.defined() && v.defined() && g.defined(), "gla: k, v and g must be given");
  check_shape("gla", "k", k, {B, T, H, K});
  check_shape("gla", "g", g, {B, T, H, K});
  SSM_USER_CHECK(v.dim() == 4 && v.size(0) == B && v.size(1) == T && v.size(2) == H, "gla: v must be (", B, ", ",
                 T, ", ", H, ", V), got ", shape_str(v.shape()));
  const int64_t V = v.size(3);
  const bool bonus = readout == GlaReadout::pre_update_bonus;
  if (bonus) {
    SSM_USER_CHECK(u.defined(), "gla: u (H, K) = (", H, ", ", K, ") must be given for the pre_update_bonus readout");
    check_shape("gla", "u", u, {H, K});
  } else {
    SSM_USER_CHECK(!u.defined(), "gla: u must be undefined for the post_update readout, got ", shape_str(u.shape()));
  }
  SSM_USER_CHECK(impl == ScanImpl::recurrent || chunk_size > 0, "gla: chunk_size must be positive, got ", chunk_size);
  for (const Tensor* t : {&k, &v, &g}) check_compatible("gla", q, *t);
  if (bonus) check_compatible("gla", q, u);
  if (initial_state.defined()) {
    check_shape("gla", "initial_state", initial_state, {B, H, K, V});
    check_compatible("gla", q, initial_state);
  }

  const GlaShape shape{B, T, H, K, V};
  const int64_t chunk = impl == ScanImpl::recurrent ? 0 : chunk_size;
  Tensor qc = contiguous(q.detach()), kc = contiguous(k.detach()), vc = contiguous(v.detach());
  Tensor gc = contiguous(g.detach());
  Tensor uc = bonus ? contiguous(u.detach()) : Tensor();
  Tensor h0 = initial_state.defined() ? contiguous(initial_state.detach()) : Tensor();
  Tensor o = empty_like(q, {B, T, H, V});
  Tensor hT = empty_like(q, {B, H, K, V});
  backend_of(q).gla_forward(shape, chunk, bonus, qc, kc, vc, gc, uc, h0, o, hT);

  autograd::record("gla", {q, k, v, g, u, initial_state}, {o, hT},
                   [=](const autograd::Grads& grads, const autograd::Needs& need) {
                     Tensor dq = empty_like(qc), dk = empty_like(kc), dv = empty_like(vc), dg = empty_like(gc);
                     Tensor du = bonus ? empty_like(uc) : Tensor();
                     Tensor dh0 = need[5] ? empty_like(qc, {B, H, K, V}) : Tensor();
                     backend_of(qc).gla_backward(shape, chunk, bonus, qc, kc, vc, gc, uc, h0, contiguous(grads[0]),
                                                 contiguous(grads[1]), dq, dk, dv, dg, du, dh0);
                     return autograd::Grads{dq, dk, dv, dg, du, dh0};
                   });
  return {o, hT};
}

}  // namespace ssm::ops
