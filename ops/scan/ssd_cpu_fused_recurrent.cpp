// ops/scan/ssd_cpu_fused_recurrent.cpp — the SSD recurrence as the CPU runs it in f32 (training,
// evaluation, decoding): the state in f32 where the reference keeps it in double, each step one
// pass over the state, vectorised over the state axis N, and a backward that keeps one state in
// every kSegment steps instead of all of them.
//
// The math is ssd_cpu_recurrent.cpp's, which stays the definition (and runs f64):
//   S_t = α_t·S_{t-1} + Δ_t·x_t ⊗ B_t,   y_t = S_t·C_t,   α_t = exp(Δ_t·A_h)
// Backward, t from last to first, with dS the gradient of S_t (docs/scans.md):
//   dS += dy_t ⊗ C_t;  dC_t += S_tᵀ·dy_t;  dB_t += dSᵀ·(Δ_t x_t);  dx_t = Δ_t·dS·B_t
//   d(log α_t) = α_t·<dS, S_{t-1}>;  then dS ← α_t·dS
// Fused: for each row p of the state, one loop over n does all five updates at once, so the state
// and its gradient are read once per step. The states S_{t-1} it needs are recomputed forward
// segment by segment from the stored segment-start states: kSegment states of P×N floats stay in
// the L2 cache, where keeping every state (the reference) streams L·P·N values through memory.
//
// Precision: every state element is a sum of terms each damped by α ≤ 1, so its f32 rounding
// error stays within about T·ε relative to the sum of the magnitudes, and in practice far less
// (the tests hold it to the f64 reference within 1e-5 relative at T = 300). dA, a sum over the
// whole batch and sequence, is accumulated in double.
//
// Work is split over (batch, head) in forward, and over (batch, group) in backward: the heads of a
// group share B and C, so their dB/dC sums stay in one job, race-free. A single long sequence
// (too few such jobs) splits the heads too, each into dB/dC rows of its own summed afterwards.
// Either way the result depends on the shape, never on the thread count.
#include <algorithm>
#include <cmath>
#include <vector>

#include "ops/cpu/cpu_backend.h"  // defines: worth_parallel, scan_work
#include "ops/cpu/simd.h"         // defines: SSM_CPU_CLONES
#include "ops/scan/ssd_cpu.h"

namespace ssm::cpu {
namespace {

constexpr int64_t kSegment = 16;       // steps between the states backward keeps
constexpr int64_t kMinGroupJobs = 8;   // fewer (sequence, group) jobs than this: heads split

// Offsets into the (B,T,H,P), (B,T,H) and (B,T,G,N) layouts.
struct Layout {
  int64_t L, H, P, G, N;
  int64_t x(int64_t b, int64_t t, int64_t h) const { return ((b * L + t) * H + h) * P; }
  int64_t dt(int64_t b, int64_t t, int64_t h) const { return (b * L + t) * H + h; }
  int64_t bc(int64_t b, int64_t t, int64_t g) const { return ((b * L + t) * G + g) * N; }
};

// cur = α·prev + (Δ·x) ⊗ B; prev and cur may be the same state.
SSM_INLINE void step_state(const float* prev, float* cur, float alpha, float delta, const float* xt, const float* Bt,
                       int64_t P, int64_t N) {
  for (int64_t p = 0; p < P; ++p) {
    const float u = delta * xt[p];
#pragma omp simd
    for (int64_t n = 0; n < N; ++n) cur[p * N + n] = alpha * prev[p * N + n] + u * Bt[n];
  }
}

// One head of one sequence: S holds the initial state and is left holding the final one.
SSM_CPU_CLONES
void forward_head(const Layout& lay, int64_t b, int64_t h, int64_t g, const float* x, const float* dt, float a_h,
                  const float* Bm, const float* Cm, float* S, float* y) {
  const int64_t P = lay.P, N = lay.N;
  for (int64_t t = 0; t < lay.L; ++t) {
    const float delta = dt[lay.dt(b, t, h)];
    const float alpha = std::exp(delta * a_h);
    const float* xt = x + lay.x(b, t, h);
    const float* Bt = Bm + lay.bc(b, t, g);
    const float* Ct = Cm + lay.bc(b, t, g);
    float* yt = y + lay.x(b, t, h);
    for (int64_t p = 0; p < P; ++p) {
      const float u = delta * xt[p];
      float* Sp = S + p * N;
      float acc = 0;
#pragma omp simd reduction(+ : acc)
      for (int64_t n = 0; n < N; ++n) {
        const float v = alpha * Sp[n] + u * Bt[n];
        Sp[n] = v;
        acc += v * Ct[n];
      }
      yt[p] = acc;
    }
  }
}

// The gradients of one head of one sequence. dS holds dL/dS_{T-1} on entry and dL/dS_{-1} on
// exit; dB and dC are added to rows `slot` of (B,T,slots,N) arrays (the group's rows of dB and dC,
// or the head's own rows); the return value is this head's share of dA.
struct BackwardScratch {
  std::vector<float> starts;  // the state entering each segment
  std::vector<float> states;  // one segment's states: slot i is S_{t0-1+i}
  std::vector<float> la;      // per column n: Σ_p dS·S_{t-1} of the current step
};

SSM_CPU_CLONES
double backward_head(const Layout& lay, int64_t b, int64_t h, int64_t g, const float* x, const float* dt, float a_h,
                     const float* Bm, const float* Cm, const float* h0, const float* dy, float* dS, float* dx,
                     float* ddt, float* dB_rows, float* dC_rows, int64_t slots, int64_t slot,
                     BackwardScratch& scratch) {
  const int64_t L = lay.L, P = lay.P, N = lay.N, PN = P * N;
  const int64_t segments = (L + kSegment - 1) / kSegment;
  // 1. Forward once, keeping the state that enters each segment.
  scratch.starts.resize(static_cast<size_t>(segments * PN));
  scratch.states.resize(static_cast<size_t>((kSegment + 1) * PN));
  scratch.la.resize(static_cast<size_t>(N));
  float* running = scratch.states.data();
  if (h0) {
    std::copy(h0, h0 + PN, running);
  } else {
    std::fill(running, running + PN, 0.0f);
  }
  for (int64_t t = 0; t < L; ++t) {
    if (t % kSegment == 0) std::copy(running, running + PN, scratch.starts.data() + (t / kSegment) * PN);
    const float delta = dt[lay.dt(b, t, h)];
    step_state(running, running, std::exp(delta * a_h), delta, x + lay.x(b, t, h), Bm + lay.bc(b, t, g), P, N);
  }
  // 2. Segments last to first: recompute the segment's states, then walk it backwards.
  double dA = 0;
  for (int64_t seg = segments - 1; seg >= 0; --seg) {
    const int64_t t0 = seg * kSegment, t1 = std::min(L, t0 + kSegment);
    float* S = scratch.states.data();
    std::copy(scratch.starts.data() + seg * PN, scratch.starts.data() + (seg + 1) * PN, S);
    for (int64_t t = t0; t < t1; ++t) {
      const float delta = dt[lay.dt(b, t, h)];
      step_state(S + (t - t0) * PN, S + (t - t0 + 1) * PN, std::exp(delta * a_h), delta, x + lay.x(b, t, h),
                 Bm + lay.bc(b, t, g), P, N);
    }
    for (int64_t t = t1 - 1; t >= t0; --t) {
      const float delta = dt[lay.dt(b, t, h)];
      const float alpha = std::exp(delta * a_h);
      const float* prev = S + (t - t0) * PN;
      const float* cur = S + (t - t0 + 1) * PN;
      const float* xt = x + lay.x(b, t, h);
      const float* dyt = dy + lay.x(b, t, h);
      const float* Bt = Bm + lay.bc(b, t, g);
      const float* Ct = Cm + lay.bc(b, t, g);
      float* dBt = dB_rows + ((b * L + t) * slots + slot) * N;
      float* dCt = dC_rows + ((b * L + t) * slots + slot) * N;
      float* dxt = dx + lay.x(b, t, h);
      // <dS, S_{t-1}> is summed per column n over the rows, and across the columns once per step:
      // one horizontal sum per step instead of one per row.
      float* la = scratch.la.data();
      std::fill(la, la + N, 0.0f);
      double d_delta = 0;
      for (int64_t p = 0; p < P; ++p) {
        const float gy = dyt[p], u = delta * xt[p];
        float* dSp = dS + p * N;
        const float* prev_p = prev + p * N;
        const float* cur_p = cur + p * N;
        float d_u = 0;
#pragma omp simd reduction(+ : d_u)
        for (int64_t n = 0; n < N; ++n) {
          const float ds = dSp[n] + gy * Ct[n];  // y_t = S_t·C_t
          dCt[n] += cur_p[n] * gy;
          d_u += ds * Bt[n];  // S_t = α·S_{t-1} + u ⊗ B_t
          dBt[n] += ds * u;
          la[n] += ds * prev_p[n];
          dSp[n] = ds * alpha;  // on to S_{t-1}
        }
        dxt[p] = delta * d_u;
        d_delta += static_cast<double>(d_u) * xt[p];
      }
      double d_log_alpha = 0;
#pragma omp simd reduction(+ : d_log_alpha)
      for (int64_t n = 0; n < N; ++n) d_log_alpha += la[n];
      d_log_alpha *= alpha;
      ddt[lay.dt(b, t, h)] = static_cast<float>(d_delta + static_cast<double>(a_h) * d_log_alpha);
      dA += delta * d_log_alpha;
    }
  }
  return dA;
}

}  // namespace

void ssd_fused_recurrent_forward(const SsdShape& s, const float* x, const float* dt, const float* A, const float* Bm,
                                 const float* Cm, const float* h0, float* y, float* hT) {
  const Layout lay{s.seqlen, s.heads, s.headdim, s.groups, s.dstate};
  const int64_t PN = s.headdim * s.dstate, heads_per_group = s.heads / s.groups;
#pragma omp parallel for collapse(2) schedule(static) if (worth_parallel(scan_work(s)))
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.heads; ++h) {
      float* S = hT + (b * s.heads + h) * PN;  // the running state lives where the final one goes
      if (h0) {
        std::copy(h0 + (b * s.heads + h) * PN, h0 + (b * s.heads + h + 1) * PN, S);
      } else {
        std::fill(S, S + PN, 0.0f);
      }
      forward_head(lay, b, h, h / heads_per_group, x, dt, A[h], Bm, Cm, S, y);
    }
  }
}

void ssd_fused_recurrent_backward(const SsdShape& s, const float* x, const float* dt, const float* A, const float* Bm,
                                  const float* Cm, const float* h0, const float* dy, const float* dhT, float* dx,
                                  float* ddt, float* dA, float* dB, float* dC, float* dh0) {
  const Layout lay{s.seqlen, s.heads, s.headdim, s.groups, s.dstate};
  const int64_t L = s.seqlen, H = s.heads, G = s.groups, N = s.dstate, PN = s.headdim * s.dstate;
  const int64_t heads_per_group = H / G;
  // A job is one group of one sequence: its heads in order, adding into the group's rows of dB
  // and dC. With few such jobs (a single long sequence: batch 1, one group) the heads split into
  // jobs of their own, each adding into rows of its own, summed over the group's heads after, in
  // head order. The choice depends on the shape only, so the result never depends on the threads.
  const bool split_heads = heads_per_group > 1 && s.batch * G < kMinGroupJobs;
  const int64_t units = split_heads ? H : G, heads_per_unit = split_heads ? 1 : heads_per_group;
  thread_local std::vector<float> per_head;  // kept between calls: fresh memory is page faults
  float *dB_rows = dB, *dC_rows = dC;
  if (split_heads) {
    per_head.resize(static_cast<size_t>(2 * s.batch * L * H * N));
    dB_rows = per_head.data();
    dC_rows = dB_rows + s.batch * L * H * N;
  }
  std::vector<double> dA_parts(static_cast<size_t>(s.batch * H), 0.0);  // summed over b after
#pragma omp parallel for collapse(2) schedule(static) if (worth_parallel(scan_work(s)))
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t u = 0; u < units; ++u) {
      for (int64_t t = 0; t < L; ++t) {  // this job's rows, which its heads add to
        std::fill(dB_rows + ((b * L + t) * units + u) * N, dB_rows + ((b * L + t) * units + u + 1) * N, 0.0f);
        std::fill(dC_rows + ((b * L + t) * units + u) * N, dC_rows + ((b * L + t) * units + u + 1) * N, 0.0f);
      }
      // Per thread and kept between calls, like per_head.
      thread_local BackwardScratch scratch;
      thread_local std::vector<float> dS;
      dS.resize(static_cast<size_t>(PN));
      for (int64_t h = u * heads_per_unit; h < (u + 1) * heads_per_unit; ++h) {
        const int64_t state = (b * H + h) * PN;
        if (dhT) {
          std::copy(dhT + state, dhT + state + PN, dS.begin());
        } else {
          std::fill(dS.begin(), dS.end(), 0.0f);
        }
        dA_parts[b * H + h] = backward_head(lay, b, h, h / heads_per_group, x, dt, A[h], Bm, Cm,
                                            h0 ? h0 + state : nullptr, dy, dS.data(), dx, ddt, dB_rows, dC_rows,
                                            units, u, scratch);
        if (dh0) std::copy(dS.begin(), dS.end(), dh0 + state);
      }
    }
  }
  if (split_heads) {  // dB, dC = the heads' rows summed over each group, in head order
#pragma omp parallel for schedule(static) if (worth_parallel(s.batch * L * H * N))
    for (int64_t bt = 0; bt < s.batch * L; ++bt) {
      for (int64_t g = 0; g < G; ++g) {
        float* outB = dB + (bt * G + g) * N;
        float* outC = dC + (bt * G + g) * N;
        std::fill(outB, outB + N, 0.0f);
        std::fill(outC, outC + N, 0.0f);
        for (int64_t h = g * heads_per_group; h < (g + 1) * heads_per_group; ++h) {
          const float* inB = dB_rows + (bt * H + h) * N;
          const float* inC = dC_rows + (bt * H + h) * N;
          for (int64_t n = 0; n < N; ++n) {
            outB[n] += inB[n];
            outC[n] += inC[n];
          }
        }
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
