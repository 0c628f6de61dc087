// ops/cpu/layers.cpp — CPU kernels for softmax, cross-entropy, embedding and the causal depthwise
// conv (the norms are in ops/cpu/norms.cpp). Row-wise loops; statistics accumulate in double.
// The f32 rows of softmax and cross-entropy take e^x from fast_exp (vectorised, within 2 ulp of
// the exact value) and sum it in double lanes; f64 keeps libm's exp.
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
// log Σ_c exp(row[c]), shifted by the row maximum so no exp overflows.
template <typename T>
double row_logsumexp(const T* row, int64_t C) {
  double mx = row[0];
  for (int64_t c = 1; c < C; ++c) mx = std::max(mx, static_cast<double>(row[c]));
  double sum = 0;
  for (int64_t c = 0; c < C; ++c) sum += std::exp(row[c] - mx);
  return mx + std::log(sum);
}
// The same for an f32 row, vectorised: the max, then Σ e^(x - max) summed in double lanes.
// Returned in two parts, lse = max + log_sum: the max is exact, and keeping it apart lets softmax
// compute e^((x - max) - log_sum) without the rounding of a large lse to f32.
struct RowLse {
  float max;
  double log_sum;
};
SSM_CPU_CLONES
RowLse row_logsumexp_f32(const float* row, int64_t C) {
  float mx = row[0];
#pragma omp simd reduction(max : mx)
  for (int64_t c = 0; c < C; ++c) mx = row[c] > mx ? row[c] : mx;  // std::max's reference does not vectorise
  double sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t c = 0; c < C; ++c) sum += cpu::fast_exp(row[c] - mx);
  return {mx, std::log(sum)};
}

template <typename T>
double logsumexp_of_row(const T* row, int64_t C) {
  if constexpr (std::is_same_v<T, float>) {
    const RowLse l = row_logsumexp_f32(row, C);
    return l.max + l.log_sum;
  } else {
    return row_logsumexp(row, C);
  }
}

// out = e^((row - max) - log_sum) for an f32 row: its softmax.
SSM_CPU_CLONES
void softmax_row_f32(const float* row, float* out, int64_t C) {
  const RowLse l = row_logsumexp_f32(row, C);
  const float log_sum = static_cast<float>(l.log_sum);
#pragma omp simd
  for (int64_t c = 0; c < C; ++c) out[c] = cpu::fast_exp((row[c] - l.max) - log_sum);
}

// One f32 row of the cross-entropy gradient: d·(softmax - onehot(t)).
SSM_CPU_CLONES
void cross_entropy_grad_f32(const float* row, float* grad, int64_t V, float lse, float d, int64_t t) {
#pragma omp simd
  for (int64_t v = 0; v < V; ++v) grad[v] = d * cpu::fast_exp(row[v] - lse);
  grad[t] -= d;
}

int64_t target_at(const Tensor& targets, int64_t i) {
  return targets.dtype() == Dtype::i64 ? targets.data<int64_t>()[i] : targets.data<int32_t>()[i];
}

}  // namespace

// ---- softmax: y = exp(x - max) / Σ exp(x - max), or its log ----------------------------------
void CpuBackend::softmax_forward(const Tensor& x, const Tensor& y, bool log) {
  const int64_t R = rows_of(x), C = last_dim(x);
  dispatch_floating(x.dtype(), "softmax", [&]<typename T>() {
    const T* px = x.data<T>();
    T* py = y.data<T>();
#pragma omp parallel for schedule(static) if (worth_parallel(R * C))
    for (int64_t r = 0; r < R; ++r) {
      const T* row = px + r * C;
      if constexpr (std::is_same_v<T, float>) {
        if (!log) {
          softmax_row_f32(row, py + r * C, C);
          continue;
        }
      }
      const double lse = logsumexp_of_row(row, C);
      for (int64_t c = 0; c < C; ++c) {
        py[r * C + c] = static_cast<T>(log ? row[c] - lse : std::exp(row[c] - lse));
      }
    }
  });
}

// softmax: dx = y ⊙ (dy - <dy, y>);  log_softmax: dx = dy - softmax(x)·Σ dy
void CpuBackend::softmax_backward(const Tensor& y, const Tensor& dy, const Tensor& dx, bool log) {
  const int64_t R = rows_of(y), C = last_dim(y);
  dispatch_floating(y.dtype(), "softmax_backward", [&]<typename T>() {
    const T *py = y.data<T>(), *pdy = dy.data<T>();
    T* pdx = dx.data<T>();
#pragma omp parallel for schedule(static) if (worth_parallel(R * C))
    for (int64_t r = 0; r < R; ++r) {
      double dot = 0;
      for (int64_t c = 0; c < C; ++c) dot += log ? pdy[r * C + c] : pdy[r * C + c] * py[r * C + c];
      for (int64_t c = 0; c < C; ++c) {
        const int64_t i = r * C + c;
        pdx[i] = static_cast<T>(log ? pdy[i] - std::exp(static_cast<double>(py[i])) * dot : py[i] * (pdy[i] - dot));
      }
    }
  });
}

// ---- cross-entropy: loss_n = lse(logits_n) - logits_n[target_n] --------------------------------
void CpuBackend::cross_entropy_forward(const Tensor& logits, const Tensor& targets, int64_t ignore_index,
                                       const Tensor& losses, const Tensor& lse) {
  const int64_t R = logits.size(0), V = logits.size(1);
  dispatch_floating(logits.dtype(), "cross_entropy", [&]<typename T>() {
    const T* pl = logits.data<T>();
    T *ploss = losses.data<T>(), *plse = lse.data<T>();
#pragma omp parallel for schedule(static) if (worth_parallel(R * V))
    for (int64_t r = 0; r < R; ++r) {
      const T* row = pl + r * V;
      const double l = logsumexp_of_row(row, V);
      plse[r] = static_cast<T>(l);
      const int64_t t = target_at(targets, r);
      ploss[r] = t == ignore_index ? T(0) : static_cast<T>(l - row[t]);
    }
  });
}

void CpuBackend::cross_entropy_backward(const Tensor& logits, const Tensor& targets, const Tensor& lse,
                                        const Tensor& dlosses, int64_t ignore_index, const Tensor& dlogits) {
  const int64_t R = logits.size(0), V = logits.size(1);
  dispatch_floating(logits.dtype(), "cross_entropy_backward", [&]<typename T>() {
    const T *pl = logits.data<T>(), *plse = lse.data<T>(), *pd = dlosses.data<T>();
    T* pg = dlogits.data<T>();
#pragma omp parallel for schedule(static) if (worth_parallel(R * V))
    for (int64_t r = 0; r < R; ++r) {
      const int64_t t = target_at(targets, r);
      if constexpr (std::is_same_v<T, float>) {
        if (t != ignore_index) {
          cross_entropy_grad_f32(pl + r * V, pg + r * V, V, plse[r], pd[r], t);
          continue;
        }
      }
      for (int64_t v = 0; v < V; ++v) {
        const double p = std::exp(static_cast<double>(pl[r * V + v]) - plse[r]);
        pg[r * V + v] = t == ignore_index ? T(0) : static_cast<T>(pd[r] * (p - (v == t ? 1.0 : 0.0)));
      }
    }
  });
}

// ---- embedding ----------------------------------------------------------------------------------
void CpuBackend::embedding_forward(const Tensor& weight, const Tensor& ids, const Tensor& out) {
  const int64_t N = ids.numel(), D = weight.size(1);
  dispatch_floating(weight.dtype(), "embedding", [&]<typename T>() {
    const T* pw = weight.data<T>();
    T* po = out.data<T>();
    for (int64_t i = 0; i < N; ++i) {
      const int64_t id = target_at(ids, i);
      std::copy(pw + id * D, pw + (id + 1) * D, po + i * D);
    }
  });
}

void CpuBackend::embedding_backward(const Tensor& ids, const Tensor& dout, const Tensor& dweight) {
  const int64_t N = ids.numel(), D = dweight.size(1);
  dispatch_floating(dweight.dtype(), "embedding_backward", [&]<typename T>() {
    T* pw = dweight.data<T>();
    const T* pd = dout.data<T>();
    std::fill(pw, pw + dweight.numel(), T(0));
    for (int64_t i = 0; i < N; ++i) {  // serial: repeated ids add into the same row
      const int64_t id = target_at(ids, i);
      for (int64_t d = 0; d < D; ++d) pw[id * D + d] += pd[i * D + d];
    }
  });
}

// ---- causal depthwise conv: y_t[c] = bias[c] + Σ_k w[c,k]·xpad[t+k][c], xpad = [state; x] -----
// Loops run over the channel axis innermost (contiguous in x, y and the transposed weights), so
// they vectorise. A W-term sum (W = 4) is accumulated in T: in f32 its rounding is that of four
// additions, well below the f32 tests' tolerance; dw and dbias, sums over B·T positions,
// accumulate in double, per sequence, then over sequences in order (bit-reproducible whatever
// the thread count).
namespace {

// Row u of xpad for sequence b: a state row (zeros when there is no state) or a row of x.
template <typename T>
const T* xpad_row(const T* x, const T* state, const T* zeros, int64_t b, int64_t u, int64_t T_len, int64_t S,
                  int64_t C) {
  if (u >= S) return x + (b * T_len + u - S) * C;
  return state ? state + (b * S + u) * C : zeros;
}

}  // namespace

void CpuBackend::conv1d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& state_in,
                                ConvActivation act, const Tensor& y, const Tensor& state_out) {
  const int64_t B = x.size(0), T = x.size(1), C = x.size(2), W = w.size(1), S = W - 1;
  dispatch_floating(x.dtype(), "causal_conv1d", [&]<typename T_>() {
    const T_ *px = x.data<T_>(), *pw = w.data<T_>();
    const T_* pb = bias.defined() ? bias.data<T_>() : nullptr;
    const T_* ps = state_in.defined() ? state_in.data<T_>() : nullptr;
    T_ *py = y.data<T_>(), *pso = state_out.data<T_>();
    std::vector<T_> wt(W * C), zeros(C, T_(0));  // wt[k][c] = w[c][k]: channel-contiguous taps
    for (int64_t c = 0; c < C; ++c) {
      for (int64_t k = 0; k < W; ++k) wt[k * C + c] = pw[c * W + k];
    }
#pragma omp parallel for schedule(static) if (worth_parallel(B * T * C * W))
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t t = 0; t < T; ++t) {
        T_* yr = py + (b * T + t) * C;
        for (int64_t c = 0; c < C; ++c) yr[c] = pb ? pb[c] : T_(0);
        for (int64_t k = 0; k < W; ++k) {
          const T_* xr = xpad_row(px, ps, zeros.data(), b, t + k, T, S, C);
          const T_* wk = wt.data() + k * C;
          for (int64_t c = 0; c < C; ++c) yr[c] += wk[c] * xr[c];
        }
      }
      for (int64_t u = 0; u < S; ++u) {  // the last S rows of xpad
        const T_* xr = xpad_row(px, ps, zeros.data(), b, T + u, T, S, C);
        std::copy(xr, xr + C, pso + (b * S + u) * C);
      }
    }
  });
  // The activation in place, by the element-wise kernel (vectorised, fast_exp): a second sweep
  // over y, where the unfused op would also allocate a tensor and keep the conv's output.
  if (act == ConvActivation::silu) unary(UnaryOp::silu, y, y, 0.0);
}

// dxpad[u] = Σ_k dy[u-k]·w[:,k] (+ dstate_out for the last S rows), split into dstate_in and dx;
// dw[c,k] = Σ_{b,t} dy[b,t,c]·xpad[b,t+k,c]; dbias = Σ dy.
void CpuBackend::conv1d_backward(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& state_in,
                                 ConvActivation act, const Tensor& dy, const Tensor& dstate_out, const Tensor& dx,
                                 const Tensor& dw, const Tensor& dbias, const Tensor& dstate_in) {
  const int64_t B = x.size(0), T = x.size(1), C = x.size(2), W = w.size(1), S = W - 1;
  // With an activation, dy is the gradient of act(z): the conv's own gradient is dz = dy·act'(z),
  // with z recomputed here (the forward kept no copy of it).
  Tensor dz = dy;
  if (act == ConvActivation::silu) {
    Tensor z = Tensor::empty(x.shape(), x.dtype());
    conv1d_forward(x, w, bias, state_in, ConvActivation::none, z, Tensor::empty({B, S, C}, x.dtype()));
    dz = Tensor::empty(x.shape(), x.dtype());
    unary_backward(UnaryOp::silu, z, z, dy, dz, 0.0);  // silu' needs z only
  }
  dispatch_floating(x.dtype(), "causal_conv1d_backward", [&]<typename T_>() {
    const T_ *px = x.data<T_>(), *pw = w.data<T_>(), *pdy = dz.data<T_>();
    const T_* ps = state_in.defined() ? state_in.data<T_>() : nullptr;
    const T_* pdso = dstate_out.defined() ? dstate_out.data<T_>() : nullptr;
    T_* pdx = dx.data<T_>();
    T_* pdsi = dstate_in.defined() ? dstate_in.data<T_>() : nullptr;
    std::vector<T_> wt(W * C), zeros(C, T_(0));
    for (int64_t c = 0; c < C; ++c) {
      for (int64_t k = 0; k < W; ++k) wt[k * C + c] = pw[c * W + k];
    }
    // Per sequence: dw as [k][c] and dbias, in double.
    std::vector<double> parts(B * (W + 1) * C, 0.0);
#pragma omp parallel for schedule(static) if (worth_parallel(B * T * C * W))
    for (int64_t b = 0; b < B; ++b) {
      double* dw_b = parts.data() + b * (W + 1) * C;
      double* db_b = dw_b + W * C;
      for (int64_t t = 0; t < T; ++t) {
        const T_* g = pdy + (b * T + t) * C;
        for (int64_t c = 0; c < C; ++c) db_b[c] += g[c];
        for (int64_t k = 0; k < W; ++k) {
          const T_* xr = xpad_row(px, ps, zeros.data(), b, t + k, T, S, C);
          double* acc = dw_b + k * C;
          for (int64_t c = 0; c < C; ++c) acc[c] += static_cast<double>(g[c]) * static_cast<double>(xr[c]);
        }
      }
      // Row u of xpad receives dy[u - k]·w[k] for every tap k with 0 <= u - k < T.
      std::vector<T_> row(C);
      for (int64_t u = 0; u < S + T; ++u) {
        if (u < S && !pdsi) continue;
        if (u >= T && pdso) {
          const T_* d = pdso + (b * S + u - T) * C;
          std::copy(d, d + C, row.begin());
        } else {
          std::fill(row.begin(), row.end(), T_(0));
        }
        for (int64_t k = 0; k < W; ++k) {
          const int64_t t = u - k;
          if (t < 0 || t >= T) continue;
          const T_* g = pdy + (b * T + t) * C;
          const T_* wk = wt.data() + k * C;
          for (int64_t c = 0; c < C; ++c) row[c] += g[c] * wk[c];
        }
        T_* out = u >= S ? pdx + (b * T + u - S) * C : pdsi + (b * S + u) * C;
        std::copy(row.begin(), row.end(), out);
      }
    }
    T_* pdw = dw.data<T_>();
    for (int64_t c = 0; c < C; ++c) {
      for (int64_t k = 0; k < W; ++k) {
        double total = 0;
        for (int64_t b = 0; b < B; ++b) total += parts[b * (W + 1) * C + k * C + c];
        pdw[c * W + k] = static_cast<T_>(total);
      }
    }
    if (dbias.defined()) {
      for (int64_t c = 0; c < C; ++c) {
        double total = 0;
        for (int64_t b = 0; b < B; ++b) total += parts[b * (W + 1) * C + W * C + c];
        dbias.data<T_>()[c] = static_cast<T_>(total);
      }
    }
  });
}

}  // namespace ssm
