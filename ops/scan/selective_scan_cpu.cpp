// ops/scan/selective_scan_cpu.cpp — CpuBackend's selective-scan entry points (chunk == 0 runs the
// recurrent reference, chunk > 0 the chunked algorithm; both unwrap the tensors into raw
// pointers) and the fixed-order reduction of the backward's shared gradient sums.
#include <algorithm>

#include "ops/cpu/cpu_backend.h"           // defines: CpuBackend, dispatch_floating
#include "ops/scan/selective_scan_cpu.h"  // defines: selective_scan_*_forward/backward, SelectiveScanGradSums

namespace ssm {
void CpuBackend::selective_scan_forward(const SelectiveScanShape& s, int64_t chunk, const Tensor& x,
                                        const Tensor& dt, const Tensor& A, const Tensor& Bm, const Tensor& Cm,
                                        const Tensor& h0, const Tensor& y, const Tensor& hT) {
  dispatch_floating(x.dtype(), "selective_scan_forward", [&]<typename T>() {
    if (chunk > 0) {
      cpu::selective_scan_chunked_forward<T>(s, chunk, x.data<T>(), dt.data<T>(), A.data<T>(), Bm.data<T>(),
                                             Cm.data<T>(), ptr_or_null<T>(h0), y.data<T>(), hT.data<T>());
      return;
    }
    cpu::selective_scan_recurrent_forward<T>(s, x.data<T>(), dt.data<T>(), A.data<T>(), Bm.data<T>(),
                                             Cm.data<T>(), ptr_or_null<T>(h0), y.data<T>(), hT.data<T>());
  });
}

void CpuBackend::selective_scan_backward(const SelectiveScanShape& s, int64_t chunk, const Tensor& x,
                                         const Tensor& dt, const Tensor& A, const Tensor& Bm, const Tensor& Cm,
                                         const Tensor& h0, const Tensor& dy, const Tensor& dhT, const Tensor& dx,
                                         const Tensor& ddt, const Tensor& dA, const Tensor& dB, const Tensor& dC,
                                         const Tensor& dh0) {
  dispatch_floating(x.dtype(), "selective_scan_backward", [&]<typename T>() {
    if (chunk > 0) {
      cpu::selective_scan_chunked_backward<T>(s, chunk, x.data<T>(), dt.data<T>(), A.data<T>(), Bm.data<T>(),
                                              Cm.data<T>(), ptr_or_null<T>(h0), dy.data<T>(), ptr_or_null<T>(dhT),
                                              dx.data<T>(), ddt.data<T>(), dA.data<T>(), dB.data<T>(),
                                              dC.data<T>(), mut_or_null<T>(dh0));
      return;
    }
    cpu::selective_scan_recurrent_backward<T>(s, x.data<T>(), dt.data<T>(), A.data<T>(), Bm.data<T>(),
                                              Cm.data<T>(), ptr_or_null<T>(h0), dy.data<T>(), ptr_or_null<T>(dhT),
                                              dx.data<T>(), ddt.data<T>(), dA.data<T>(), dB.data<T>(),
                                              dC.data<T>(), mut_or_null<T>(dh0));
  });
}

namespace cpu {

// At most 16 blocks: enough jobs to fill the cores with a single batch row, while the partial
// dB/dC buffers stay at 16 copies of (B,T,N).
constexpr int64_t kMaxChannelBlocks = 16;

SelectiveScanGradSums::SelectiveScanGradSums(const SelectiveScanShape& s)
    : batch_(s.batch), T_(s.seqlen), E_(s.channels), N_(s.dstate) {
  block_size_ = std::max<int64_t>(1, (E_ + kMaxChannelBlocks - 1) / kMaxChannelBlocks);
  blocks_ = (E_ + block_size_ - 1) / block_size_;
  dA_.assign(batch_ * E_ * N_, 0.0);
  dB_.assign(batch_ * blocks_ * T_ * N_, 0.0);
  dC_.assign(dB_.size(), 0.0);
}

int64_t SelectiveScanGradSums::block_end(int64_t k) const { return std::min(E_, (k + 1) * block_size_); }

template <typename T>
void SelectiveScanGradSums::write(T* dA, T* dB, T* dC) const {
  const int64_t EN = E_ * N_, TN = T_ * N_;
#pragma omp parallel for schedule(static) if (worth_parallel(batch_ * EN))
  for (int64_t i = 0; i < EN; ++i) {
    double total = 0;
    for (int64_t b = 0; b < batch_; ++b) total += dA_[b * EN + i];
    dA[i] = static_cast<T>(total);
  }
#pragma omp parallel for collapse(2) schedule(static) if (worth_parallel(batch_ * blocks_ * TN))
  for (int64_t b = 0; b < batch_; ++b) {
    for (int64_t i = 0; i < TN; ++i) {
      double total_B = 0, total_C = 0;
      for (int64_t k = 0; k < blocks_; ++k) {
        total_B += dB_[(b * blocks_ + k) * TN + i];
        total_C += dC_[(b * blocks_ + k) * TN + i];
      }
      dB[b * TN + i] = static_cast<T>(total_B);
      dC[b * TN + i] = static_cast<T>(total_C);
    }
  }
}

template void SelectiveScanGradSums::write<float>(float*, float*, float*) const;
template void SelectiveScanGradSums::write<double>(double*, double*, double*) const;

}  // namespace cpu
}  // namespace ssm
