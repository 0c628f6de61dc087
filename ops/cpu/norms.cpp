// ops/cpu/norms.cpp — CPU kernels for RMSNorm, Mamba-2's gated RMSNorm and LayerNorm, forward and
// backward. Row-wise loops (per group of a row for the gated norm); statistics and the
// weight/bias gradient sums accumulate in double. Backward splits the rows into fixed blocks,
// each with its own partial weight gradient, summed in block order: parallel, and the same result
// for any thread count. The gate's sigmoid is computed in the tensor's type (f32: fast_exp).
#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "ops/cpu/cpu_backend.h"
#include "ops/cpu/fast_exp.h"  // defines: fast_exp
#include "ops/cpu/rows.h"      // defines: last_dim, rows_of
#include "ops/cpu/simd.h"      // defines: SSM_CPU_CLONES

namespace ssm {
namespace {

using cpu::last_dim;
using cpu::rows_of;

constexpr int64_t kRowBlock = 64;  // rows per backward job, and per partial weight gradient

// σ(z) in T: f32 through fast_exp (within a few ulp of the f64 value), f64 through exp.
template <typename T>
SSM_INLINE T sigmoid_of(T z) {
  if constexpr (std::is_same_v<T, float>) {
    return 1.0f / (1.0f + cpu::fast_exp(-z));
  } else {
    return 1.0 / (1.0 + std::exp(-z));
  }
}

// f32 rows of RMSNorm, vectorised: the element math in f32, the mean square, the dot product and
// the weight gradient in double lanes.
SSM_CPU_CLONES
float rms_row_forward_f32(const float* x, const float* w, float* y, int64_t n, double eps) {
  double ms = 0;
#pragma omp simd reduction(+ : ms)
  for (int64_t j = 0; j < n; ++j) ms += static_cast<double>(x[j]) * x[j];
  const float inv = static_cast<float>(1.0 / std::sqrt(ms / static_cast<double>(n) + eps));
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) y[j] = x[j] * inv * w[j];
  return inv;
}

SSM_CPU_CLONES
void rms_row_backward_f32(const float* x, const float* w, const float* dy, float inv, int64_t n, float* dx,
                          double* dw_acc) {
  double dot = 0;
#pragma omp simd reduction(+ : dot)
  for (int64_t j = 0; j < n; ++j) dot += static_cast<double>(w[j] * dy[j]) * x[j];
  const float coef = static_cast<float>(static_cast<double>(inv) * inv * inv / static_cast<double>(n) * dot);
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) {
    dx[j] = inv * w[j] * dy[j] - coef * x[j];
    dw_acc[j] += static_cast<double>(dy[j] * x[j] * inv);
  }
}

// f32 groups of the gated norm, vectorised: the element math in f32, the group's mean square and
// the weight-gradient sums in double lanes.
SSM_CPU_CLONES
float gated_group_forward_f32(const float* x, const float* z, const float* w, float* y, int64_t n, double eps) {
  double ms = 0;
#pragma omp simd reduction(+ : ms)
  for (int64_t j = 0; j < n; ++j) {
    const float g = x[j] * z[j] * sigmoid_of(z[j]);
    ms += static_cast<double>(g) * g;
  }
  const float inv = static_cast<float>(1.0 / std::sqrt(ms / static_cast<double>(n) + eps));
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) y[j] = x[j] * z[j] * sigmoid_of(z[j]) * inv * w[j];
  return inv;
}

SSM_CPU_CLONES
void gated_group_backward_f32(const float* x, const float* z, const float* w, const float* dy, float inv, int64_t n,
                              float* dx, float* dz, double* dw_acc) {
  double dot = 0;
#pragma omp simd reduction(+ : dot)
  for (int64_t j = 0; j < n; ++j) dot += static_cast<double>(w[j] * dy[j] * (x[j] * z[j] * sigmoid_of(z[j])));
  const float coef = static_cast<float>(static_cast<double>(inv) * inv * inv / static_cast<double>(n) * dot);
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) {
    const float sg = sigmoid_of(z[j]), silu = z[j] * sg, u = x[j] * silu;
    const float du = inv * w[j] * dy[j] - coef * u;
    dx[j] = du * silu;
    dz[j] = du * x[j] * sg * (1.0f + z[j] * (1.0f - sg));
    dw_acc[j] += static_cast<double>(dy[j] * u * inv);
  }
}

// Sums the per-block partials parts[block][c] in block order into out[c].
template <typename T>
void sum_blocks(const std::vector<double>& parts, int64_t blocks, int64_t C, T* out) {
  for (int64_t c = 0; c < C; ++c) {
    double total = 0;
    for (int64_t b = 0; b < blocks; ++b) total += parts[b * C + c];
    out[c] = static_cast<T>(total);
  }
}

}  // namespace

// ---- RMSNorm: y = x·r·w, r = (mean x² + eps)^-1/2 -------------------------------------------------
void CpuBackend::rms_norm_forward(const Tensor& x, const Tensor& w, double eps, const Tensor& y, const Tensor& rstd) {
  const int64_t R = rows_of(x), C = last_dim(x);
  dispatch_floating(x.dtype(), "rms_norm", [&]<typename T>() {
    const T *px = x.data<T>(), *pw = w.data<T>();
    T *py = y.data<T>(), *pr = rstd.data<T>();
#pragma omp parallel for schedule(static) if (worth_parallel(R * C))
    for (int64_t r = 0; r < R; ++r) {
      if constexpr (std::is_same_v<T, float>) {
        pr[r] = rms_row_forward_f32(px + r * C, pw, py + r * C, C, eps);
        continue;
      }
      double ms = 0;
      for (int64_t c = 0; c < C; ++c) ms += static_cast<double>(px[r * C + c]) * px[r * C + c];
      const double inv = 1.0 / std::sqrt(ms / C + eps);
      pr[r] = static_cast<T>(inv);
      for (int64_t c = 0; c < C; ++c) py[r * C + c] = static_cast<T>(px[r * C + c] * inv * pw[c]);
    }
  });
}

// dx = r·(w⊙dy) - (r³/C)·x·Σ(w⊙dy⊙x);  dw = Σ_rows dy⊙x·r
void CpuBackend::rms_norm_backward(const Tensor& x, const Tensor& w, const Tensor& rstd, const Tensor& dy,
                                   const Tensor& dx, const Tensor& dw) {
  const int64_t R = rows_of(x), C = last_dim(x);
  dispatch_floating(x.dtype(), "rms_norm_backward", [&]<typename T>() {
    const T *px = x.data<T>(), *pw = w.data<T>(), *pr = rstd.data<T>(), *pdy = dy.data<T>();
    T *pdx = dx.data<T>(), *pdw = dw.data<T>();
    const int64_t blocks = (R + kRowBlock - 1) / kRowBlock;
    std::vector<double> parts(blocks * C, 0.0);
#pragma omp parallel for schedule(static) if (worth_parallel(R * C))
    for (int64_t blk = 0; blk < blocks; ++blk) {
      double* dw_acc = parts.data() + blk * C;
      for (int64_t r = blk * kRowBlock; r < std::min(R, (blk + 1) * kRowBlock); ++r) {
        if constexpr (std::is_same_v<T, float>) {
          rms_row_backward_f32(px + r * C, pw, pdy + r * C, pr[r], C, pdx + r * C, dw_acc);
          continue;
        }
        const double inv = pr[r];
        double dot = 0;
        for (int64_t c = 0; c < C; ++c) dot += static_cast<double>(pw[c]) * pdy[r * C + c] * px[r * C + c];
        for (int64_t c = 0; c < C; ++c) {
          const int64_t i = r * C + c;
          pdx[i] = static_cast<T>(inv * pw[c] * pdy[i] - inv * inv * inv / C * px[i] * dot);
          dw_acc[c] += static_cast<double>(pdy[i]) * px[i] * inv;
        }
      }
    }
    sum_blocks(parts, blocks, C, pdw);
  });
}

// ---- gated RMSNorm (Mamba-2): y = RMSNorm(x ⊙ silu(z)) per group of `group` channels -----------
void CpuBackend::gated_rms_norm_forward(const Tensor& x, const Tensor& z, const Tensor& w, double eps, int64_t group,
                                        const Tensor& y, const Tensor& rstd) {
  const int64_t R = rows_of(x), C = last_dim(x), NG = C / group;
  dispatch_floating(x.dtype(), "gated_rms_norm", [&]<typename T>() {
    const T *px = x.data<T>(), *pz = z.data<T>(), *pw = w.data<T>();
    T *py = y.data<T>(), *pr = rstd.data<T>();
#pragma omp parallel for schedule(static) if (worth_parallel(R * C))
    for (int64_t r = 0; r < R; ++r) {
      if constexpr (std::is_same_v<T, float>) {
        for (int64_t k = 0; k < NG; ++k) {
          const int64_t at = r * C + k * group;
          pr[r * NG + k] = gated_group_forward_f32(px + at, pz + at, pw + k * group, py + at, group, eps);
        }
        continue;
      }
      for (int64_t k = 0; k < NG; ++k) {
        double ms = 0;
        for (int64_t c = k * group; c < (k + 1) * group; ++c) {
          const double g = px[r * C + c] * pz[r * C + c] * sigmoid_of(pz[r * C + c]);
          ms += g * g;
        }
        const double inv = 1.0 / std::sqrt(ms / group + eps);
        pr[r * NG + k] = static_cast<T>(inv);
        for (int64_t c = k * group; c < (k + 1) * group; ++c) {
          const double g = px[r * C + c] * pz[r * C + c] * sigmoid_of(pz[r * C + c]);
          py[r * C + c] = static_cast<T>(g * inv * pw[c]);
        }
      }
    }
  });
}

// With u = x⊙silu(z): du as in rms_norm_backward per group; dx = du⊙silu(z), dz = du⊙x⊙silu'(z).
void CpuBackend::gated_rms_norm_backward(const Tensor& x, const Tensor& z, const Tensor& w, const Tensor& rstd,
                                         int64_t group, const Tensor& dy, const Tensor& dx, const Tensor& dz,
                                         const Tensor& dw) {
  const int64_t R = rows_of(x), C = last_dim(x), NG = C / group;
  dispatch_floating(x.dtype(), "gated_rms_norm_backward", [&]<typename T>() {
    const T *px = x.data<T>(), *pz = z.data<T>(), *pw = w.data<T>(), *pr = rstd.data<T>(), *pdy = dy.data<T>();
    T *pdx = dx.data<T>(), *pdz = dz.data<T>(), *pdw = dw.data<T>();
    const int64_t blocks = (R + kRowBlock - 1) / kRowBlock;
    std::vector<double> parts(blocks * C, 0.0);
#pragma omp parallel for schedule(static) if (worth_parallel(R * C))
    for (int64_t blk = 0; blk < blocks; ++blk) {
      double* dw_acc = parts.data() + blk * C;
      std::vector<double> sg(group);  // σ(z) of the current group
      for (int64_t r = blk * kRowBlock; r < std::min(R, (blk + 1) * kRowBlock); ++r) {
        if constexpr (std::is_same_v<T, float>) {
          for (int64_t k = 0; k < NG; ++k) {
            const int64_t at = r * C + k * group;
            gated_group_backward_f32(px + at, pz + at, pw + k * group, pdy + at, pr[r * NG + k], group, pdx + at,
                                     pdz + at, dw_acc + k * group);
          }
          continue;
        }
        for (int64_t k = 0; k < NG; ++k) {
          const double inv = pr[r * NG + k];
          const int64_t c0 = k * group;
          double dot = 0;
          for (int64_t j = 0; j < group; ++j) {
            const int64_t i = r * C + c0 + j;
            sg[j] = sigmoid_of(pz[i]);
            dot += static_cast<double>(pw[c0 + j]) * pdy[i] * (px[i] * pz[i] * sg[j]);
          }
          for (int64_t j = 0; j < group; ++j) {
            const int64_t c = c0 + j, i = r * C + c;
            const double silu = pz[i] * sg[j];
            const double u = px[i] * silu;
            const double du = inv * pw[c] * pdy[i] - inv * inv * inv / group * u * dot;
            pdx[i] = static_cast<T>(du * silu);
            pdz[i] = static_cast<T>(du * px[i] * sg[j] * (1.0 + pz[i] * (1.0 - sg[j])));
            dw_acc[c] += static_cast<double>(pdy[i]) * u * inv;
          }
        }
      }
    }
    sum_blocks(parts, blocks, C, pdw);
  });
}

// ---- LayerNorm: y = (x-μ)·r·w + b ---------------------------------------------------------------
void CpuBackend::layer_norm_forward(const Tensor& x, const Tensor& w, const Tensor& b, double eps, const Tensor& y,
                                    const Tensor& mean, const Tensor& rstd) {
  const int64_t R = rows_of(x), C = last_dim(x);
  dispatch_floating(x.dtype(), "layer_norm", [&]<typename T>() {
    const T *px = x.data<T>(), *pw = w.data<T>(), *pb = b.data<T>();
    T *py = y.data<T>(), *pm = mean.data<T>(), *pr = rstd.data<T>();
#pragma omp parallel for schedule(static) if (worth_parallel(R * C))
    for (int64_t r = 0; r < R; ++r) {
      double mu = 0, var = 0;
      for (int64_t c = 0; c < C; ++c) mu += px[r * C + c];
      mu /= C;
      for (int64_t c = 0; c < C; ++c) var += (px[r * C + c] - mu) * (px[r * C + c] - mu);
      const double inv = 1.0 / std::sqrt(var / C + eps);
      pm[r] = static_cast<T>(mu);
      pr[r] = static_cast<T>(inv);
      for (int64_t c = 0; c < C; ++c) py[r * C + c] = static_cast<T>((px[r * C + c] - mu) * inv * pw[c] + pb[c]);
    }
  });
}

// x̂ = (x-μ)r, g = w⊙dy:  dx = r·(g - mean(g) - x̂·mean(g⊙x̂));  dw = Σ dy⊙x̂;  db = Σ dy
void CpuBackend::layer_norm_backward(const Tensor& x, const Tensor& w, const Tensor& mean, const Tensor& rstd,
                                     const Tensor& dy, const Tensor& dx, const Tensor& dw, const Tensor& db) {
  const int64_t R = rows_of(x), C = last_dim(x);
  dispatch_floating(x.dtype(), "layer_norm_backward", [&]<typename T>() {
    const T *px = x.data<T>(), *pw = w.data<T>(), *pm = mean.data<T>(), *pr = rstd.data<T>(), *pdy = dy.data<T>();
    T *pdx = dx.data<T>(), *pdw = dw.data<T>(), *pdb = db.data<T>();
    std::vector<double> dw_acc(C, 0.0), db_acc(C, 0.0);
    for (int64_t r = 0; r < R; ++r) {
      double mg = 0, mgx = 0;
      for (int64_t c = 0; c < C; ++c) {
        const int64_t i = r * C + c;
        const double xh = (px[i] - pm[r]) * static_cast<double>(pr[r]);
        const double g = static_cast<double>(pw[c]) * pdy[i];
        mg += g;
        mgx += g * xh;
        dw_acc[c] += pdy[i] * xh;
        db_acc[c] += pdy[i];
      }
      mg /= C;
      mgx /= C;
      for (int64_t c = 0; c < C; ++c) {
        const int64_t i = r * C + c;
        const double xh = (px[i] - pm[r]) * static_cast<double>(pr[r]);
        pdx[i] = static_cast<T>(pr[r] * (pw[c] * pdy[i] - mg - xh * mgx));
      }
    }
    for (int64_t c = 0; c < C; ++c) {
      pdw[c] = static_cast<T>(dw_acc[c]);
      pdb[c] = static_cast<T>(db_acc[c]);
    }
  });
}

}  // namespace ssm
