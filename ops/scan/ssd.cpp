// ops/scan/ssd.cpp — the SSD op: shape checks, the backend call, and one autograd node with two
// outputs (y and the final state), so gradients flow through a carried state too.
#include "ops/scan/ssd.h"

#include "autograd/function.h"  // defines: record
#include "ops/op_util.h"
#include "ops/ops.h"

namespace ssm::ops {

SsdResult ssd(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& Bm, const Tensor& Cm,
              const Tensor& initial_state, ScanImpl impl, int64_t chunk_size) {
  check_floating("ssd", x, "x");
  SSM_USER_CHECK(x.dim() == 4, "ssd: x must be (B, T, H, P), got ", shape_str(x.shape()));
  const int64_t B = x.size(0), T = x.size(1), H = x.size(2), P = x.size(3);
  SSM_USER_CHECK(Bm.dim() == 4 && Bm.size(0) == B && Bm.size(1) == T, "ssd: B must be (", B, ", ", T,
                 ", G, N), got ", shape_str(Bm.shape()));
  const int64_t G = Bm.size(2), N = Bm.size(3);
  check_shape("ssd", "dt", dt, {B, T, H});
  check_shape("ssd", "A", A, {H});
  check_shape("ssd", "C", Cm, {B, T, G, N});
  SSM_USER_CHECK(G > 0 && H % G == 0, "ssd: ", H, " heads do not split into ", G, " groups");
  SSM_USER_CHECK(impl == ScanImpl::recurrent || chunk_size > 0, "ssd: chunk_size must be positive, got ", chunk_size);
  for (const Tensor* t : {&dt, &A, &Bm, &Cm}) check_compatible("ssd", x, *t);
  if (initial_state.defined()) {
    check_shape("ssd", "initial_state", initial_state, {B, H, P, N});
    check_compatible("ssd", x, initial_state);
  }
  const SsdShape shape{B, T, H, P, G, N};
  const int64_t chunk = impl == ScanImpl::recurrent ? 0 : chunk_size;
  Tensor xc = contiguous(x.detach()), dtc = contiguous(dt.detach()), Ac = contiguous(A.detach());
  Tensor Bc = contiguous(Bm.detach()), Cc = contiguous(Cm.detach());
  Tensor h0 = initial_state.defined() ? contiguous(initial_state.detach()) : Tensor();
  Tensor y = empty_like(x, {B, T, H, P});
  Tensor hT = empty_like(x, {B, H, P, N});
  backend_of(x).ssd_forward(shape, chunk, xc, dtc, Ac, Bc, Cc, h0, y, hT);

  autograd::record("ssd", {x, dt, A, Bm, Cm, initial_state}, {y, hT},
                   [=](const autograd::Grads& g, const autograd::Needs& need) {
                     Tensor dx = empty_like(xc), ddt = empty_like(dtc), dA = empty_like(Ac);
                     Tensor dB = empty_like(Bc), dC = empty_like(Cc);
                     Tensor dh0 = need[5] ? empty_like(h0) : Tensor();
                     backend_of(xc).ssd_backward(shape, chunk, xc, dtc, Ac, Bc, Cc, h0, contiguous(g[0]),
                                                 contiguous(g[1]), dx, ddt, dA, dB, dC, dh0);
                     return autograd::Grads{dx, ddt, dA, dB, dC, dh0};
                   });
  return {y, hT};
}

}  // namespace ssm::ops
