// ops/scan/gla_cpu.cpp — CpuBackend's gated-linear-attention entry points: chunk == 0 runs the
// recurrent reference, chunk > 0 the chunked algorithm; both unwrap the tensors into raw pointers.
#include "ops/cpu/cpu_backend.h"  // defines: CpuBackend, dispatch_floating
#include "ops/scan/gla_cpu.h"     // defines: gla_recurrent_*, gla_chunked_*

namespace ssm {
void CpuBackend::gla_forward(const GlaShape& s, int64_t chunk, bool bonus, const Tensor& q, const Tensor& k,
                             const Tensor& v, const Tensor& g, const Tensor& u, const Tensor& h0, const Tensor& o,
                             const Tensor& hT) {
  dispatch_floating(q.dtype(), "gla_forward", [&]<typename T>() {
    if (chunk > 0) {
      cpu::gla_chunked_forward<T>(s, chunk, bonus, q.data<T>(), k.data<T>(), v.data<T>(), g.data<T>(),
                                  ptr_or_null<T>(u), ptr_or_null<T>(h0), o.data<T>(), hT.data<T>());
      return;
    }
    cpu::gla_recurrent_forward<T>(s, bonus, q.data<T>(), k.data<T>(), v.data<T>(), g.data<T>(), ptr_or_null<T>(u),
                                  ptr_or_null<T>(h0), o.data<T>(), hT.data<T>());
  });
}

void CpuBackend::gla_backward(const GlaShape& s, int64_t chunk, bool bonus, const Tensor& q, const Tensor& k,
                              const Tensor& v, const Tensor& g, const Tensor& u, const Tensor& h0,
                              const Tensor& dout, const Tensor& dhT, const Tensor& dq, const Tensor& dk,
                              const Tensor& dv, const Tensor& dg, const Tensor& du, const Tensor& dh0) {
  dispatch_floating(q.dtype(), "gla_backward", [&]<typename T>() {
    if (chunk > 0) {
      cpu::gla_chunked_backward<T>(s, chunk, bonus, q.data<T>(), k.data<T>(), v.data<T>(), g.data<T>(),
                                   ptr_or_null<T>(u), ptr_or_null<T>(h0), dout.data<T>(), ptr_or_null<T>(dhT),
                                   dq.data<T>(), dk.data<T>(), dv.data<T>(), dg.data<T>(), mut_or_null<T>(du),
                                   mut_or_null<T>(dh0));
      return;
    }
    cpu::gla_recurrent_backward<T>(s, bonus, q.data<T>(), k.data<T>(), v.data<T>(), g.data<T>(), ptr_or_null<T>(u),
                                   ptr_or_null<T>(h0), dout.data<T>(), ptr_or_null<T>(dhT), dq.data<T>(),
                                   dk.data<T>(), dv.data<T>(), dg.data<T>(), mut_or_null<T>(du),
                                   mut_or_null<T>(dh0));
  });
}

}  // namespace ssm
