// ops/scan/ssd_cpu_chunked.cpp — the SSD in chunked form (docs/scans.md, chunked SSD), forward and backward.
//
// Split time into chunks of Q steps. Inside chunk c, with local a_j = Δ_j·A (≤ 0), u_j = Δ_j·x_j,
//   cum_i     = Σ_{k≤i} a_k                  decay from the chunk start to step i
//   seg(i,j)  = Σ_{j<k≤i} a_k   (j ≤ i)      decay from step j to step i
//   tail_j    = seg(Q-1, j)                  decay from step j to the chunk end
//   y_i   = e^{cum_i}·S_prev·C_i + Σ_{j≤i} e^{seg(i,j)}·(C_i·B_j)·u_j     ("attention" inside the chunk)
//   S_new = e^{cum_{Q-1}}·S_prev + Σ_j e^{tail_j}·u_j ⊗ B_j               (state passed to the next chunk)
// seg and tail are running sums over a (never differences of two cumulative sums, which lose
// digits), and every exponent is ≤ 0, so nothing overflows.
// Backward differentiates these two lines per chunk, chunks last to first, the chunk-start states
// recomputed from the inputs. The gradient of the log-decays collects four terms (see da below).
#include <cmath>
#include <vector>

#include "ops/cpu/cpu_backend.h"  // defines: worth_parallel, scan_work
#include "ops/scan/ssd_cpu.h"

namespace ssm::cpu {
namespace {

// Per-chunk decay sums for local steps [0, L): cum, tail and the lower-triangular e^{seg}.
struct ChunkDecays {
  std::vector<double> cum, tail, decay;  // decay[i*L + j] = e^{seg(i,j)} for j ≤ i, else 0
  void compute(const std::vector<double>& a, int64_t L) {
    cum.assign(L, 0.0);
    tail.assign(L, 0.0);
    decay.assign(L * L, 0.0);
    double run = 0;
    for (int64_t i = 0; i < L; ++i) cum[i] = (run += a[i]);
    for (int64_t j = L - 2; j >= 0; --j) tail[j] = tail[j + 1] + a[j + 1];
    for (int64_t i = 0; i < L; ++i) {
      double seg = 0;
      for (int64_t j = i; j >= 0; --j) {
        decay[i * L + j] = std::exp(seg);
        if (j > 0) seg += a[j];
      }
    }
  }
};

// Indexing helpers for the (B,T,H,P), (B,T,H) and (B,T,G,N) layouts.
struct Layout {
  int64_t L, H, P, G, N;
  int64_t x(int64_t b, int64_t t, int64_t h) const { return ((b * L + t) * H + h) * P; }
  int64_t dt(int64_t b, int64_t t, int64_t h) const { return (b * L + t) * H + h; }
  int64_t bc(int64_t b, int64_t t, int64_t g) const { return ((b * L + t) * G + g) * N; }
};

// Reads chunk [t0, t0+L) of head h: a_j = Δ_j·A_h and u_j = Δ_j·x_j (u is (L, P)), and its decays.
template <typename T>
void load_chunk(const Layout& lay, int64_t b, int64_t h, int64_t t0, int64_t L, const T* x, const T* dt, const T* A,
                std::vector<double>& a, std::vector<double>& u, ChunkDecays& d) {
  a.assign(L, 0.0);
  u.assign(L * lay.P, 0.0);
  for (int64_t j = 0; j < L; ++j) {
    const double delta = dt[lay.dt(b, t0 + j, h)];
    a[j] = delta * static_cast<double>(A[h]);
    for (int64_t p = 0; p < lay.P; ++p) u[j * lay.P + p] = delta * x[lay.x(b, t0 + j, h) + p];
  }
  d.compute(a, L);
}

// The state handed to the next chunk: S ← e^{cum_{L-1}}·S + Σ_j e^{tail_j}·u_j ⊗ B_j.
template <typename T>
void pass_state(const Layout& lay, int64_t b, int64_t g, int64_t t0, int64_t L, const T* Bm,
                const std::vector<double>& u, const ChunkDecays& d, std::vector<double>& S) {
  const int64_t P = lay.P, N = lay.N;
  const double chunk_decay = std::exp(d.cum[L - 1]);
  for (double& v : S) v *= chunk_decay;
  for (int64_t j = 0; j < L; ++j) {
    const T* Bj = Bm + lay.bc(b, t0 + j, g);
    const double e = std::exp(d.tail[j]);
    for (int64_t p = 0; p < P; ++p) {
      for (int64_t n = 0; n < N; ++n) S[p * N + n] += e * u[j * P + p] * Bj[n];
    }
  }
}

}  // namespace

template <typename T>
void ssd_chunked_forward(const SsdShape& s, int64_t Q, const T* x, const T* dt, const T* A, const T* Bm, const T* Cm,
                         const T* h0, T* y, T* hT) {
  const Layout lay{s.seqlen, s.heads, s.headdim, s.groups, s.dstate};
  const int64_t P = s.headdim, N = s.dstate, heads_per_group = s.heads / s.groups;
#pragma omp parallel for collapse(2) schedule(static) if (worth_parallel(scan_work(s)))
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.heads; ++h) {
      const int64_t g = h / heads_per_group;
      std::vector<double> S(P * N, 0.0), a, u;
      ChunkDecays d;
      if (h0) {
        for (int64_t i = 0; i < P * N; ++i) S[i] = h0[(b * s.heads + h) * P * N + i];
      }
      for (int64_t t0 = 0; t0 < s.seqlen; t0 += Q) {
        const int64_t L = std::min(Q, s.seqlen - t0);
        load_chunk(lay, b, h, t0, L, x, dt, A, a, u, d);
        std::vector<double> yi(P);
        for (int64_t i = 0; i < L; ++i) {
          const T* Ci = Cm + lay.bc(b, t0 + i, g);
          const double from_state = std::exp(d.cum[i]);
          for (int64_t p = 0; p < P; ++p) {
            double acc = 0;
            for (int64_t n = 0; n < N; ++n) acc += S[p * N + n] * Ci[n];
            yi[p] = from_state * acc;
          }
          for (int64_t j = 0; j <= i; ++j) {
            const T* Bj = Bm + lay.bc(b, t0 + j, g);
            double cb = 0;
            for (int64_t n = 0; n < N; ++n) cb += static_cast<double>(Ci[n]) * Bj[n];
            const double w = d.decay[i * L + j] * cb;
            for (int64_t p = 0; p < P; ++p) yi[p] += w * u[j * P + p];
          }
          for (int64_t p = 0; p < P; ++p) y[lay.x(b, t0 + i, h) + p] = static_cast<T>(yi[p]);
        }
        pass_state(lay, b, g, t0, L, Bm, u, d, S);
      }
      for (int64_t i = 0; i < P * N; ++i) hT[(b * s.heads + h) * P * N + i] = static_cast<T>(S[i]);
    }
  }
}

template <typename T>
void ssd_chunked_backward(const SsdShape& s, int64_t Q, const T* x, const T* dt, const T* A, const T* Bm,
                          const T* Cm, const T* h0, const T* dy, const T* dhT, T* dx, T* ddt, T* dA, T* dB, T* dC,
                          T* dh0) {
  const Layout lay{s.seqlen, s.heads, s.headdim, s.groups, s.dstate};
  const int64_t P = s.headdim, N = s.dstate, H = s.heads, heads_per_group = H / s.groups;
  const int64_t n_chunks = (s.seqlen + Q - 1) / Q;
  std::vector<double> dA_parts(s.batch * H, 0.0);
  std::vector<double> dB_acc(s.batch * s.seqlen * s.groups * N, 0.0), dC_acc(dB_acc.size(), 0.0);
#pragma omp parallel for collapse(2) schedule(static) if (worth_parallel(scan_work(s)))
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t g = 0; g < s.groups; ++g) {
      std::vector<double> starts(n_chunks * P * N), dS(P * N), dS_prev(P * N), a, u, du, da, w;
      ChunkDecays d;
      for (int64_t h = g * heads_per_group; h < (g + 1) * heads_per_group; ++h) {
        // 1. Chunk-start states, recomputed with the forward's state passing.
        std::vector<double> S(P * N, 0.0);
        if (h0) {
          for (int64_t i = 0; i < P * N; ++i) S[i] = h0[(b * H + h) * P * N + i];
        }
        for (int64_t c = 0; c < n_chunks; ++c) {
          const int64_t t0 = c * Q, L = std::min(Q, s.seqlen - t0);
          std::copy(S.begin(), S.end(), starts.begin() + c * P * N);
          load_chunk(lay, b, h, t0, L, x, dt, A, a, u, d);
          pass_state(lay, b, g, t0, L, Bm, u, d, S);
        }
        // 2. Chunks last to first; dS is the gradient of the state at the current chunk's end.
        for (int64_t i = 0; i < P * N; ++i) dS[i] = dhT ? static_cast<double>(dhT[(b * H + h) * P * N + i]) : 0.0;
        for (int64_t c = n_chunks - 1; c >= 0; --c) {
          const int64_t t0 = c * Q, L = std::min(Q, s.seqlen - t0);
          const double* Sp = starts.data() + c * P * N;
          load_chunk(lay, b, h, t0, L, x, dt, A, a, u, d);
          du.assign(L * P, 0.0);
          da.assign(L, 0.0);
          w.assign(L * L, 0.0);
          const double chunk_decay = std::exp(d.cum[L - 1]);
          // S_new = e^{cum_{L-1}}·S_prev + Σ_j e^{tail_j} u_j ⊗ B_j
          double q = 0;
          for (int64_t i = 0; i < P * N; ++i) {
            q += dS[i] * Sp[i];
            dS_prev[i] = chunk_decay * dS[i];
          }
          q *= chunk_decay;  // d(log-decay) of every step in the chunk
          std::vector<double> v(L, 0.0);
          for (int64_t j = 0; j < L; ++j) {
            const T* Bj = Bm + lay.bc(b, t0 + j, g);
            const double e = std::exp(d.tail[j]);
            double vj = 0;
            for (int64_t p = 0; p < P; ++p) {
              double dsb = 0;
              for (int64_t n = 0; n < N; ++n) {
                dsb += dS[p * N + n] * Bj[n];
                dB_acc[lay.bc(b, t0 + j, g) + n] += e * dS[p * N + n] * u[j * P + p];
              }
              du[j * P + p] += e * dsb;
              vj += u[j * P + p] * dsb;
            }
            v[j] = e * vj;  // d(log-decay) of steps after j
          }
          // y_i = e^{cum_i}·S_prev·C_i + Σ_{j≤i} e^{seg(i,j)}(C_i·B_j) u_j
          std::vector<double> r(L, 0.0);
          for (int64_t i = 0; i < L; ++i) {
            const T* Ci = Cm + lay.bc(b, t0 + i, g);
            const T* gi = dy + lay.x(b, t0 + i, h);
            const double e = std::exp(d.cum[i]);
            double ri = 0;
            for (int64_t p = 0; p < P; ++p) {
              double sc = 0;
              for (int64_t n = 0; n < N; ++n) {
                sc += Sp[p * N + n] * Ci[n];
                dS_prev[p * N + n] += e * gi[p] * Ci[n];
                dC_acc[lay.bc(b, t0 + i, g) + n] += e * Sp[p * N + n] * gi[p];
              }
              ri += gi[p] * sc;
            }
            r[i] = e * ri;  // d(log-decay) of steps up to i
            for (int64_t j = 0; j <= i; ++j) {
              const T* Bj = Bm + lay.bc(b, t0 + j, g);
              double cb = 0, gu = 0;
              for (int64_t n = 0; n < N; ++n) cb += static_cast<double>(Ci[n]) * Bj[n];
              for (int64_t p = 0; p < P; ++p) gu += gi[p] * u[j * P + p];
              const double dec = d.decay[i * L + j];
              for (int64_t n = 0; n < N; ++n) {
                dC_acc[lay.bc(b, t0 + i, g) + n] += dec * gu * Bj[n];
                dB_acc[lay.bc(b, t0 + j, g) + n] += dec * gu * Ci[n];
              }
              for (int64_t p = 0; p < P; ++p) du[j * P + p] += dec * cb * gi[p];
              if (j < i) w[i * L + j] = dec * cb * gu;  // d(log-decay) of steps j+1..i
            }
          }
          // da_k = Σ_{i≥k} r_i + q + Σ_{j<k} v_j + M_k,  M_k = Σ_{i≥k} Σ_{j<k} w_ij, updated as
          // M_{k+1} = M_k - Σ_{j<k} w_kj + Σ_{i>k} w_ik (O(L²) instead of O(L³)).
          double r_after = 0;
          for (int64_t k = 0; k < L; ++k) r_after += r[k];
          double v_before = 0, m = 0;
          for (int64_t k = 0; k < L; ++k) {
            da[k] = r_after + q + v_before + m;
            r_after -= r[k];
            v_before += v[k];
            for (int64_t j = 0; j < k; ++j) m -= w[k * L + j];
            for (int64_t i = k + 1; i < L; ++i) m += w[i * L + k];
          }
          for (int64_t j = 0; j < L; ++j) {
            const double delta = dt[lay.dt(b, t0 + j, h)];
            double dd = 0;
            for (int64_t p = 0; p < P; ++p) {
              dx[lay.x(b, t0 + j, h) + p] = static_cast<T>(delta * du[j * P + p]);
              dd += du[j * P + p] * x[lay.x(b, t0 + j, h) + p];
            }
            ddt[lay.dt(b, t0 + j, h)] = static_cast<T>(dd + static_cast<double>(A[h]) * da[j]);
            dA_parts[b * H + h] += delta * da[j];
          }
          dS.swap(dS_prev);
        }
        if (dh0) {
          for (int64_t i = 0; i < P * N; ++i) dh0[(b * H + h) * P * N + i] = static_cast<T>(dS[i]);
        }
      }
    }
  }
  for (int64_t h = 0; h < H; ++h) {
    double total = 0;
    for (int64_t b = 0; b < s.batch; ++b) total += dA_parts[b * H + h];
    dA[h] = static_cast<T>(total);
  }
  for (size_t i = 0; i < dB_acc.size(); ++i) {
    dB[i] = static_cast<T>(dB_acc[i]);
    dC[i] = static_cast<T>(dC_acc[i]);
  }
}

#define SSM_INSTANTIATE_CHUNKED(T)                                                                              \
  template void ssd_chunked_forward<T>(const SsdShape&, int64_t, const T*, const T*, const T*, const T*, const T*, \
                                       const T*, T*, T*);                                                       \
  template void ssd_chunked_backward<T>(const SsdShape&, int64_t, const T*, const T*, const T*, const T*,         \
                                        const T*, const T*, const T*, const T*, T*, T*, T*, T*, T*, T*);
SSM_INSTANTIATE_CHUNKED(float)
SSM_INSTANTIATE_CHUNKED(double)

}  // namespace ssm::cpu
