// ops/scan/selective_scan_cpu_recurrent.cpp — the selective-scan reference: one time step at a
// time, states in double.
//
// This is the definition every other selective-scan implementation is tested against
// (ops/scan/selective_scan.h). Per batch row and channel d, with λ_t[n] = exp(Δ_t·A[d,n]) and
// u_t = Δ_t·x_t:
//   s_t[n] = λ_t[n]·s_{t-1}[n] + u_t·B_t[n],   y_t = Σ_n C_t[n]·s_t[n]
// Backward is the reverse scan of docs/arch/mamba1.md, backward: with dS the gradient of s_t, walking t down,
//   dS += C_t·dy_t;  dC_t += dy_t·s_t;  dB_t += u_t·dS;  du_t = Σ_n dS·B_t
//   dlogλ_t = dS ⊙ λ_t ⊙ s_{t-1};  dΔ_t = x_t·du_t + Σ_n A[d,n]·dlogλ_t;  dA[d] += Δ_t·dlogλ_t
//   dS ← λ_t ⊙ dS   (the gradient flowing to s_{t-1})
// The backward keeps all T+1 states of a channel: clarity over memory (the chunked form keeps
// only the chunk boundaries).
#include <cmath>
#include <vector>

#include "ops/cpu/cpu_backend.h"  // defines: worth_parallel, scan_work
#include "ops/scan/selective_scan_cpu.h"  // defines: selective_scan_recurrent_*, SelectiveScanGradSums

namespace ssm::cpu {

template <typename T>
void selective_scan_recurrent_forward(const SelectiveScanShape& s, const T* x, const T* dt, const T* A,
                                      const T* Bm, const T* Cm, const T* h0, T* y, T* hT) {
  const int64_t Bsz = s.batch, L = s.seqlen, E = s.channels, N = s.dstate;
#pragma omp parallel for collapse(2) schedule(static) if (worth_parallel(scan_work(s)))
  for (int64_t b = 0; b < Bsz; ++b) {
    for (int64_t d = 0; d < E; ++d) {
      const T* Ad = A + d * N;
      std::vector<double> S(N, 0.0);
      if (h0) {
        for (int64_t n = 0; n < N; ++n) S[n] = h0[(b * E + d) * N + n];
      }
      for (int64_t t = 0; t < L; ++t) {
        const int64_t i = (b * L + t) * E + d;  // this (b, t, d) in x, dt and y
        const double delta = dt[i], u = delta * static_cast<double>(x[i]);
        const T* Bt = Bm + (b * L + t) * N;
        const T* Ct = Cm + (b * L + t) * N;
        double acc = 0;
        for (int64_t n = 0; n < N; ++n) {
          S[n] = std::exp(delta * static_cast<double>(Ad[n])) * S[n] + u * static_cast<double>(Bt[n]);
          acc += static_cast<double>(Ct[n]) * S[n];
        }
        y[i] = static_cast<T>(acc);
      }
      for (int64_t n = 0; n < N; ++n) hT[(b * E + d) * N + n] = static_cast<T>(S[n]);
    }
  }
}

template <typename T>
void selective_scan_recurrent_backward(const SelectiveScanShape& s, const T* x, const T* dt, const T* A,
                                       const T* Bm, const T* Cm, const T* h0, const T* dy, const T* dhT, T* dx,
                                       T* ddt, T* dA, T* dB, T* dC, T* dh0) {
  const int64_t Bsz = s.batch, L = s.seqlen, E = s.channels, N = s.dstate;
  SelectiveScanGradSums sums(s);
  const int64_t K = sums.blocks();
#pragma omp parallel for collapse(2) schedule(static) if (worth_parallel(scan_work(s)))
  for (int64_t b = 0; b < Bsz; ++b) {
    for (int64_t k = 0; k < K; ++k) {
      double* dA_sum = sums.dA(b);
      double* dB_sum = sums.dB(b, k);
      double* dC_sum = sums.dC(b, k);
      std::vector<double> states((L + 1) * N);  // s_{-1} .. s_{L-1}
      std::vector<double> dS(N);
      for (int64_t d = sums.block_begin(k); d < sums.block_end(k); ++d) {
        const T* Ad = A + d * N;
        for (int64_t n = 0; n < N; ++n) states[n] = h0 ? static_cast<double>(h0[(b * E + d) * N + n]) : 0.0;
        for (int64_t t = 0; t < L; ++t) {
          const int64_t i = (b * L + t) * E + d;
          const double delta = dt[i], u = delta * static_cast<double>(x[i]);
          const T* Bt = Bm + (b * L + t) * N;
          const double* prev = states.data() + t * N;
          double* cur = states.data() + (t + 1) * N;
          for (int64_t n = 0; n < N; ++n) {
            cur[n] = std::exp(delta * static_cast<double>(Ad[n])) * prev[n] + u * static_cast<double>(Bt[n]);
          }
        }
        for (int64_t n = 0; n < N; ++n) dS[n] = dhT ? static_cast<double>(dhT[(b * E + d) * N + n]) : 0.0;
        for (int64_t t = L - 1; t >= 0; --t) {
          const int64_t i = (b * L + t) * E + d;
          const double delta = dt[i], xt = x[i], u = delta * xt, g = dy[i];
          const T* Bt = Bm + (b * L + t) * N;
          const T* Ct = Cm + (b * L + t) * N;
          const double* prev = states.data() + t * N;
          const double* cur = prev + N;
          double du = 0, d_delta_decay = 0;
          for (int64_t n = 0; n < N; ++n) {
            const double a_n = Ad[n];
            // y_t = Σ_n C_t[n]·s_t[n]
            dS[n] += static_cast<double>(Ct[n]) * g;
            dC_sum[t * N + n] += g * cur[n];
            // s_t = λ_t·s_{t-1} + u_t·B_t
            dB_sum[t * N + n] += u * dS[n];
            du += dS[n] * static_cast<double>(Bt[n]);
            const double lambda = std::exp(delta * a_n);
            const double dlog = dS[n] * lambda * prev[n];
            d_delta_decay += a_n * dlog;
            dA_sum[d * N + n] += delta * dlog;
            dS[n] *= lambda;
          }
          dx[i] = static_cast<T>(delta * du);
          ddt[i] = static_cast<T>(xt * du + d_delta_decay);
        }
        if (dh0) {
          for (int64_t n = 0; n < N; ++n) dh0[(b * E + d) * N + n] = static_cast<T>(dS[n]);
        }
      }
    }
  }
  sums.write(dA, dB, dC);
}

#define SSM_INSTANTIATE_RECURRENT(T)                                                                             \
  template void selective_scan_recurrent_forward<T>(const SelectiveScanShape&, const T*, const T*, const T*,     \
                                                    const T*, const T*, const T*, T*, T*);                       \
  template void selective_scan_recurrent_backward<T>(const SelectiveScanShape&, const T*, const T*, const T*,    \
                                                     const T*, const T*, const T*, const T*, const T*, T*, T*,   \
                                                     T*, T*, T*, T*);
SSM_INSTANTIATE_RECURRENT(float)
SSM_INSTANTIATE_RECURRENT(double)

}  // namespace ssm::cpu
