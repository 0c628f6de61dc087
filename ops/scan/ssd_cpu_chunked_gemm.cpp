// ops/scan/ssd_cpu_chunked_gemm.cpp — the chunked SSD in f32 with its products as GEMMs: what the CPU
// runs when a model asks for the chunked form (model.scan: chunked), forward and backward.
//
// The algorithm is ssd_cpu_chunked.cpp's (docs/scans.md, chunked SSD), which stays the readable
// reference and the f64 path. Per chunk of L ≤ Q steps, with U = Δ·X (L×P), decays as there:
//   Y   = (Dec ∘ C·Bᵀ)·U + diag(e^cum)·C·S_prevᵀ                          (L×P)
//   S   = e^{cum_{L-1}}·S_prev + (diag(e^tail)·U)ᵀ·B                       (P×N)
// where Dec is the lower-triangular e^{seg(i,j)}. Every product above, and every product of the
// backward (below), is one cblas_sgemm on L×N, L×P, L×L or P×N blocks, instead of the
// reference's scalar loops over pairs of steps. OpenBLAS's OpenMP build runs a GEMM called inside
// the parallel loop on the calling thread, so jobs stay independent.
//
// Backward, chunks last to first, G = dY (L×P), dS the gradient of the chunk's end state:
//   dS_prev = e^{cum_{L-1}}·dS + (diag(e^cum)·G)ᵀ·C          dU = diag(e^tail)·B·dSᵀ + (Dec ∘ C·Bᵀ)ᵀ·G
//   dB += diag(e^tail)·U·dS + Wᵀ·C                            dC += diag(e^cum)·G·S_prev + W·B
// with W = Dec ∘ (G·Uᵀ); the gradient of the log-decays collects the same four terms as the
// reference (q, r, v and the pair sums of W ∘ C·Bᵀ). Sums over a chunk's steps are f32 GEMMs;
// the per-chunk scalars and dA are accumulated in double. The tests hold this kernel to the f64
// recurrence (values and every gradient) at sizes that end on partial chunks.
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "ops/cpu/cpu_backend.h"  // defines: worth_parallel, scan_work
#include "ops/scan/ssd_cpu.h"

namespace ssm::cpu {
namespace {

// Offsets into the (B,T,H,P), (B,T,H) and (B,T,G,N) layouts.
struct Layout {
  int64_t T, H, P, G, N;
  int64_t x(int64_t b, int64_t t, int64_t h) const { return ((b * T + t) * H + h) * P; }
  int64_t dt(int64_t b, int64_t t, int64_t h) const { return (b * T + t) * H + h; }
  int64_t bc(int64_t b, int64_t t, int64_t g) const { return ((b * T + t) * G + g) * N; }
};

// C (m×n) = alpha·op(A)·op(B) + beta·C, row-major; lda/ldb/ldc are the row strides.
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a, static_cast<int>(lda), b,
              static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
}

// One chunk of one head: U = Δ·x (L×P), the log-decays, their running sums and Dec (L×L). The
// B and C rows of the chunk are read in place: a group's rows of one step are N contiguous
// floats, one step apart by G·N (the leading dimension of the GEMMs that read them).
struct Chunk {
  int64_t L = 0;
  std::vector<float> u, dec, e_cum, e_tail;  // (L×P), (L×L), (L), (L)
  std::vector<double> a, cum, tail;         // (L)

  void load(const Layout& lay, int64_t b, int64_t h, int64_t t0, int64_t len, const float* x, const float* dt,
            float a_h) {
    L = len;
    const int64_t P = lay.P;
    u.resize(L * P);
    a.resize(L);
    cum.resize(L);
    tail.assign(L, 0.0);
    dec.assign(L * L, 0.0f);
    e_cum.resize(L);
    e_tail.resize(L);
    double run = 0;
    for (int64_t j = 0; j < L; ++j) {
      const float delta = dt[lay.dt(b, t0 + j, h)];
      a[j] = static_cast<double>(delta) * a_h;
      cum[j] = (run += a[j]);
      const float* xj = x + lay.x(b, t0 + j, h);
      for (int64_t p = 0; p < P; ++p) u[j * P + p] = delta * xj[p];
    }
    for (int64_t j = L - 2; j >= 0; --j) tail[j] = tail[j + 1] + a[j + 1];
    for (int64_t i = 0; i < L; ++i) {
      double seg = 0;  // a running sum, never a difference of cumulative sums
      for (int64_t j = i; j >= 0; --j) {
        dec[i * L + j] = static_cast<float>(std::exp(seg));
        seg += a[j];
      }
      e_cum[i] = static_cast<float>(std::exp(cum[i]));
      e_tail[i] = static_cast<float>(std::exp(tail[i]));
    }
  }
};

}  // namespace

void ssd_chunked_gemm_forward(const SsdShape& s, int64_t Q, const float* x, const float* dt, const float* A,
                              const float* Bm, const float* Cm, const float* h0, float* y, float* hT) {
  const Layout lay{s.seqlen, s.heads, s.headdim, s.groups, s.dstate};
  const int64_t P = s.headdim, N = s.dstate, H = s.heads, GN = s.groups * s.dstate, heads_per_group = H / s.groups;
#pragma omp parallel for collapse(2) schedule(static) if (worth_parallel(scan_work(s)))
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < H; ++h) {
      const int64_t g = h / heads_per_group;
      float* S = hT + (b * H + h) * P * N;  // the carried state lives where the final one goes
      if (h0) {
        std::copy(h0 + (b * H + h) * P * N, h0 + (b * H + h + 1) * P * N, S);
      } else {
        std::fill(S, S + P * N, 0.0f);
      }
      Chunk c;
      std::vector<float> m, tu;
      for (int64_t t0 = 0; t0 < s.seqlen; t0 += Q) {
        const int64_t L = std::min(Q, s.seqlen - t0);
        c.load(lay, b, h, t0, L, x, dt, A[h]);
        const float* Bc = Bm + lay.bc(b, t0, g);
        const float* Cc = Cm + lay.bc(b, t0, g);
        float* Yc = y + lay.x(b, t0, h);  // rows H·P apart
        // Y = C·S_prevᵀ scaled by e^cum per row, then + (Dec ∘ C·Bᵀ)·U.
        gemm(false, true, L, P, N, 1.0f, Cc, GN, S, N, 0.0f, Yc, H * P);
        for (int64_t i = 0; i < L; ++i) {
          for (int64_t p = 0; p < P; ++p) Yc[i * H * P + p] *= c.e_cum[i];
        }
        m.resize(L * L);
        gemm(false, true, L, L, N, 1.0f, Cc, GN, Bc, GN, 0.0f, m.data(), L);
        for (int64_t i = 0; i < L * L; ++i) m[i] *= c.dec[i];
        gemm(false, false, L, P, L, 1.0f, m.data(), L, c.u.data(), P, 1.0f, Yc, H * P);
        // S = e^{cum_{L-1}}·S + (diag(e^tail)·U)ᵀ·B.
        tu.resize(L * P);
        for (int64_t j = 0; j < L; ++j) {
          for (int64_t p = 0; p < P; ++p) tu[j * P + p] = c.e_tail[j] * c.u[j * P + p];
        }
        gemm(true, false, P, N, L, 1.0f, tu.data(), P, Bc, GN, c.e_cum[L - 1], S, N);
      }
    }
  }
}

void ssd_chunked_gemm_backward(const SsdShape& s, int64_t Q, const float* x, const float* dt, const float* A,
                               const float* Bm, const float* Cm, const float* h0, const float* dy, const float* dhT,
                               float* dx, float* ddt, float* dA, float* dB, float* dC, float* dh0) {
  const Layout lay{s.seqlen, s.heads, s.headdim, s.groups, s.dstate};
  const int64_t P = s.headdim, N = s.dstate, H = s.heads, G = s.groups, GN = G * N, heads_per_group = H / G;
  const int64_t n_chunks = (s.seqlen + Q - 1) / Q;
  std::vector<double> dA_parts(s.batch * H, 0.0);
  std::fill(dB, dB + s.batch * s.seqlen * GN, 0.0f);
  std::fill(dC, dC + s.batch * s.seqlen * GN, 0.0f);
  // A job is one group of one sequence (its heads share B and C, so their dB/dC sums stay in it).
#pragma omp parallel for collapse(2) schedule(static) if (worth_parallel(scan_work(s)))
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t g = 0; g < G; ++g) {
      std::vector<float> starts(n_chunks * P * N), dS(P * N), dS_prev(P * N), gcum, tu, du, cb, dcb, gu, wm, dsb, sc;
      Chunk c;
      for (int64_t h = g * heads_per_group; h < (g + 1) * heads_per_group; ++h) {
        // 1. The chunk-start states, by the forward's state passing.
        std::vector<float> S(P * N, 0.0f);
        if (h0) std::copy(h0 + (b * H + h) * P * N, h0 + (b * H + h + 1) * P * N, S.begin());
        for (int64_t k = 0; k < n_chunks; ++k) {
          const int64_t t0 = k * Q, L = std::min(Q, s.seqlen - t0);
          std::copy(S.begin(), S.end(), starts.begin() + k * P * N);
          c.load(lay, b, h, t0, L, x, dt, A[h]);
          tu.resize(L * P);
          for (int64_t j = 0; j < L; ++j) {
            for (int64_t p = 0; p < P; ++p) tu[j * P + p] = c.e_tail[j] * c.u[j * P + p];
          }
          gemm(true, false, P, N, L, 1.0f, tu.data(), P, Bm + lay.bc(b, t0, g), GN, c.e_cum[L - 1], S.data(), N);
        }
        // 2. Chunks last to first.
        if (dhT) {
          std::copy(dhT + (b * H + h) * P * N, dhT + (b * H + h + 1) * P * N, dS.begin());
        } else {
          std::fill(dS.begin(), dS.end(), 0.0f);
        }
        for (int64_t k = n_chunks - 1; k >= 0; --k) {
          const int64_t t0 = k * Q, L = std::min(Q, s.seqlen - t0);
          const float* Sp = starts.data() + k * P * N;
          c.load(lay, b, h, t0, L, x, dt, A[h]);
          const float* Bc = Bm + lay.bc(b, t0, g);
          const float* Cc = Cm + lay.bc(b, t0, g);
          const float* Gc = dy + lay.x(b, t0, h);  // rows H·P apart
          float* dBc = dB + lay.bc(b, t0, g);
          float* dCc = dC + lay.bc(b, t0, g);
          const float chunk_decay = c.e_cum[L - 1];

          // The end state: q = e^{cum_{L-1}}·<dS, S_prev> (every step's log-decay), and
          // dS_prev = e^{cum_{L-1}}·dS, to which the outputs' term is added below.
          double q = 0;
          for (int64_t i = 0; i < P * N; ++i) {
            q += static_cast<double>(dS[i]) * Sp[i];
            dS_prev[i] = chunk_decay * dS[i];
          }
          q *= chunk_decay;

          // From S_new's input term: dsb = B·dSᵀ (L×P); dU = diag(e^tail)·dsb;
          // dB += diag(e^tail)·U·dS; v_j = e^{tail_j}·<u_j, dsb_j> (the log-decays after j).
          dsb.resize(L * P);
          gemm(false, true, L, P, N, 1.0f, Bc, GN, dS.data(), N, 0.0f, dsb.data(), P);
          du.resize(L * P);
          tu.resize(L * P);
          std::vector<double> v(L), r(L);
          for (int64_t j = 0; j < L; ++j) {
            double vj = 0;
            for (int64_t p = 0; p < P; ++p) {
              du[j * P + p] = c.e_tail[j] * dsb[j * P + p];
              tu[j * P + p] = c.e_tail[j] * c.u[j * P + p];
              vj += static_cast<double>(c.u[j * P + p]) * dsb[j * P + p];
            }
            v[j] = c.e_tail[j] * vj;
          }
          gemm(false, false, L, N, P, 1.0f, tu.data(), P, dS.data(), N, 1.0f, dBc, GN);

          // From the outputs' state term: sc = C·S_prevᵀ (L×P); r_i = e^{cum_i}·<g_i, sc_i>;
          // gcum = diag(e^cum)·G; dS_prev += gcumᵀ·C; dC += gcum·S_prev.
          sc.resize(L * P);
          gemm(false, true, L, P, N, 1.0f, Cc, GN, Sp, N, 0.0f, sc.data(), P);
          gcum.resize(L * P);
          for (int64_t i = 0; i < L; ++i) {
            double ri = 0;
            for (int64_t p = 0; p < P; ++p) {
              const float gip = Gc[i * H * P + p];
              ri += static_cast<double>(gip) * sc[i * P + p];
              gcum[i * P + p] = c.e_cum[i] * gip;
            }
            r[i] = c.e_cum[i] * ri;
          }
          gemm(true, false, P, N, L, 1.0f, gcum.data(), P, Cc, GN, 1.0f, dS_prev.data(), N);
          gemm(false, false, L, N, P, 1.0f, gcum.data(), P, Sp, N, 1.0f, dCc, GN);

          // The intra-chunk term: cb = C·Bᵀ, gu = G·Uᵀ (L×L); W = Dec ∘ gu; dC += W·B; dB += Wᵀ·C;
          // dU += (Dec ∘ cb)ᵀ·G; w_ij = W_ij·cb_ij for j < i (the log-decays j+1..i).
          cb.resize(L * L);
          gu.resize(L * L);
          gemm(false, true, L, L, N, 1.0f, Cc, GN, Bc, GN, 0.0f, cb.data(), L);
          gemm(false, true, L, L, P, 1.0f, Gc, H * P, c.u.data(), P, 0.0f, gu.data(), L);
          wm.resize(L * L);
          dcb.resize(L * L);
          for (int64_t i = 0; i < L * L; ++i) {
            wm[i] = c.dec[i] * gu[i];   // W
            dcb[i] = c.dec[i] * cb[i];  // Dec ∘ cb
          }
          gemm(false, false, L, N, L, 1.0f, wm.data(), L, Bc, GN, 1.0f, dCc, GN);
          gemm(true, false, L, N, L, 1.0f, wm.data(), L, Cc, GN, 1.0f, dBc, GN);
          gemm(true, false, L, P, L, 1.0f, dcb.data(), L, Gc, H * P, 1.0f, du.data(), P);

          // da_k = Σ_{i≥k} r_i + q + Σ_{j<k} v_j + M_k with M_k = Σ_{i≥k} Σ_{j<k} w_ij, updated as
          // M_{k+1} = M_k - Σ_{j<k} w_kj + Σ_{i>k} w_ik, where w_ij = W_ij·cb_ij (j < i).
          double r_after = 0;
          for (int64_t i = 0; i < L; ++i) r_after += r[i];
          double v_before = 0, mk = 0;
          for (int64_t kk = 0; kk < L; ++kk) {
            const double da = r_after + q + v_before + mk;
            r_after -= r[kk];
            v_before += v[kk];
            for (int64_t j = 0; j < kk; ++j) mk -= static_cast<double>(wm[kk * L + j]) * cb[kk * L + j];
            for (int64_t i = kk + 1; i < L; ++i) mk += static_cast<double>(wm[i * L + kk]) * cb[i * L + kk];
            // dx, dΔ (through u and through the log-decay), dA.
            const float delta = dt[lay.dt(b, t0 + kk, h)];
            const float* xk = x + lay.x(b, t0 + kk, h);
            double dd = 0;
            for (int64_t p = 0; p < P; ++p) {
              dx[lay.x(b, t0 + kk, h) + p] = delta * du[kk * P + p];
              dd += static_cast<double>(du[kk * P + p]) * xk[p];
            }
            ddt[lay.dt(b, t0 + kk, h)] = static_cast<float>(dd + static_cast<double>(A[h]) * da);
            dA_parts[b * H + h] += static_cast<double>(delta) * da;
          }
          dS.swap(dS_prev);
        }
        if (dh0) std::copy(dS.begin(), dS.end(), dh0 + (b * H + h) * P * N);
      }
    }
  }
  for (int64_t h = 0; h < H; ++h) {
    double total = 0;
    for (int64_t b = 0; b < s.batch; ++b) total += dA_parts[b * H + h];
    dA[h] = static_cast<float>(total);
  }
}

}  // namespace ssm::cpu
