// ops/cpu/layers.cpp — CPU reference kernels for softmax, cross-entropy, embedding, the norms and
// the causal depthwise conv. Row-wise loops; statistics accumulate in double.
#include <cmath>
#include <vector>

#include "ops/cpu/cpu_backend.h"

namespace ssm {
namespace {

int64_t last_dim(const Tensor& t) { return t.dim() == 0 ? 1 : t.size(-1); }
int64_t rows_of(const Tensor& t) { return t.numel() / std::max<int64_t>(last_dim(t), 1); }
template <typename T>
double sigmoid(T v) { return 1.0 / (1.0 + std::exp(-static_cast<double>(v))); }
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

// ---- RMSNorm: y = x·r·w, r = (mean x² + eps)^-1/2 -------------------------------------------------
void CpuBackend::rms_norm_forward(const Tensor& x, const Tensor& w, double eps, const Tensor& y, const Tensor& rstd) {
  const int64_t R = rows_of(x), C = last_dim(x);
  dispatch_floating(x.dtype(), "rms_norm", [&]<typename T>() {
    const T *px = x.data<T>(), *pw = w.data<T>();
    T *py = y.data<T>(), *pr = rstd.data<T>();
#pragma omp parallel for schedule(static) if (worth_parallel(R * C))
    for (int64_t r = 0; r < R; ++r) {
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
    std::vector<double> dw_acc(C, 0.0);
    for (int64_t r = 0; r < R; ++r) {
      const double inv = pr[r];
      double dot = 0;
      for (int64_t c = 0; c < C; ++c) dot += static_cast<double>(pw[c]) * pdy[r * C + c] * px[r * C + c];
      for (int64_t c = 0; c < C; ++c) {
        const int64_t i = r * C + c;
        pdx[i] = static_cast<T>(inv * pw[c] * pdy[i] - inv * inv * inv / C * px[i] * dot);
        dw_acc[c] += static_cast<double>(pdy[i]) * px[i] * inv;
      }
    }
    for (int64_t c = 0; c < C; ++c) pdw[c] = static_cast<T>(dw_acc[c]);
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
      for (int64_t k = 0; k < NG; ++k) {
        double ms = 0;
        for (int64_t c = k * group; c < (k + 1) * group; ++c) {
          const double g = px[r * C + c] * pz[r * C + c] * sigmoid(pz[r * C + c]);
          ms += g * g;
        }
        const double inv = 1.0 / std::sqrt(ms / group + eps);
        pr[r * NG + k] = static_cast<T>(inv);
        for (int64_t c = k * group; c < (k + 1) * group; ++c) {
          const double g = px[r * C + c] * pz[r * C + c] * sigmoid(pz[r * C + c]);
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
    std::vector<double> dw_acc(C, 0.0);
    for (int64_t r = 0; r < R; ++r) {
      for (int64_t k = 0; k < NG; ++k) {
        const double inv = pr[r * NG + k];
        double dot = 0;
        for (int64_t c = k * group; c < (k + 1) * group; ++c) {
          const int64_t i = r * C + c;
          dot += static_cast<double>(pw[c]) * pdy[i] * (px[i] * pz[i] * sigmoid(pz[i]));
        }
        for (int64_t c = k * group; c < (k + 1) * group; ++c) {
          const int64_t i = r * C + c;
          const double sg = sigmoid(pz[i]), silu = pz[i] * sg;
          const double u = px[i] * silu;
          const double du = inv * pw[c] * pdy[i] - inv * inv * inv / group * u * dot;
          pdx[i] = static_cast<T>(du * silu);
          pdz[i] = static_cast<T>(du * px[i] * sg * (1.0 + pz[i] * (1.0 - sg)));
          dw_acc[c] += static_cast<double>(pdy[i]) * u * inv;
        }
      }
    }
    for (int64_t c = 0; c < C; ++c) pdw[c] = static_cast<T>(dw_acc[c]);
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
