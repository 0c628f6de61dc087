// ops/scan/selective_scan.h — PLACEHOLDER until the selective-scan op lands (same API).
#pragma once

#include "core/tensor.h"   // defines: Tensor
#include "ops/scan/ssd.h"  // defines: ScanImpl

namespace ssm::ops {

struct SelectiveScanResult {
  Tensor y;
  Tensor final_state;
};

SelectiveScanResult selective_scan(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& Bm,
                                   const Tensor& Cm, const Tensor& initial_state = Tensor(),
                                   ScanImpl impl = ScanImpl::chunked, int64_t chunk_size = 64);

}  // namespace ssm::ops
