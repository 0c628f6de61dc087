// ops/cpu/rows.h — the row view the row-wise CPU kernels share (ops/cpu/layers.cpp,
// ops/cpu/norms.cpp): a tensor as (rows, last dim).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "core/tensor.h"  // defines: Tensor

namespace ssm::cpu {

inline int64_t last_dim(const Tensor& t) { return t.dim() == 0 ? 1 : t.size(-1); }
inline int64_t rows_of(const Tensor& t) { return t.numel() / std::max<int64_t>(last_dim(t), 1); }

}  // namespace ssm::cpu
