// ops/cpu/layers.cpp — CPU reference kernels for softmax, cross-entropy, embedding and the causal
// depthwise conv (the norms are in ops/cpu/norms.cpp). Row-wise loops; statistics accumulate in
// double.
#include <cmath>
#include <vector>

#include "ops/cpu/cpu_backend.h"
#include "ops/cpu/rows.h"  // defines: last_dim, rows_of, sigmoid

namespace ssm {
namespace {

using cpu::last_dim;
using cpu::rows_of;
using cpu::sigmoid;
// log Σ_c exp(row[c]), shifted by the row maximum so no exp overflows.
template <typename T>
double row_logsumexp(const T* row, int64_t C) {
  double mx = row[0];
  for (int64_t c = 1; c < C; ++c) mx = std::max(mx, static_cast<double>(row[c]));
  double sum = 0;
  for (int64_t c = 0; c < C; ++c) sum += std::exp(row[c] - mx);
  return mx + std::log(sum);
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
      const double lse = row_logsumexp(row, C);
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
      const double l = row_logsumexp(row, V);
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
void CpuBackend::conv1d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& state_in,
                                const Tensor& y, const Tensor& state_out) {
  const int64_t B = x.size(0), T = x.size(1), C = x.size(2), W = w.size(1), S = W - 1;
  dispatch_floating(x.dtype(), "causal_conv1d", [&]<typename T_>() {
    const T_ *px = x.data<T_>(), *pw = w.data<T_>();
    const T_* pb = bias.defined() ? bias.data<T_>() : nullptr;
    const T_* ps = state_in.defined() ? state_in.data<T_>() : nullptr;
    T_ *py = y.data<T_>(), *pso = state_out.data<T_>();
    // xpad[b][u][c] for u in [0, S+T): the state for u < S, x after.
    auto xpad = [&](int64_t b, int64_t u, int64_t c) -> double {
      if (u < S) return ps ? static_cast<double>(ps[(b * S + u) * C + c]) : 0.0;
      return px[(b * T + u - S) * C + c];
    };
#pragma omp parallel for schedule(static) if (worth_parallel(B * T * C * W))
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t t = 0; t < T; ++t) {
        for (int64_t c = 0; c < C; ++c) {
          double acc = pb ? static_cast<double>(pb[c]) : 0.0;
          for (int64_t k = 0; k < W; ++k) acc += static_cast<double>(pw[c * W + k]) * xpad(b, t + k, c);
          py[(b * T + t) * C + c] = static_cast<T_>(acc);
        }
      }
      for (int64_t u = 0; u < S; ++u) {  // the last S entries of xpad
        for (int64_t c = 0; c < C; ++c) pso[(b * S + u) * C + c] = static_cast<T_>(xpad(b, T + u, c));
      }
    }
  });
}

// Gradients land on xpad (from y and from the returned state), then split into dstate_in and dx.
void CpuBackend::conv1d_backward(const Tensor& x, const Tensor& w, const Tensor& state_in, const Tensor& dy,
                                 const Tensor& dstate_out, const Tensor& dx, const Tensor& dw, const Tensor& dbias,
                                 const Tensor& dstate_in) {
  const int64_t B = x.size(0), T = x.size(1), C = x.size(2), W = w.size(1), S = W - 1;
  dispatch_floating(x.dtype(), "causal_conv1d_backward", [&]<typename T_>() {
    const T_ *px = x.data<T_>(), *pw = w.data<T_>(), *pdy = dy.data<T_>();
    const T_* ps = state_in.defined() ? state_in.data<T_>() : nullptr;
    const T_* pdso = dstate_out.defined() ? dstate_out.data<T_>() : nullptr;
    std::vector<double> dxpad(B * (S + T) * C, 0.0), dw_acc(C * W, 0.0), db_acc(C, 0.0);
    auto xpad = [&](int64_t b, int64_t u, int64_t c) -> double {
      if (u < S) return ps ? static_cast<double>(ps[(b * S + u) * C + c]) : 0.0;
      return px[(b * T + u - S) * C + c];
    };
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t t = 0; t < T; ++t) {
        for (int64_t c = 0; c < C; ++c) {
          const double g = pdy[(b * T + t) * C + c];
          db_acc[c] += g;
          for (int64_t k = 0; k < W; ++k) {
            dw_acc[c * W + k] += g * xpad(b, t + k, c);
            dxpad[(b * (S + T) + t + k) * C + c] += g * pw[c * W + k];
          }
        }
      }
      if (pdso) {
        for (int64_t u = 0; u < S; ++u) {
          for (int64_t c = 0; c < C; ++c) dxpad[(b * (S + T) + T + u) * C + c] += pdso[(b * S + u) * C + c];
        }
      }
    }
    T_* pdx = dx.data<T_>();
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t u = 0; u < S + T; ++u) {
        for (int64_t c = 0; c < C; ++c) {
          const double g = dxpad[(b * (S + T) + u) * C + c];
          if (u >= S) {
            pdx[(b * T + u - S) * C + c] = static_cast<T_>(g);
          } else if (dstate_in.defined()) {
            dstate_in.data<T_>()[(b * S + u) * C + c] = static_cast<T_>(g);
          }
        }
      }
    }
    T_* pdw = dw.data<T_>();
    for (int64_t i = 0; i < C * W; ++i) pdw[i] = static_cast<T_>(dw_acc[i]);
    if (dbias.defined()) {
      for (int64_t c = 0; c < C; ++c) dbias.data<T_>()[c] = static_cast<T_>(db_acc[c]);
    }
  });
}

}  // namespace ssm
