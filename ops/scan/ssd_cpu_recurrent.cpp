// ops/scan/ssd_cpu_recurrent.cpp — the SSD reference: one time step at a time, states in double.
//
// This is the definition every other SSD implementation is tested against (ops/scan/ssd.h):
//   S_t = exp(Δ_t·A_h)·S_{t-1} + Δ_t·x_t ⊗ B_t,   y_t = S_t·C_t      (S: P×N per head)
// Backward is the reverse scan of docs/scans.md (post-update readout): with dS the gradient of
// S_t, walking t downwards,
//   dS += dy_t ⊗ C_t;  dC_t += S_tᵀ·dy_t;  dB_t += dSᵀ·x̄_t;  dx̄_t = dS·B_t   (x̄ = Δ·x)
//   d(log α_t) = α_t·<dS, S_{t-1}>;  dS ← α_t·dS   (the gradient flowing to S_{t-1})
// Heads of one group share B and C, so work is split over (batch, group) and the heads of a
// group run in one thread: their dB/dC sums are then race-free and bit-reproducible.
#include <cmath>
#include <vector>

#include "ops/cpu/cpu_backend.h"
#include "ops/scan/ssd_cpu.h"  // defines: ssd_recurrent_forward, ssd_recurrent_backward

namespace ssm::cpu {

template <typename T>
void ssd_recurrent_forward(const SsdShape& s, const T* x, const T* dt, const T* A, const T* Bm, const T* Cm,
                           const T* h0, T* y, T* hT) {
  const int64_t Bsz = s.batch, L = s.seqlen, H = s.heads, P = s.headdim, G = s.groups, N = s.dstate;
  const int64_t heads_per_group = H / G;
#pragma omp parallel for collapse(2) schedule(static) if (worth_parallel(scan_work(s)))
  for (int64_t b = 0; b < Bsz; ++b) {
    for (int64_t h = 0; h < H; ++h) {
      const int64_t g = h / heads_per_group;
      std::vector<double> S(P * N, 0.0);
      if (h0) {
        for (int64_t i = 0; i < P * N; ++i) S[i] = h0[(b * H + h) * P * N + i];
      }
      for (int64_t t = 0; t < L; ++t) {
        const double delta = dt[(b * L + t) * H + h];
        const double alpha = std::exp(delta * static_cast<double>(A[h]));
        const T* xt = x + ((b * L + t) * H + h) * P;
        const T* Bt = Bm + ((b * L + t) * G + g) * N;
        const T* Ct = Cm + ((b * L + t) * G + g) * N;
        T* yt = y + ((b * L + t) * H + h) * P;
        for (int64_t p = 0; p < P; ++p) {
          double acc = 0;
          for (int64_t n = 0; n < N; ++n) {
            double& state = S[p * N + n];
            state = alpha * state + delta * static_cast<double>(xt[p]) * static_cast<double>(Bt[n]);
            acc += state * static_cast<double>(Ct[n]);
          }
          yt[p] = static_cast<T>(acc);
        }
      }
      for (int64_t i = 0; i < P * N; ++i) hT[(b * H + h) * P * N + i] = static_cast<T>(S[i]);
    }
  }
}

template <typename T>
void ssd_recurrent_backward(const SsdShape& s, const T* x, const T* dt, const T* A, const T* Bm, const T* Cm,
                            const T* h0, const T* dy, const T* dhT, T* dx, T* ddt, T* dA, T* dB, T* dC, T* dh0) {
  const int64_t Bsz = s.batch, L = s.seqlen, H = s.heads, P = s.headdim, G = s.groups, N = s.dstate;
  const int64_t heads_per_group = H / G;
  // dA is a sum over batch and time; each (b, g) job writes its own slice, reduced after.
  std::vector<double> dA_parts(Bsz * H, 0.0);
  std::vector<double> dB_acc(Bsz * L * G * N, 0.0), dC_acc(Bsz * L * G * N, 0.0);
#pragma omp parallel for collapse(2) schedule(static) if (worth_parallel(scan_work(s)))
  for (int64_t b = 0; b < Bsz; ++b) {
    for (int64_t g = 0; g < G; ++g) {
      std::vector<double> states((L + 1) * P * N);  // S_{-1} .. S_{L-1}
      std::vector<double> dS(P * N);
      for (int64_t h = g * heads_per_group; h < (g + 1) * heads_per_group; ++h) {
        // Recompute and keep every state of this head (the reference trades memory for clarity).
        double* S = states.data();
        for (int64_t i = 0; i < P * N; ++i) S[i] = h0 ? static_cast<double>(h0[(b * H + h) * P * N + i]) : 0.0;
        for (int64_t t = 0; t < L; ++t) {
          const double delta = dt[(b * L + t) * H + h];
          const double alpha = std::exp(delta * static_cast<double>(A[h]));
          const T* xt = x + ((b * L + t) * H + h) * P;
          const T* Bt = Bm + ((b * L + t) * G + g) * N;
          const double* prev = states.data() + t * P * N;
          double* cur = states.data() + (t + 1) * P * N;
          for (int64_t p = 0; p < P; ++p) {
            for (int64_t n = 0; n < N; ++n) {
              cur[p * N + n] = alpha * prev[p * N + n] + delta * static_cast<double>(xt[p]) * static_cast<double>(Bt[n]);
            }
          }
        }
        for (int64_t i = 0; i < P * N; ++i) dS[i] = dhT ? static_cast<double>(dhT[(b * H + h) * P * N + i]) : 0.0;
        for (int64_t t = L - 1; t >= 0; --t) {
          const double delta = dt[(b * L + t) * H + h];
          const double a_h = A[h];
          const double alpha = std::exp(delta * a_h);
          const int64_t xi = ((b * L + t) * H + h) * P;
          const int64_t bi = ((b * L + t) * G + g) * N;
          const double* prev = states.data() + t * P * N;
          const double* cur = states.data() + (t + 1) * P * N;
          // y_t = S_t·C_t
          for (int64_t p = 0; p < P; ++p) {
            const double g_p = dy[xi + p];
            for (int64_t n = 0; n < N; ++n) {
              dS[p * N + n] += g_p * static_cast<double>(Cm[bi + n]);
              dC_acc[bi + n] += cur[p * N + n] * g_p;
            }
          }
          // S_t = α·S_{t-1} + Δ·x_t ⊗ B_t
          double d_delta = 0, d_log_alpha = 0;
          for (int64_t p = 0; p < P; ++p) {
            const double xp = x[xi + p];
            double d_xbar = 0;
            for (int64_t n = 0; n < N; ++n) {
              const double ds = dS[p * N + n];
              dB_acc[bi + n] += ds * delta * xp;
              d_xbar += ds * static_cast<double>(Bm[bi + n]);
              d_log_alpha += ds * prev[p * N + n];
            }
            dx[xi + p] = static_cast<T>(delta * d_xbar);
            d_delta += d_xbar * xp;
          }
          d_log_alpha *= alpha;
          ddt[(b * L + t) * H + h] = static_cast<T>(d_delta + a_h * d_log_alpha);
          dA_parts[b * H + h] += delta * d_log_alpha;
          for (int64_t i = 0; i < P * N; ++i) dS[i] *= alpha;
        }
        if (dh0) {
          for (int64_t i = 0; i < P * N; ++i) dh0[(b * H + h) * P * N + i] = static_cast<T>(dS[i]);
        }
      }
    }
  }
  for (int64_t h = 0; h < H; ++h) {
    double total = 0;
    for (int64_t b = 0; b < Bsz; ++b) total += dA_parts[b * H + h];
    dA[h] = static_cast<T>(total);
  }
  for (size_t i = 0; i < dB_acc.size(); ++i) {
    dB[i] = static_cast<T>(dB_acc[i]);
    dC[i] = static_cast<T>(dC_acc[i]);
  }
}

template void ssd_recurrent_forward<float>(const SsdShape&, const float*, const float*, const float*, const float*,
                                           const float*, const float*, float*, float*);
template void ssd_recurrent_forward<double>(const SsdShape&, const double*, const double*, const double*,
                                            const double*, const double*, const double*, double*, double*);
template void ssd_recurrent_backward<float>(const SsdShape&, const float*, const float*, const float*, const float*,
                                            const float*, const float*, const float*, const float*, float*, float*,
                                            float*, float*, float*, float*);
template void ssd_recurrent_backward<double>(const SsdShape&, const double*, const double*, const double*,
                                             const double*, const double*, const double*, const double*,
                                             const double*, double*, double*, double*, double*, double*, double*);

}  // namespace ssm::cpu
