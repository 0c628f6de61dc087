// TEMPORARY placeholder: delete each definition as the real one lands (never commit).
#include "ops/cpu/cpu_backend.h"
#include "ops/ops.h"
#include "ops/scan/ssd.h"
namespace ssm {
void CpuBackend::ssd_forward(const SsdShape& s, int64_t chunk, const Tensor& x, const Tensor& dt, const Tensor& A,
                   const Tensor& Bm, const Tensor& Cm, const Tensor& h0, const Tensor& y,
                   const Tensor& hT) { throw Error("ssd_forward: not implemented yet"); }
void CpuBackend::ssd_backward(const SsdShape& s, int64_t chunk, const Tensor& x, const Tensor& dt, const Tensor& A,
                    const Tensor& Bm, const Tensor& Cm, const Tensor& h0, const Tensor& dy,
                    const Tensor& dhT, const Tensor& dx, const Tensor& ddt, const Tensor& dA,
                    const Tensor& dB, const Tensor& dC, const Tensor& dh0) { throw Error("ssd_backward: not implemented yet"); }
}  // namespace ssm
namespace ssm::ops {
SsdResult ssd(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, ScanImpl, int64_t) { throw Error("ssd: pending"); }
}
