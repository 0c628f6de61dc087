// ops/scan/gla_cpu_recurrent.cpp — the gated-linear-attention reference: one time step at a time,
// states in double. This is the definition every other implementation is tested against
// (ops/scan/gla.h). Per (batch, head), with a_t = exp(g_t) per key channel and S ∈ R^{K×V}:
//   S_t = diag(a_t)·S_{t-1} + k_t ⊗ v_t
//   post_update:       o_t = S_tᵀ·q_t
//   pre_update_bonus:  o_t = S_{t-1}ᵀ·q_t + (Σ_i q_t[i]·u[i]·k_t[i])·v_t
// Backward is the reverse scan of docs/scans.md. dS holds the gradient of the state after the
// step being undone; walking t downwards:
//   post:   dS += q_t ⊗ do_t;  dq_t = S_t·do_t
//   both:   dk_t = dS·v_t;  dv_t = dSᵀ·k_t;  dg_t = a_t ⊙ rowsum(dS ⊙ S_{t-1});  dS ← diag(a_t)·dS
//   bonus:  dS += q_t ⊗ do_t;  dq_t = S_{t-1}·do_t + u ⊙ k_t·(v_t·do_t);
//           dk_t += u ⊙ q_t·(v_t·do_t);  dv_t += (q_t·u·k_t)·do_t;  du += q_t ⊙ k_t·(v_t·do_t)
// The backward keeps every state of a head ((T+1)·K·V doubles): memory traded for clarity.
// Work is split over (batch, head); u is shared by the batch, so du is summed per batch row and
// reduced after the parallel loop in a fixed order (bit-reproducible).
#include <algorithm>
#include <cmath>
#include <vector>

#include "ops/cpu/cpu_backend.h"  // defines: worth_parallel, scan_work
#include "ops/scan/gla_cpu.h"  // defines: GlaLayout, gla_recurrent_forward, gla_recurrent_backward

namespace ssm::cpu {

template <typename T>
void gla_recurrent_forward(const GlaShape& s, bool bonus, const T* q, const T* k, const T* v, const T* g,
                           const T* u, const T* h0, T* o, T* hT) {
  const GlaLayout lay{s.seqlen, s.heads, s.dk, s.dv};
  const int64_t K = s.dk, V = s.dv;
#pragma omp parallel for collapse(2) schedule(static) if (worth_parallel(scan_work(s)))
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.heads; ++h) {
      std::vector<double> S(K * V, 0.0), out(V);
      if (h0) {
        for (int64_t i = 0; i < K * V; ++i) S[i] = h0[lay.state(b, h) + i];
      }
      for (int64_t t = 0; t < s.seqlen; ++t) {
        const T* qt = q + lay.key(b, t, h);
        const T* kt = k + lay.key(b, t, h);
        const T* gt = g + lay.key(b, t, h);
        const T* vt = v + lay.value(b, t, h);
        std::fill(out.begin(), out.end(), 0.0);
        if (bonus) {  // read S_{t-1} before the update, plus the bonus on the current token
          double qku = 0;
          for (int64_t d = 0; d < K; ++d) qku += static_cast<double>(qt[d]) * u[h * K + d] * kt[d];
          for (int64_t e = 0; e < V; ++e) out[e] = qku * vt[e];
          for (int64_t d = 0; d < K; ++d) {
            for (int64_t e = 0; e < V; ++e) out[e] += qt[d] * S[d * V + e];
          }
        }
        for (int64_t d = 0; d < K; ++d) {
          const double a = std::exp(static_cast<double>(gt[d]));
          for (int64_t e = 0; e < V; ++e) S[d * V + e] = a * S[d * V + e] + static_cast<double>(kt[d]) * vt[e];
        }
        if (!bonus) {  // read S_t, which includes the current token
          for (int64_t d = 0; d < K; ++d) {
            for (int64_t e = 0; e < V; ++e) out[e] += qt[d] * S[d * V + e];
          }
        }
        for (int64_t e = 0; e < V; ++e) o[lay.value(b, t, h) + e] = static_cast<T>(out[e]);
      }
      for (int64_t i = 0; i < K * V; ++i) hT[lay.state(b, h) + i] = static_cast<T>(S[i]);
    }
  }
}

template <typename T>
void gla_recurrent_backward(const GlaShape& s, bool bonus, const T* q, const T* k, const T* v, const T* g,
                            const T* u, const T* h0, const T* dout, const T* dhT, T* dq, T* dk, T* dv, T* dg,
                            T* du, T* dh0) {
  const GlaLayout lay{s.seqlen, s.heads, s.dk, s.dv};
  const int64_t L = s.seqlen, H = s.heads, K = s.dk, V = s.dv;
  std::vector<double> du_parts(bonus ? s.batch * H * K : 0, 0.0);  // (B, H, K), summed over B after
#pragma omp parallel for collapse(2) schedule(static) if (worth_parallel(scan_work(s)))
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < H; ++h) {
      // states[t+1] is S_t; states[0] is the initial state S_{-1}.
      std::vector<double> states((L + 1) * K * V, 0.0);
      if (h0) {
        for (int64_t i = 0; i < K * V; ++i) states[i] = h0[lay.state(b, h) + i];
      }
      for (int64_t t = 0; t < L; ++t) {
        const double* prev = states.data() + t * K * V;
        double* cur = states.data() + (t + 1) * K * V;
        const T* kt = k + lay.key(b, t, h);
        const T* gt = g + lay.key(b, t, h);
        const T* vt = v + lay.value(b, t, h);
        for (int64_t d = 0; d < K; ++d) {
          const double a = std::exp(static_cast<double>(gt[d]));
          for (int64_t e = 0; e < V; ++e) cur[d * V + e] = a * prev[d * V + e] + static_cast<double>(kt[d]) * vt[e];
        }
      }
      std::vector<double> dS(K * V, 0.0), gq(K), gk(K), gv(V);
      if (dhT) {
        for (int64_t i = 0; i < K * V; ++i) dS[i] = dhT[lay.state(b, h) + i];
      }
      for (int64_t t = L - 1; t >= 0; --t) {
        const double* prev = states.data() + t * K * V;
        const double* cur = states.data() + (t + 1) * K * V;
        const int64_t ki = lay.key(b, t, h), vi = lay.value(b, t, h);
        const T* qt = q + ki;
        const T* kt = k + ki;
        const T* gt = g + ki;
        const T* vt = v + vi;
        const T* ot = dout + vi;
        std::fill(gq.begin(), gq.end(), 0.0);
        std::fill(gk.begin(), gk.end(), 0.0);
        std::fill(gv.begin(), gv.end(), 0.0);
        if (!bonus) {  // o_t = S_tᵀ·q_t
          for (int64_t d = 0; d < K; ++d) {
            for (int64_t e = 0; e < V; ++e) {
              dS[d * V + e] += static_cast<double>(qt[d]) * ot[e];
              gq[d] += cur[d * V + e] * ot[e];
            }
          }
        }
        // S_t = diag(a_t)·S_{t-1} + k_t ⊗ v_t
        for (int64_t d = 0; d < K; ++d) {
          const double a = std::exp(static_cast<double>(gt[d]));
          double row = 0;
          for (int64_t e = 0; e < V; ++e) {
            const double ds = dS[d * V + e];
            gk[d] += ds * vt[e];
            gv[e] += ds * kt[d];
            row += ds * prev[d * V + e];
            dS[d * V + e] = a * ds;  // now the gradient of S_{t-1}
          }
          dg[ki + d] = static_cast<T>(a * row);
        }
        if (bonus) {  // o_t = S_{t-1}ᵀ·q_t + (q_t·u·k_t)·v_t
          double vo = 0, qku = 0;
          for (int64_t e = 0; e < V; ++e) vo += static_cast<double>(vt[e]) * ot[e];
          for (int64_t d = 0; d < K; ++d) {
            const double ud = u[h * K + d];
            qku += static_cast<double>(qt[d]) * ud * kt[d];
            for (int64_t e = 0; e < V; ++e) {
              dS[d * V + e] += static_cast<double>(qt[d]) * ot[e];
              gq[d] += prev[d * V + e] * ot[e];
            }
            gq[d] += ud * kt[d] * vo;
            gk[d] += ud * qt[d] * vo;
            du_parts[(b * H + h) * K + d] += static_cast<double>(qt[d]) * kt[d] * vo;
          }
          for (int64_t e = 0; e < V; ++e) gv[e] += qku * ot[e];
        }
        for (int64_t d = 0; d < K; ++d) {
          dq[ki + d] = static_cast<T>(gq[d]);
          dk[ki + d] = static_cast<T>(gk[d]);
        }
        for (int64_t e = 0; e < V; ++e) dv[vi + e] = static_cast<T>(gv[e]);
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

#define SSM_INSTANTIATE_RECURRENT(T)                                                                          \
  template void gla_recurrent_forward<T>(const GlaShape&, bool, const T*, const T*, const T*, const T*,      \
                                         const T*, const T*, T*, T*);                                        \
  template void gla_recurrent_backward<T>(const GlaShape&, bool, const T*, const T*, const T*, const T*,     \
                                          const T*, const T*, const T*, const T*, T*, T*, T*, T*, T*, T*);
SSM_INSTANTIATE_RECURRENT(float)
SSM_INSTANTIATE_RECURRENT(double)

}  // namespace ssm::cpu
