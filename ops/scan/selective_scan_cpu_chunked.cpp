// ops/scan/selective_scan_cpu_chunked.cpp — the selective scan in chunked form (docs/scans.md),
// forward and backward; the CPU runs it only with model.scan: chunked (auto runs the recurrence there),
// and the CUDA selective scan is sequential for every chunk value.
//
// Split time into chunks of Q steps. Per batch row and channel d, inside a chunk with start state
// S_c (the state before its first step), local steps j, a_j[n] = Δ_j·A[d,n] ≤ 0 and u_j = Δ_j·x_j:
//   cum_j[n] = Σ_{k≤j} a_k[n]                               log-decay from the chunk start to j
//   ŝ_j[n]   = e^{a_j[n]}·ŝ_{j-1}[n] + u_j·B_j[n],  ŝ_{-1} = 0   the chunk scanned from a zero state
//   s_j[n]   = ŝ_j[n] + e^{cum_j[n]}·S_c[n]                   the true state (the step is linear)
// hence
//   y_j     = Σ_n C_j[n]·ŝ_j[n] + Σ_n C_j[n]·e^{cum_j[n]}·S_c[n]
//   S_{c+1} = ŝ_{Q-1} + e^{cum_{Q-1}}·S_c
// The forward runs in three phases: (1) every chunk on its own: ŝ, the local part of y, the end
// state ŝ_{Q-1} and the total decay e^{cum_{Q-1}}; (2) one pass over the chunks in order carrying
// the boundary states S_c; (3) every chunk on its own again: y_j += Σ_n C_j·e^{cum_j}·S_c.
// Phases 1 and 3 are independent across chunks; only the short phase 2 is sequential.
//
// The backward mirrors it. Let dŝ_j be the gradient of s_j from the chunk's own outputs, the
// reverse scan dŝ_j = C_j·dy_j + e^{a_{j+1}}·dŝ_{j+1} started from zero at the chunk end, and
// dS_{c+1} the gradient of the chunk's last state from everything after it. Then
//   dS_j  = dŝ_j + e^{tail_j}·dS_{c+1},   tail_j[n] = Σ_{j<k<Q} a_k[n]   (decay from j to the end)
//   dS_c  = e^{a_0}·dŝ_0 + e^{cum_{Q-1}}·dS_{c+1}       (dS_{last+1} = dhT; dS_0 = dh0)
// (A) every chunk on its own: e^{a_0}·dŝ_0; (B) one pass over the chunks last to first for dS_c;
// (C) every chunk on its own: ŝ recomputed from zero, s_j and dS_j as above, then the per-step
// gradients of docs/arch/mamba1.md, backward (see selective_scan_cpu_recurrent.cpp).
// Only the chunk boundary states are kept (recomputed by phases 1–2), never all T states. cum and
// tail are running sums of a (never differences of two cumulative sums, which lose digits), and
// every exponent is ≤ 0, so nothing overflows.
#include <algorithm>
#include <cmath>
#include <vector>

#include "ops/cpu/cpu_backend.h"  // defines: worth_parallel, scan_work
#include "ops/scan/selective_scan_cpu.h"  // defines: selective_scan_chunked_*, SelectiveScanGradSums

namespace ssm::cpu {
namespace {

// One (batch row b, channel d) in the layouts of ops/scan/selective_scan.h.
struct Channel {
  int64_t L, E, N, b, d;
  int64_t at(int64_t t) const { return (b * L + t) * E + d; }  // x, dt, y, dx, ddt
  int64_t row(int64_t t) const { return (b * L + t) * N; }     // Bm, Cm
  int64_t state() const { return (b * E + d) * N; }            // h0, hT, dhT, dh0
};

// Chunk [t0, t0+len) scanned from a zero state: local (len,N) gets ŝ_j.
template <typename T>
void scan_from_zero(const Channel& ch, int64_t t0, int64_t len, const T* x, const T* dt, const T* A, const T* Bm,
                    std::vector<double>& local) {
  const int64_t N = ch.N;
  const T* Ad = A + ch.d * N;
  local.assign(len * N, 0.0);
  for (int64_t j = 0; j < len; ++j) {
    const double delta = dt[ch.at(t0 + j)], u = delta * static_cast<double>(x[ch.at(t0 + j)]);
    const T* Bj = Bm + ch.row(t0 + j);
    for (int64_t n = 0; n < N; ++n) {
      const double before = j > 0 ? local[(j - 1) * N + n] : 0.0;
      local[j * N + n] = std::exp(delta * static_cast<double>(Ad[n])) * before + u * static_cast<double>(Bj[n]);
    }
  }
}

// Decay from the chunk start: from_start (len,N) gets e^{cum_j[n]}.
template <typename T>
void decays_from_start(const Channel& ch, int64_t t0, int64_t len, const T* dt, const T* A,
                       std::vector<double>& from_start) {
  const int64_t N = ch.N;
  const T* Ad = A + ch.d * N;
  std::vector<double> cum(N, 0.0);
  from_start.assign(len * N, 0.0);
  for (int64_t j = 0; j < len; ++j) {
    const double delta = dt[ch.at(t0 + j)];
    for (int64_t n = 0; n < N; ++n) {
      cum[n] += delta * static_cast<double>(Ad[n]);
      from_start[j * N + n] = std::exp(cum[n]);
    }
  }
}

// Phases 1 and 2. starts ((chunks+1),N) gets S_0 = h0 .. S_chunks = the final state; chunk_decay
// (chunks,N) gets e^{cum_{Q-1}} per chunk; y_local (L), when given, gets Σ_n C_j[n]·ŝ_j[n].
template <typename T>
void carry_states(const Channel& ch, int64_t Q, const T* x, const T* dt, const T* A, const T* Bm, const T* Cm,
                  const T* h0, std::vector<double>& starts, std::vector<double>& chunk_decay, double* y_local) {
  const int64_t N = ch.N, n_chunks = (ch.L + Q - 1) / Q;
  starts.assign((n_chunks + 1) * N, 0.0);
  chunk_decay.assign(n_chunks * N, 0.0);
  std::vector<double> local, from_start;
  // 1. Every chunk on its own; its end state ŝ_{Q-1} waits in starts[c+1] for phase 2.
  for (int64_t c = 0; c < n_chunks; ++c) {
    const int64_t t0 = c * Q, len = std::min(Q, ch.L - t0);
    scan_from_zero(ch, t0, len, x, dt, A, Bm, local);
    decays_from_start(ch, t0, len, dt, A, from_start);
    for (int64_t n = 0; n < N; ++n) {
      starts[(c + 1) * N + n] = local[(len - 1) * N + n];
      chunk_decay[c * N + n] = from_start[(len - 1) * N + n];
    }
    if (!y_local) continue;
    for (int64_t j = 0; j < len; ++j) {
      const T* Cj = Cm + ch.row(t0 + j);
      double acc = 0;
      for (int64_t n = 0; n < N; ++n) acc += static_cast<double>(Cj[n]) * local[j * N + n];
      y_local[t0 + j] = acc;
    }
  }
  // 2. In order: S_{c+1} = ŝ_{Q-1} + e^{cum_{Q-1}}·S_c.
  if (h0) {
    for (int64_t n = 0; n < N; ++n) starts[n] = h0[ch.state() + n];
  }
  for (int64_t c = 0; c < n_chunks; ++c) {
    for (int64_t n = 0; n < N; ++n) starts[(c + 1) * N + n] += chunk_decay[c * N + n] * starts[c * N + n];
  }
}

}  // namespace

template <typename T>
void selective_scan_chunked_forward(const SelectiveScanShape& s, int64_t Q, const T* x, const T* dt, const T* A,
                                    const T* Bm, const T* Cm, const T* h0, T* y, T* hT) {
  const int64_t L = s.seqlen, N = s.dstate, n_chunks = (L + Q - 1) / Q;
#pragma omp parallel for collapse(2) schedule(static) if (worth_parallel(scan_work(s)))
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t d = 0; d < s.channels; ++d) {
      const Channel ch{L, s.channels, N, b, d};
      std::vector<double> starts, chunk_decay, y_local(L), from_start;
      carry_states(ch, Q, x, dt, A, Bm, Cm, h0, starts, chunk_decay, y_local.data());
      // 3. Every chunk on its own: add what its start state contributes.
      for (int64_t c = 0; c < n_chunks; ++c) {
        const int64_t t0 = c * Q, len = std::min(Q, L - t0);
        const double* Sc = starts.data() + c * N;
        decays_from_start(ch, t0, len, dt, A, from_start);
        for (int64_t j = 0; j < len; ++j) {
          const T* Cj = Cm + ch.row(t0 + j);
          double acc = 0;
          for (int64_t n = 0; n < N; ++n) acc += static_cast<double>(Cj[n]) * from_start[j * N + n] * Sc[n];
          y[ch.at(t0 + j)] = static_cast<T>(y_local[t0 + j] + acc);
        }
      }
      for (int64_t n = 0; n < N; ++n) hT[ch.state() + n] = static_cast<T>(starts[n_chunks * N + n]);
    }
  }
}

template <typename T>
void selective_scan_chunked_backward(const SelectiveScanShape& s, int64_t Q, const T* x, const T* dt, const T* A,
                                     const T* Bm, const T* Cm, const T* h0, const T* dy, const T* dhT, T* dx,
                                     T* ddt, T* dA, T* dB, T* dC, T* dh0) {
  const int64_t L = s.seqlen, N = s.dstate, n_chunks = (L + Q - 1) / Q;
  SelectiveScanGradSums sums(s);
  const int64_t K = sums.blocks();
#pragma omp parallel for collapse(2) schedule(static) if (worth_parallel(scan_work(s)))
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t k = 0; k < K; ++k) {
      double* dA_sum = sums.dA(b);
      double* dB_sum = sums.dB(b, k);
      double* dC_sum = sums.dC(b, k);
      std::vector<double> starts, chunk_decay, dstates, local, from_start, dlocal(N), tail(N);
      for (int64_t d = sums.block_begin(k); d < sums.block_end(k); ++d) {
        const Channel ch{L, s.channels, N, b, d};
        const T* Ad = A + d * N;
        carry_states(ch, Q, x, dt, A, Bm, Cm, h0, starts, chunk_decay, nullptr);
        // A. Every chunk on its own: dstates[c] = e^{a_0}·dŝ_0, what its outputs send to S_c.
        dstates.assign((n_chunks + 1) * N, 0.0);
        for (int64_t c = 0; c < n_chunks; ++c) {
          const int64_t t0 = c * Q, len = std::min(Q, L - t0);
          std::fill(dlocal.begin(), dlocal.end(), 0.0);
          for (int64_t j = len - 1; j >= 0; --j) {
            const double delta = dt[ch.at(t0 + j)], g = dy[ch.at(t0 + j)];
            const T* Cj = Cm + ch.row(t0 + j);
            for (int64_t n = 0; n < N; ++n) {
              dlocal[n] = std::exp(delta * static_cast<double>(Ad[n])) * (dlocal[n] + static_cast<double>(Cj[n]) * g);
            }
          }
          for (int64_t n = 0; n < N; ++n) dstates[c * N + n] = dlocal[n];
        }
        // B. Last to first: dS_c = e^{a_0}·dŝ_0 + e^{cum_{Q-1}}·dS_{c+1}, from dS_{chunks} = dhT.
        for (int64_t n = 0; n < N; ++n) {
          dstates[n_chunks * N + n] = dhT ? static_cast<double>(dhT[ch.state() + n]) : 0.0;
        }
        for (int64_t c = n_chunks - 1; c >= 0; --c) {
          for (int64_t n = 0; n < N; ++n) dstates[c * N + n] += chunk_decay[c * N + n] * dstates[(c + 1) * N + n];
        }
        // C. Every chunk on its own: true states and state gradients, then the step gradients.
        for (int64_t c = 0; c < n_chunks; ++c) {
          const int64_t t0 = c * Q, len = std::min(Q, L - t0);
          const double* Sc = starts.data() + c * N;
          const double* dS_end = dstates.data() + (c + 1) * N;
          scan_from_zero(ch, t0, len, x, dt, A, Bm, local);
          decays_from_start(ch, t0, len, dt, A, from_start);
          std::fill(dlocal.begin(), dlocal.end(), 0.0);
          std::fill(tail.begin(), tail.end(), 0.0);
          for (int64_t j = len - 1; j >= 0; --j) {
            const int64_t t = t0 + j, i = ch.at(t);
            const double delta = dt[i], xt = x[i], u = delta * xt, g = dy[i];
            const T* Bj = Bm + ch.row(t);
            const T* Cj = Cm + ch.row(t);
            double du = 0, d_delta_decay = 0;
            for (int64_t n = 0; n < N; ++n) {
              const double a_n = Ad[n];
              dlocal[n] += static_cast<double>(Cj[n]) * g;  // dŝ_j
              const double dS = dlocal[n] + std::exp(tail[n]) * dS_end[n];
              const double s_cur = local[j * N + n] + from_start[j * N + n] * Sc[n];
              const double s_prev = j > 0 ? local[(j - 1) * N + n] + from_start[(j - 1) * N + n] * Sc[n] : Sc[n];
              dC_sum[t * N + n] += g * s_cur;
              dB_sum[t * N + n] += u * dS;
              du += dS * static_cast<double>(Bj[n]);
              const double lambda = std::exp(delta * a_n);
              const double dlog = dS * lambda * s_prev;
              d_delta_decay += a_n * dlog;
              dA_sum[d * N + n] += delta * dlog;
              dlocal[n] *= lambda;
              tail[n] += delta * a_n;
            }
            dx[i] = static_cast<T>(delta * du);
            ddt[i] = static_cast<T>(xt * du + d_delta_decay);
          }
        }
        if (dh0) {
          for (int64_t n = 0; n < N; ++n) dh0[ch.state() + n] = static_cast<T>(dstates[n]);
        }
      }
    }
  }
  sums.write(dA, dB, dC);
}

#define SSM_INSTANTIATE_CHUNKED(T)                                                                              \
  template void selective_scan_chunked_forward<T>(const SelectiveScanShape&, int64_t, const T*, const T*,      \
                                                  const T*, const T*, const T*, const T*, T*, T*);              \
  template void selective_scan_chunked_backward<T>(const SelectiveScanShape&, int64_t, const T*, const T*,     \
                                                   const T*, const T*, const T*, const T*, const T*, const T*,  \
                                                   T*, T*, T*, T*, T*, T*);
SSM_INSTANTIATE_CHUNKED(float)
SSM_INSTANTIATE_CHUNKED(double)

}  // namespace ssm::cpu
