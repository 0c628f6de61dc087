// ops/scan/ssd_cpu.cpp — CpuBackend's SSD entry points: chunk == 0 runs the recurrence (f32: the
// fused kernel; f64: the reference, the definition), chunk > 0 the chunked algorithm (f32: with
// GEMMs; f64: the reference loops); all unwrap the tensors into raw pointers.
#include <type_traits>

#include "ops/cpu/cpu_backend.h"
#include "ops/scan/ssd_cpu.h"

namespace ssm {
void CpuBackend::ssd_forward(const SsdShape& s, int64_t chunk, const Tensor& x, const Tensor& dt, const Tensor& A,
                             const Tensor& Bm, const Tensor& Cm, const Tensor& h0, const Tensor& y,
                             const Tensor& hT) {
  dispatch_floating(x.dtype(), "ssd_forward", [&]<typename T>() {
    if constexpr (std::is_same_v<T, float>) {
      if (chunk > 0) {
        cpu::ssd_chunked_gemm_forward(s, chunk, x.data<T>(), dt.data<T>(), A.data<T>(), Bm.data<T>(), Cm.data<T>(),
                                      ptr_or_null<T>(h0), y.data<T>(), hT.data<T>());
        return;
      }
    }
    if (chunk > 0) {
      cpu::ssd_chunked_forward<T>(s, chunk, x.data<T>(), dt.data<T>(), A.data<T>(), Bm.data<T>(), Cm.data<T>(),
                                  ptr_or_null<T>(h0), y.data<T>(), hT.data<T>());
      return;
    }
    if constexpr (std::is_same_v<T, float>) {
      cpu::ssd_fused_recurrent_forward(s, x.data<T>(), dt.data<T>(), A.data<T>(), Bm.data<T>(), Cm.data<T>(),
                                       ptr_or_null<T>(h0), y.data<T>(), hT.data<T>());
      return;
    }
    cpu::ssd_recurrent_forward<T>(s, x.data<T>(), dt.data<T>(), A.data<T>(), Bm.data<T>(), Cm.data<T>(),
                                  ptr_or_null<T>(h0), y.data<T>(), hT.data<T>());
  });
}

void CpuBackend::ssd_backward(const SsdShape& s, int64_t chunk, const Tensor& x, const Tensor& dt, const Tensor& A,
                              const Tensor& Bm, const Tensor& Cm, const Tensor& h0, const Tensor& dy,
                              const Tensor& dhT, const Tensor& dx, const Tensor& ddt, const Tensor& dA,
                              const Tensor& dB, const Tensor& dC, const Tensor& dh0) {
  dispatch_floating(x.dtype(), "ssd_backward", [&]<typename T>() {
    if constexpr (std::is_same_v<T, float>) {
      if (chunk > 0) {
        cpu::ssd_chunked_gemm_backward(s, chunk, x.data<T>(), dt.data<T>(), A.data<T>(), Bm.data<T>(), Cm.data<T>(),
                                       ptr_or_null<T>(h0), dy.data<T>(), ptr_or_null<T>(dhT), dx.data<T>(),
                                       ddt.data<T>(), dA.data<T>(), dB.data<T>(), dC.data<T>(), mut_or_null<T>(dh0));
        return;
      }
    }
    if (chunk > 0) {
      cpu::ssd_chunked_backward<T>(s, chunk, x.data<T>(), dt.data<T>(), A.data<T>(), Bm.data<T>(), Cm.data<T>(),
                                   ptr_or_null<T>(h0), dy.data<T>(), ptr_or_null<T>(dhT), dx.data<T>(),
                                   ddt.data<T>(), dA.data<T>(), dB.data<T>(), dC.data<T>(), mut_or_null<T>(dh0));
      return;
    }
    if constexpr (std::is_same_v<T, float>) {
      cpu::ssd_fused_recurrent_backward(s, x.data<T>(), dt.data<T>(), A.data<T>(), Bm.data<T>(), Cm.data<T>(),
                                        ptr_or_null<T>(h0), dy.data<T>(), ptr_or_null<T>(dhT), dx.data<T>(),
                                        ddt.data<T>(), dA.data<T>(), dB.data<T>(), dC.data<T>(), mut_or_null<T>(dh0));
      return;
    }
    cpu::ssd_recurrent_backward<T>(s, x.data<T>(), dt.data<T>(), A.data<T>(), Bm.data<T>(), Cm.data<T>(),
                                   ptr_or_null<T>(h0), dy.data<T>(), ptr_or_null<T>(dhT), dx.data<T>(),
                                   ddt.data<T>(), dA.data<T>(), dB.data<T>(), dC.data<T>(), mut_or_null<T>(dh0));
  });
}

}  // namespace ssm
