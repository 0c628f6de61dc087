// ops/cpu/strided.h — walking strided inputs in the row-major order of a contiguous output.
//
// for_each_strided(shape, {strides of input 0, input 1, ...}, fn) calls fn(i, offsets) for each
// output index i, where offsets[k] is input k's element offset. The innermost dim is a plain
// loop; the outer dims advance like an odometer. Used by elementwise kernels and copies.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "core/tensor.h"  // defines: Shape

namespace ssm::cpu {

template <size_t K, typename Fn>
void for_each_strided(const Shape& shape, const std::array<const Shape*, K>& strides,
                      const std::array<int64_t, K>& base, Fn&& fn) {
  const int64_t n = shape_numel(shape);
  if (n == 0) return;
  const int64_t nd = static_cast<int64_t>(shape.size());
  if (nd == 0) {
    fn(int64_t{0}, base);
    return;
  }
  const int64_t inner = shape[nd - 1];
  std::array<int64_t, K> inner_stride;
  for (size_t k = 0; k < K; ++k) inner_stride[k] = (*strides[k])[nd - 1];
  std::vector<int64_t> idx(nd, 0);
  std::array<int64_t, K> off = base;
  for (int64_t i = 0; i < n; i += inner) {
    std::array<int64_t, K> o = off;
    for (int64_t j = 0; j < inner; ++j) {
      fn(i + j, o);
      for (size_t k = 0; k < K; ++k) o[k] += inner_stride[k];
    }
    for (int64_t d = nd - 2; d >= 0; --d) {  // advance the outer dims
      if (++idx[d] < shape[d]) {
        for (size_t k = 0; k < K; ++k) off[k] += (*strides[k])[d];
        break;
      }
      for (size_t k = 0; k < K; ++k) off[k] -= (*strides[k])[d] * (shape[d] - 1);
      idx[d] = 0;
    }
  }
}

}  // namespace ssm::cpu
