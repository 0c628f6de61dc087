// ops/scan/gla_cpu_chunked.cpp — gated linear attention in chunked form (docs/scans.md, chunked GLA),
// forward and backward; the CPU runs it only with model.scan: chunked (auto runs the recurrence there).
//
// Split time into chunks of Q steps. Inside a chunk of L ≤ Q steps, call "point P" the state after
// the chunk's first P steps: point 0 is the incoming state S_0, point L the state handed on, and
// the write k_j ⊗ v_j enters at point j+1. Between two points every key channel decays by
//   D(P, J) = exp(Σ_{J ≤ s < P} g_s)       (per key channel, 0 ≤ J ≤ P ≤ L)
// so, with p = i+1 (post_update) or p = i (pre_update_bonus) the point that output i reads,
//   o_i   = Σ_d q_i[d]·D(p,0)[d]·S_0[d,:] + Σ_{j<p} A_ij·v_j  (+ (q_i·u·k_i)·v_i with bonus)
//   A_ij  = Σ_d q_i[d]·k_j[d]·D(p,j+1)[d]
//   S_new = D(L,0) ⊙ S_0 + Σ_j D(L,j+1) ⊙ k_j ⊗ v_j           (row d scaled by D[d])
// Every D is formed pairwise as the exponential of a running sum of the steps between the two
// points, so every exponent is ≤ 0 (g ≤ 0): nothing overflows however strongly one step decays. (The
// factorisation (q_i·e^{b_i})·(k_j·e^{-b_j}) would overflow once a chunk's log-decay passes ~88
// in f32 or ~709 in f64, which a few RWKV-6 steps of g ≈ -60 reach.)
//
// Backward, per chunk, chunks last to first, the chunk-start states recomputed by re-running the
// state passing: every term above is (something)·D(P,J) for a "reader" point P (an output, or
// S_new) and a "source" point J (S_0, or a write). Its weight W(P,J) = <gradient, term> is the
// derivative of the loss with respect to log D(P,J), so
//   dg_s = Σ_{(P,J): J ≤ s < P} W(P,J)
// which is summed as genuine contributions (suffix sums over P, then a sum over J ≤ s); nothing
// is added and later subtracted. The S_0 source makes dg correct with a nonzero initial state.
// Only one reader's row of decays is held at a time, so a chunk needs O(Q·(K+V)) memory and
// O(Q²·(K+V)) work; the state gradient between chunks is the gradient left on S_0.
// Work is split over (batch, head); du is summed per batch row and reduced after (reproducible).
#include <algorithm>
#include <cmath>
#include <vector>

#include "ops/cpu/cpu_backend.h"  // defines: worth_parallel, scan_work
#include "ops/scan/gla_cpu.h"  // defines: GlaLayout, gla_chunked_forward, gla_chunked_backward

namespace ssm::cpu {
namespace {

// One chunk of one (batch, head): steps [t0, t0+L).
struct Chunk {
  int64_t b, h, t0, L;
};

// The decays from every point J ≤ P to point P: row[J·K + d] = D(P, J)[d]. Built from J = P
// downwards as a running sum of one step at a time (never a difference of two cumulative sums),
// so every exponent is ≤ 0. Only one reader's row is held at a time: memory O(Q·K).
template <typename T>
void decay_row(const GlaLayout& lay, const Chunk& c, const T* g, int64_t P, std::vector<double>& row) {
  const int64_t K = lay.K;
  row.assign((P + 1) * K, 0.0);
  std::vector<double> seg(K, 0.0);
  for (int64_t J = P; J >= 0; --J) {
    for (int64_t d = 0; d < K; ++d) row[J * K + d] = std::exp(seg[d]);
    if (J > 0) {
      const T* gs = g + lay.key(c.b, c.t0 + J - 1, c.h);
      for (int64_t d = 0; d < K; ++d) seg[d] += gs[d];
    }
  }
}

// The point output i reads: after its own write (post_update) or before it (pre_update_bonus).
int64_t read_point(int64_t i, bool bonus) { return bonus ? i : i + 1; }

// S ← S_new = D(L,0) ⊙ S + Σ_j D(L,j+1) ⊙ k_j ⊗ v_j.
template <typename T>
void pass_state(const GlaLayout& lay, const Chunk& c, const T* k, const T* v, const T* g, std::vector<double>& S) {
  const int64_t K = lay.K, V = lay.V;
  std::vector<double> row;
  decay_row(lay, c, g, c.L, row);
  for (int64_t d = 0; d < K; ++d) {
    for (int64_t e = 0; e < V; ++e) S[d * V + e] *= row[d];
  }
  for (int64_t j = 0; j < c.L; ++j) {
    const T* kj = k + lay.key(c.b, c.t0 + j, c.h);
    const T* vj = v + lay.value(c.b, c.t0 + j, c.h);
    for (int64_t d = 0; d < K; ++d) {
      const double w = row[(j + 1) * K + d] * kj[d];
      for (int64_t e = 0; e < V; ++e) S[d * V + e] += w * vj[e];
    }
  }
}

// Writes the chunk's outputs o_i from the incoming state S0 and the chunk's own writes.
template <typename T>
void chunk_outputs(const GlaLayout& lay, const Chunk& c, bool bonus, const T* q, const T* k, const T* v, const T* g,
                   const T* u, const std::vector<double>& S0, T* o) {
  const int64_t K = lay.K, V = lay.V;
  std::vector<double> out(V), row;
  for (int64_t i = 0; i < c.L; ++i) {
    const int64_t P = read_point(i, bonus);
    decay_row(lay, c, g, P, row);
    const T* qi = q + lay.key(c.b, c.t0 + i, c.h);
    std::fill(out.begin(), out.end(), 0.0);
    for (int64_t d = 0; d < K; ++d) {  // the incoming state, decayed to point P
      const double w = qi[d] * row[d];
      for (int64_t e = 0; e < V; ++e) out[e] += w * S0[d * V + e];
    }
    for (int64_t j = 0; j < P; ++j) {  // the chunk's writes before point P
      const T* kj = k + lay.key(c.b, c.t0 + j, c.h);
      const T* vj = v + lay.value(c.b, c.t0 + j, c.h);
      const double* dec = row.data() + (j + 1) * K;
      double score = 0;
      for (int64_t d = 0; d < K; ++d) score += static_cast<double>(qi[d]) * kj[d] * dec[d];
      for (int64_t e = 0; e < V; ++e) out[e] += score * vj[e];
    }
    if (bonus) {
      const T* ki = k + lay.key(c.b, c.t0 + i, c.h);
      const T* vi = v + lay.value(c.b, c.t0 + i, c.h);
      double qku = 0;
      for (int64_t d = 0; d < K; ++d) qku += static_cast<double>(qi[d]) * u[c.h * K + d] * ki[d];
      for (int64_t e = 0; e < V; ++e) out[e] += qku * vi[e];
    }
    T* oi = o + lay.value(c.b, c.t0 + i, c.h);
    for (int64_t e = 0; e < V; ++e) oi[e] = static_cast<T>(out[e]);
  }
}

// Per-thread buffers of one chunk's backward (memory O(Q·(K+V))).
struct ChunkGrads {
  std::vector<double> gq, gk, gv, dg;  // (L,K), (L,K), (L,V), (L,K)
  std::vector<double> row, w, run;     // (P+1,K) decays and weights of one reader; (L+1,K) suffix sums
  void reset(int64_t L, int64_t K, int64_t V) {
    gq.assign(L * K, 0.0);
    gk.assign(L * K, 0.0);
    gv.assign(L * V, 0.0);
    dg.assign(L * K, 0.0);
    run.assign((L + 1) * K, 0.0);
  }
};

// Gradients of one chunk: dSn is the gradient of S_new, S0 the recomputed incoming state. Writes
// dq, dk, dv, dg of the chunk, adds to du_part (K), and leaves the gradient of S0 in dS0.
// Readers are visited last to first (P = L .. 0); run[J] then holds Σ_{P' ≥ P} W(P', J), so after
// reader P the log-decay of step P-1 is complete: dg_{P-1} = Σ_{J ≤ P-1} run[J].
template <typename T>
void chunk_backward(const GlaLayout& lay, const Chunk& c, bool bonus, const T* q, const T* k, const T* v, const T* g,
                    const T* u, const T* dout, const std::vector<double>& S0, const std::vector<double>& dSn,
                    ChunkGrads& gr, double* du_part, std::vector<double>& dS0, T* dq, T* dk, T* dv, T* dg) {
  const int64_t K = lay.K, V = lay.V, L = c.L;
  gr.reset(L, K, V);
  std::fill(dS0.begin(), dS0.end(), 0.0);
  for (int64_t P = L; P >= 0; --P) {
    decay_row(lay, c, g, P, gr.row);
    gr.w.assign((P + 1) * K, 0.0);  // W(P, J) for J ≤ P
    const double* row = gr.row.data();
    double* w = gr.w.data();

    if (P == L) {  // reader S_new = D(L,0) ⊙ S0 + Σ_j D(L,j+1) ⊙ k_j ⊗ v_j
      for (int64_t d = 0; d < K; ++d) {
        double sum = 0;
        for (int64_t e = 0; e < V; ++e) {
          sum += dSn[d * V + e] * S0[d * V + e];
          dS0[d * V + e] += row[d] * dSn[d * V + e];
        }
        w[d] += row[d] * sum;
      }
      for (int64_t j = 0; j < L; ++j) {
        const T* kj = k + lay.key(c.b, c.t0 + j, c.h);
        const T* vj = v + lay.value(c.b, c.t0 + j, c.h);
        const double* dec = row + (j + 1) * K;
        for (int64_t d = 0; d < K; ++d) {
          double dsv = 0;
          for (int64_t e = 0; e < V; ++e) {
            dsv += dSn[d * V + e] * vj[e];
            gr.gv[j * V + e] += dec[d] * kj[d] * dSn[d * V + e];
          }
          gr.gk[j * K + d] += dec[d] * dsv;
          w[(j + 1) * K + d] += dec[d] * kj[d] * dsv;
        }
      }
    }

    const int64_t i = bonus ? P : P - 1;  // the output that reads point P, if any
    if (i >= 0 && i < L) {
      const T* qi = q + lay.key(c.b, c.t0 + i, c.h);
      const T* doi = dout + lay.value(c.b, c.t0 + i, c.h);
      for (int64_t d = 0; d < K; ++d) {  // from the incoming state
        double so = 0;
        for (int64_t e = 0; e < V; ++e) {
          so += S0[d * V + e] * doi[e];
          dS0[d * V + e] += qi[d] * row[d] * doi[e];
        }
        gr.gq[i * K + d] += row[d] * so;
        w[d] += qi[d] * row[d] * so;
      }
      for (int64_t j = 0; j < P; ++j) {  // from the writes before point P
        const T* kj = k + lay.key(c.b, c.t0 + j, c.h);
        const T* vj = v + lay.value(c.b, c.t0 + j, c.h);
        const double* dec = row + (j + 1) * K;
        double vo = 0, score = 0;
        for (int64_t e = 0; e < V; ++e) vo += static_cast<double>(vj[e]) * doi[e];
        for (int64_t d = 0; d < K; ++d) {
          const double qkd = static_cast<double>(qi[d]) * kj[d] * dec[d];
          gr.gq[i * K + d] += dec[d] * kj[d] * vo;
          gr.gk[j * K + d] += dec[d] * qi[d] * vo;
          w[(j + 1) * K + d] += qkd * vo;
          score += qkd;
        }
        for (int64_t e = 0; e < V; ++e) gr.gv[j * V + e] += score * doi[e];
      }
      if (bonus) {  // (q_i·u·k_i)·v_i: no decay involved
        const T* ki = k + lay.key(c.b, c.t0 + i, c.h);
        const T* vi = v + lay.value(c.b, c.t0 + i, c.h);
        double vo = 0, qku = 0;
        for (int64_t e = 0; e < V; ++e) vo += static_cast<double>(vi[e]) * doi[e];
        for (int64_t d = 0; d < K; ++d) {
          const double ud = u[c.h * K + d];
          qku += static_cast<double>(qi[d]) * ud * ki[d];
          gr.gq[i * K + d] += ud * ki[d] * vo;
          gr.gk[i * K + d] += ud * qi[d] * vo;
          du_part[d] += static_cast<double>(qi[d]) * ki[d] * vo;
        }
        for (int64_t e = 0; e < V; ++e) gr.gv[i * V + e] += qku * doi[e];
      }
    }

    // dg_s = Σ_{J ≤ s} Σ_{P > s} W(P,J): fold this reader in, then step s = P-1 is complete.
    for (int64_t J = 0; J < P; ++J) {
      for (int64_t d = 0; d < K; ++d) gr.run[J * K + d] += w[J * K + d];
    }
    if (P >= 1) {
      for (int64_t J = 0; J < P; ++J) {
        for (int64_t d = 0; d < K; ++d) gr.dg[(P - 1) * K + d] += gr.run[J * K + d];
      }
    }
  }

  for (int64_t i = 0; i < L; ++i) {
    const int64_t ki = lay.key(c.b, c.t0 + i, c.h), vi = lay.value(c.b, c.t0 + i, c.h);
    for (int64_t d = 0; d < K; ++d) {
      dq[ki + d] = static_cast<T>(gr.gq[i * K + d]);
      dk[ki + d] = static_cast<T>(gr.gk[i * K + d]);
      dg[ki + d] = static_cast<T>(gr.dg[i * K + d]);
    }
    for (int64_t e = 0; e < V; ++e) dv[vi + e] = static_cast<T>(gr.gv[i * V + e]);
  }
}

}  // namespace

template <typename T>
void gla_chunked_forward(const GlaShape& s, int64_t Q, bool bonus, const T* q, const T* k, const T* v, const T* g,
                         const T* u, const T* h0, T* o, T* hT) {
  const GlaLayout lay{s.seqlen, s.heads, s.dk, s.dv};
  const int64_t K = s.dk, V = s.dv;
  const int64_t n_chunks = s.seqlen == 0 ? 0 : 1 + (s.seqlen - 1) / Q;  // no overflow for huge Q
#pragma omp parallel for collapse(2) schedule(static) if (worth_parallel(scan_work(s)))
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.heads; ++h) {
      std::vector<double> S(K * V, 0.0);
      if (h0) {
        for (int64_t i = 0; i < K * V; ++i) S[i] = h0[lay.state(b, h) + i];
      }
      for (int64_t ci = 0; ci < n_chunks; ++ci) {
        const Chunk c{b, h, ci * Q, std::min(Q, s.seqlen - ci * Q)};
        chunk_outputs(lay, c, bonus, q, k, v, g, u, S, o);
        pass_state(lay, c, k, v, g, S);
      }
      for (int64_t i = 0; i < K * V; ++i) hT[lay.state(b, h) + i] = static_cast<T>(S[i]);
    }
  }
}

template <typename T>
void gla_chunked_backward(const GlaShape& s, int64_t Q, bool bonus, const T* q, const T* k, const T* v,
                          const T* g, const T* u, const T* h0, const T* dout, const T* dhT, T* dq, T* dk, T* dv,
                          T* dg, T* du, T* dh0) {
  const GlaLayout lay{s.seqlen, s.heads, s.dk, s.dv};
  const int64_t H = s.heads, K = s.dk, V = s.dv;
  const int64_t n_chunks = s.seqlen == 0 ? 0 : 1 + (s.seqlen - 1) / Q;  // no overflow for huge Q
  std::vector<double> du_parts(s.batch * H * K, 0.0);  // (B, H, K), summed over B after
#pragma omp parallel for collapse(2) schedule(static) if (worth_parallel(scan_work(s)))
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < H; ++h) {
      // 1. Chunk-start states, recomputed with the forward's state passing.
      std::vector<double> starts(n_chunks * K * V), S(K * V, 0.0);
      if (h0) {
        for (int64_t i = 0; i < K * V; ++i) S[i] = h0[lay.state(b, h) + i];
      }
      for (int64_t c = 0; c < n_chunks; ++c) {
        std::copy(S.begin(), S.end(), starts.begin() + c * K * V);
        pass_state(lay, Chunk{b, h, c * Q, std::min(Q, s.seqlen - c * Q)}, k, v, g, S);
      }
      // 2. Chunks last to first; dS is the gradient of the state at the current chunk's end.
      std::vector<double> dS(K * V, 0.0), dS_prev(K * V), S0(K * V);
      if (dhT) {
        for (int64_t i = 0; i < K * V; ++i) dS[i] = dhT[lay.state(b, h) + i];
      }
      ChunkGrads gr;
      for (int64_t c = n_chunks - 1; c >= 0; --c) {
        const Chunk ch{b, h, c * Q, std::min(Q, s.seqlen - c * Q)};
        std::copy(starts.begin() + c * K * V, starts.begin() + (c + 1) * K * V, S0.begin());
        chunk_backward(lay, ch, bonus, q, k, v, g, u, dout, S0, dS, gr, du_parts.data() + (b * H + h) * K,
                       dS_prev, dq, dk, dv, dg);
        dS.swap(dS_prev);
      }
      if (dh0) {
        for (int64_t i = 0; i < K * V; ++i) dh0[lay.state(b, h) + i] = static_cast<T>(dS[i]);
      }
    }
  }
  if (bonus) {
    for (int64_t i = 0; i < H * K; ++i) {
      double total = 0;
      for (int64_t b = 0; b < s.batch; ++b) total += du_parts[b * H * K + i];
      du[i] = static_cast<T>(total);
    }
  }
}

#define SSM_INSTANTIATE_CHUNKED(T)                                                                              \
  template void gla_chunked_forward<T>(const GlaShape&, int64_t, bool, const T*, const T*, const T*, const T*, \
                                       const T*, const T*, T*, T*);                                           \
  template void gla_chunked_backward<T>(const GlaShape&, int64_t, bool, const T*, const T*, const T*,          \
                                        const T*, const T*, const T*, const T*, const T*, T*, T*, T*, T*, T*,  \
                                        T*);
SSM_INSTANTIATE_CHUNKED(float)
SSM_INSTANTIATE_CHUNKED(double)

}  // namespace ssm::cpu
