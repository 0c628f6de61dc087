// ops/scan/selective_scan.cpp — the selective scan op: shape checks, the backend call, and one
// autograd node with two outputs (y and the final state), so gradients flow through a carried
// state too.
#include "ops/scan/selective_scan.h"

#include "autograd/function.h"  // defines: record
#include "ops/op_util.h"        // defines: check_shape, check_compatible, backend_of, empty_like
#include "ops/ops.h"            // defines: contiguous

namespace ssm::ops {

SelectiveScanResult selective_scan(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& Bm,
                                   const Tensor& Cm, const Tensor& initial_state, ScanImpl impl,
                                   int64_t chunk_size) {
  const char* op = "selective_scan";
  check_floating(op, x, "x");
  SSM_USER_CHECK(x.dim() == 3, op, ": x must be (B, T, E), got ", shape_str(x.shape()));
  const int64_t B = x.size(0), T = x.size(1), E = x.size(2);
  SSM_USER_CHECK(A.defined() && A.dim() == 2 && A.size(0) == E, op, ": A must be (", E, ", N), got ",
                 A.defined() ? shape_str(A.shape()) : "undefined");
  const int64_t N = A.size(1);
  SSM_USER_CHECK(dt.defined() && Bm.defined() && Cm.defined(), op, ": dt, B and C must all be given");
  check_shape(op, "dt", dt, {B, T, E});
  check_shape(op, "B", Bm, {B, T, N});
  check_shape(op, "C", Cm, {B, T, N});
  SSM_USER_CHECK(impl == ScanImpl::recurrent || chunk_size > 0, op, ": chunk_size must be positive, got ",
                 chunk_size);
  for (const Tensor* t : {&dt, &A, &Bm, &Cm}) check_compatible(op, x, *t);
  if (initial_state.defined()) {
    check_shape(op, "initial_state", initial_state, {B, E, N});
    check_compatible(op, x, initial_state);
  }
  const SelectiveScanShape shape{B, T, E, N};
  const int64_t chunk = impl == ScanImpl::recurrent ? 0 : chunk_size;
  Tensor xc = contiguous(x.detach()), dtc = contiguous(dt.detach()), Ac = contiguous(A.detach());
  Tensor Bc = contiguous(Bm.detach()), Cc = contiguous(Cm.detach());
  Tensor h0 = initial_state.defined() ? contiguous(initial_state.detach()) : Tensor();
  Tensor y = empty_like(x, {B, T, E});
  Tensor hT = empty_like(x, {B, E, N});
  backend_of(x).selective_scan_forward(shape, chunk, xc, dtc, Ac, Bc, Cc, h0, y, hT);

  autograd::record(op, {x, dt, A, Bm, Cm, initial_state}, {y, hT},
                   [=](const autograd::Grads& g, const autograd::Needs& need) {
                     Tensor dx = empty_like(xc), ddt = empty_like(dtc), dA = empty_like(Ac);
                     Tensor dB = empty_like(Bc), dC = empty_like(Cc);
                     Tensor dh0 = need[5] ? empty_like(h0) : Tensor();
                     backend_of(xc).selective_scan_backward(shape, chunk, xc, dtc, Ac, Bc, Cc, h0,
                                                            contiguous(g[0]), contiguous(g[1]), dx, ddt, dA,
                                                            dB, dC, dh0);
                     return autograd::Grads{dx, ddt, dA, dB, dC, dh0};
                   });
  return {y, hT};
}

}  // namespace ssm::ops
