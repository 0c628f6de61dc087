// ops/cpu/reduce.cpp — summing over broadcast dims, running sums, and max over one dim with its
// argmax.
#include "ops/cpu/cpu_backend.h"
#include "ops/cpu/strided.h"  // defines: for_each_strided

namespace ssm {

void CpuBackend::sum_to(const Tensor& x, const Tensor& out) {
  // Walk x in order; each element adds into out at its index with reduced dims pinned to 0
  // (out viewed with stride 0 along them). Accumulate in double for f32 too: sums of long
  // sequences of gradients lose digits otherwise.
  Shape out_strides = out.strides();
  for (size_t d = 0; d < out_strides.size(); ++d) {
    if (out.shape()[d] == 1) out_strides[d] = 0;
  }
  dispatch_floating(x.dtype(), "sum_to", [&]<typename T>() {
    const T* px = static_cast<const T*>(x.impl()->storage->data.get());
    std::vector<double> acc(out.numel(), 0.0);
    cpu::for_each_strided<2>(x.shape(), {&x.strides(), &out_strides}, {x.offset(), int64_t{0}},
                             [&](int64_t, const std::array<int64_t, 2>& o) { acc[o[1]] += px[o[0]]; });
    T* po = out.data<T>();
    for (int64_t i = 0; i < out.numel(); ++i) po[i] = static_cast<T>(acc[i]);
  });
}

namespace {
// x viewed as (outer, n, inner) around dim.
void split_around(const Shape& shape, int64_t dim, int64_t& outer, int64_t& n, int64_t& inner) {
  outer = 1;
  inner = 1;
  for (int64_t i = 0; i < dim; ++i) outer *= shape[i];
  for (size_t i = dim + 1; i < shape.size(); ++i) inner *= shape[i];
  n = shape[dim];
}
}  // namespace

void CpuBackend::max_dim(const Tensor& x, int64_t dim, const Tensor& values, const Tensor& indices) {
  int64_t outer, n, inner;
  split_around(x.shape(), dim, outer, n, inner);
  dispatch_floating(x.dtype(), "max_dim", [&]<typename T>() {
    const T* px = x.data<T>();
    T* pv = values.data<T>();
    int64_t* pi = indices.data<int64_t>();
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        int64_t best = 0;
        for (int64_t j = 1; j < n; ++j) {
          if (px[(o * n + j) * inner + i] > px[(o * n + best) * inner + i]) best = j;
        }
        pv[o * inner + i] = px[(o * n + best) * inner + i];
        pi[o * inner + i] = best;
      }
    }
  });
}

void CpuBackend::max_dim_backward(const Tensor& dy, const Tensor& indices, int64_t dim, const Tensor& dx) {
  int64_t outer, n, inner;
  split_around(dx.shape(), dim, outer, n, inner);
  dispatch_floating(dx.dtype(), "max_dim_backward", [&]<typename T>() {
    T* pdx = dx.data<T>();
    const T* pdy = dy.data<T>();
    const int64_t* pi = indices.data<int64_t>();
    std::fill(pdx, pdx + dx.numel(), T(0));
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) pdx[(o * n + pi[o * inner + i]) * inner + i] = pdy[o * inner + i];
    }
  });
}

void CpuBackend::cumsum(const Tensor& x, int64_t dim, bool reverse, const Tensor& out) {
  int64_t outer, n, inner;
  split_around(x.shape(), dim, outer, n, inner);
  dispatch_floating(x.dtype(), "cumsum", [&]<typename T>() {
    const T* px = x.data<T>();
    T* po = out.data<T>();
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        double running = 0;  // a double accumulator: long running sums would drift in f32
        for (int64_t step = 0; step < n; ++step) {
          const int64_t j = reverse ? n - 1 - step : step;
          running += px[(o * n + j) * inner + i];
          po[(o * n + j) * inner + i] = static_cast<T>(running);
        }
      }
    }
  });
}

}  // namespace ssm
