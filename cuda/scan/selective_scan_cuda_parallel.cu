// cuda/scan/selective_scan_cuda_parallel.cu — version 2 of the Mamba-1 selective scan on the GPU
// (ops/kernel_versions.h, docs/kernels.md): the same recurrence as version 1
// (cuda/scan/selective_scan_cuda_recurrent.cu), per channel d and state n,
//   s_t = λ_t·s_{t-1} + u_t·B_t[n],   λ_t = e^{Δ_t·A[d,n]},   u_t = Δ_t·x_t,   y_t = Σ_n C_t[n]·s_t
// parallel over time as well as over channels. Version 1 gives each (batch row, channel) one
// thread that walks all T steps; with B·E channels (6,144 at B 4, E 1,536) that is far too few
// threads for a GPU, each with a long serial chain.
//
// Why time can be split: one step is an affine map s ↦ λ·s + b, and a run of steps composes into
// one, s ↦ P·s + S with P the product of the λ and S the run scanned from a zero state. So a run's
// state can be found from the state before it without walking the steps in between.
//
// Layout. A block takes one batch row and 32 consecutive channels (a lane per channel, so every
// load of x, Δ and dy is coalesced; B_t and C_t are broadcast) and walks time in chunks of
// kWarps·kItems steps; within a chunk, warp w owns kItems consecutive steps (its segment). For
// each state n, in turn:
//   1. each thread scans its segment from zero: (P, S) into shared memory;
//   2. each thread folds the segments before its own onto the state entering the chunk (at most
//      kWarps - 1 affine maps: cheap, and no tree scan needed);
//   3. each thread rescans its segment from that state, adding C_t[n]·s_t to its y_t;
//   4. the last warp's end state is the state entering the next chunk.
// The backward adds the reverse recurrence of the state gradient: g_t = C_t[n]·dy_t + h_{t+1}
// with h_t = λ_t·g_t, which composes the same way (the same P, and H scanned from zero
// backwards), walked over the chunks last to first from the chunk-start states a forward pass
// keeps. With s_{t-1}, s_t and g_t of a step in registers, its gradients are version 1's, term
// for term. The sums over channels (dB, dC) and over time (dA) go to the same partial buffers as
// version 1, added up by its code in a fixed order: deterministic, no atomics.
// Version 2 takes N <= 16 (the states of a step sit in registers); version 1 runs otherwise.
// Registers: a thread keeps about nine kItems-long arrays; the f64 backward needs 242 registers
// (-Xptxas -v), so a block has 8 warps (8 x 32 x 242 fits the 65,536 registers of an SM; 16
// warps would not launch, and capped at 128 registers they spill). dA_acc, indexed by n at run
// time, lives in local memory: one read and write per state and chunk.
#include "cuda/kernel_util.cuh"                // defines: warp_sum, grid_for_rows, SSM_CUDA_LAUNCH, SSM_UNROLL
#include "cuda/scan/selective_scan_cuda.cuh"  // defines: selective_*_parallel, kSelectiveParallelMaxState

namespace ssm::cuda {
namespace {

constexpr int kWarps = 8;  // segments of a chunk
constexpr int kItems = 8;   // steps of a segment, kept in registers
constexpr int kThreads = 32 * kWarps;
constexpr int64_t kChunkSteps = kWarps * kItems;
constexpr int kMaxN = static_cast<int>(kSelectiveParallelMaxState);

// Where a thread works: batch row b, channel d (its lane's), chunk geometry.
struct ScanPlace {
  int64_t b, group, d;
  bool valid;  // d < E; lanes past E take part in barriers and shuffles with zeros
};
__device__ inline ScanPlace place_of(const SelectiveScanShape& s, int64_t item) {
  const int64_t groups = (s.channels + 31) / 32;
  ScanPlace p;
  p.b = item / groups;
  p.group = item % groups;
  p.d = p.group * 32 + threadIdx.x % 32;
  p.valid = p.d < s.channels;
  return p;
}

// A thread's steps of the current chunk: Δ and u = Δ·x (0 past T or past E, so λ = 1 and the
// step leaves the state unchanged).
template <typename T>
struct Steps {
  int64_t t0;  // the first step
  T delta[kItems], u[kItems];

  __device__ void load(const SelectiveScanShape& s, const ScanPlace& p, int64_t chunk, const T* x, const T* dt) {
    t0 = chunk * kChunkSteps + static_cast<int64_t>(threadIdx.x / 32) * kItems;
SSM_UNROLL
    for (int k = 0; k < kItems; ++k) {
      const int64_t t = t0 + k, i = (p.b * s.seqlen + t) * s.channels + p.d;
      const bool in = p.valid && t < s.seqlen;
      delta[k] = in ? dt[i] : T(0);
      u[k] = in ? delta[k] * x[i] : T(0);
    }
  }
  __device__ bool in_range(const SelectiveScanShape& s, int k) const { return t0 + k < s.seqlen; }
};

// Row t, column n of B or C (0 past T).
template <typename T>
__device__ inline T bc_at(const SelectiveScanShape& s, const T* m, int64_t b, int64_t t, int64_t n) {
  return t < s.seqlen ? m[(b * s.seqlen + t) * s.dstate + n] : T(0);
}

// Forward over the chunks in order; y (may be null: no outputs) and hT; bounds (may be null)
// ← the state entering every chunk, (B, chunks, N, E).
template <typename T>
__global__ void __launch_bounds__(kThreads) selective_forward_parallel_kernel(SelectiveScanShape s, const T* x, const T* dt, const T* A,
                                                  const T* Bm, const T* Cm, const T* h0, T* y, T* hT, T* bounds) {
  __shared__ T seg_p[kWarps][32], seg_s[kWarps][32];  // each segment's composed map (P, S)
  __shared__ T carry[kMaxN][32];                       // the state entering the current chunk
  const int64_t L = s.seqlen, E = s.channels, N = s.dstate;
  const int64_t chunks = (L + kChunkSteps - 1) / kChunkSteps, groups = (E + 31) / 32;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  for (int64_t item = blockIdx.x; item < s.batch * groups; item += gridDim.x) {
    const ScanPlace p = place_of(s, item);
    if (warp == 0) {
      for (int64_t n = 0; n < N; ++n) carry[n][lane] = p.valid && h0 ? h0[(p.b * E + p.d) * N + n] : T(0);
    }
    for (int64_t c = 0; c < chunks; ++c) {
      __syncthreads();  // carry written (by warp 0 or by the last warp of the previous chunk)
      Steps<T> st;
      st.load(s, p, c, x, dt);
      if (bounds != nullptr && warp == 0 && p.valid) {
        for (int64_t n = 0; n < N; ++n) bounds[((p.b * chunks + c) * N + n) * E + p.d] = carry[n][lane];
      }
      T yk[kItems] = {};
      for (int64_t n = 0; n < N; ++n) {
        const T a = p.valid ? A[p.d * N + n] : T(0);
        T lam[kItems], bu[kItems];
        T log_p = 0, local = 0;  // 1. the segment from a zero state
SSM_UNROLL
        for (int k = 0; k < kItems; ++k) {
          lam[k] = dexp(st.delta[k] * a);
          bu[k] = st.u[k] * bc_at(s, Bm, p.b, st.t0 + k, n);
          local = lam[k] * local + bu[k];
          log_p += st.delta[k] * a;
        }
        seg_p[warp][lane] = dexp(log_p);
        seg_s[warp][lane] = local;
        __syncthreads();
        T state = carry[n][lane];  // 2. the state entering this segment
        for (int w = 0; w < warp; ++w) state = seg_p[w][lane] * state + seg_s[w][lane];
SSM_UNROLL
        for (int k = 0; k < kItems; ++k) {  // 3. the segment from it
          state = lam[k] * state + bu[k];
          if (y != nullptr) yk[k] += bc_at(s, Cm, p.b, st.t0 + k, n) * state;
        }
        __syncthreads();  // every warp has read seg_* and carry[n]
        if (warp == kWarps - 1) carry[n][lane] = state;  // 4. the state leaving the chunk
      }
      if (y != nullptr && p.valid) {
SSM_UNROLL
        for (int k = 0; k < kItems; ++k) {
          if (st.in_range(s, k)) y[(p.b * L + st.t0 + k) * E + p.d] = yk[k];
        }
      }
    }
    __syncthreads();
    if (warp == 0 && p.valid) {
      for (int64_t n = 0; n < N; ++n) hT[(p.b * E + p.d) * N + n] = carry[n][lane];
    }
    __syncthreads();  // before the next item rewrites carry
  }
}

// Backward over the chunks last to first, from the chunk-start states `bounds` of the forward.
template <typename T>
__global__ void __launch_bounds__(kThreads) selective_backward_parallel_kernel(SelectiveScanShape s, const T* x, const T* dt, const T* A,
                                                   const T* Bm, const T* Cm, const T* dy, const T* dhT,
                                                   const T* bounds, T* dx, T* ddt, T* dh0, T* dA_rows, T* dB_part,
                                                   T* dC_part) {
  __shared__ T seg_p[kWarps][32], seg_s[kWarps][32], seg_h[kWarps][32];  // (P, S) forward, H backward
  __shared__ T carry[kMaxN][32];  // h entering the current chunk from its end: λ·g of the next chunk's first step
  const int64_t L = s.seqlen, E = s.channels, N = s.dstate;
  const int64_t chunks = (L + kChunkSteps - 1) / kChunkSteps, groups = (E + 31) / 32;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  for (int64_t item = blockIdx.x; item < s.batch * groups; item += gridDim.x) {
    const ScanPlace p = place_of(s, item);
    if (warp == 0) {
      for (int64_t n = 0; n < N; ++n) carry[n][lane] = p.valid && dhT ? dhT[(p.b * E + p.d) * N + n] : T(0);
    }
    T dA_acc[kMaxN] = {};  // Σ_t Δ_t·dlogλ_t of this thread's steps, per state
    for (int64_t c = chunks - 1; c >= 0; --c) {
      __syncthreads();
      Steps<T> st;
      st.load(s, p, c, x, dt);
      T g_y[kItems], du[kItems] = {}, d_delta[kItems] = {};  // dy, and the sums over n
SSM_UNROLL
      for (int k = 0; k < kItems; ++k) {
        g_y[k] = p.valid && st.in_range(s, k) ? dy[(p.b * L + st.t0 + k) * E + p.d] : T(0);
      }
      for (int64_t n = 0; n < N; ++n) {
        const T a = p.valid ? A[p.d * N + n] : T(0);
        T lam[kItems], bu[kItems], cy[kItems];  // λ, u·B, C·dy of each step
        T log_p = 0, local = 0;
SSM_UNROLL
        for (int k = 0; k < kItems; ++k) {
          lam[k] = dexp(st.delta[k] * a);
          bu[k] = st.u[k] * bc_at(s, Bm, p.b, st.t0 + k, n);
          cy[k] = bc_at(s, Cm, p.b, st.t0 + k, n) * g_y[k];
          local = lam[k] * local + bu[k];
          log_p += st.delta[k] * a;
        }
        T h_local = 0;  // the segment's gradient from a zero end, backwards
SSM_UNROLL
        for (int k = kItems - 1; k >= 0; --k) h_local = lam[k] * (cy[k] + h_local);
        seg_p[warp][lane] = dexp(log_p);
        seg_s[warp][lane] = local;
        seg_h[warp][lane] = h_local;
        __syncthreads();
        T state = p.valid ? bounds[((p.b * chunks + c) * N + n) * E + p.d] : T(0);
        for (int w = 0; w < warp; ++w) state = seg_p[w][lane] * state + seg_s[w][lane];
        T h = carry[n][lane];  // what the steps after this segment send back to its last step
        for (int w = kWarps - 1; w > warp; --w) h = seg_p[w][lane] * h + seg_h[w][lane];
        T before[kItems];  // s_{t-1} of each step
SSM_UNROLL
        for (int k = 0; k < kItems; ++k) {
          before[k] = state;
          state = lam[k] * state + bu[k];
        }
SSM_UNROLL
        for (int k = kItems - 1; k >= 0; --k) {
          const int64_t t = st.t0 + k;
          const T g = cy[k] + h;  // the whole gradient of s_t
          const T s_t = lam[k] * before[k] + bu[k];
          du[k] += g * bc_at(s, Bm, p.b, t, n);
          const T dlog = g * lam[k] * before[k];
          d_delta[k] += a * dlog;
          dA_acc[n] += st.delta[k] * dlog;
          h = lam[k] * g;
          const T db = warp_sum(st.u[k] * g), dc = warp_sum(g_y[k] * s_t);
          if (lane == 0 && t < L) {
            dB_part[((p.b * groups + p.group) * L + t) * N + n] = db;
            dC_part[((p.b * groups + p.group) * L + t) * N + n] = dc;
          }
        }
        __syncthreads();  // every warp has read seg_* and carry[n]
        if (warp == 0) carry[n][lane] = h;  // h at the chunk's first step
      }
      if (p.valid) {
SSM_UNROLL
        for (int k = 0; k < kItems; ++k) {
          if (!st.in_range(s, k)) continue;
          const int64_t i = (p.b * L + st.t0 + k) * E + p.d;
          dx[i] = st.delta[k] * du[k];
          ddt[i] = x[i] * du[k] + d_delta[k];
        }
      }
    }
    __syncthreads();
    if (warp == 0 && p.valid && dh0 != nullptr) {
      for (int64_t n = 0; n < N; ++n) dh0[(p.b * E + p.d) * N + n] = carry[n][lane];
    }
    for (int64_t n = 0; n < N; ++n) {  // dA of this batch row: the warps' sums added in warp order
      seg_p[warp][lane] = dA_acc[n];
      __syncthreads();
      if (warp == 0 && p.valid) {
        T sum = 0;
        for (int w = 0; w < kWarps; ++w) sum += seg_p[w][lane];
        dA_rows[(p.b * N + n) * E + p.d] = sum;
      }
      __syncthreads();
    }
  }
}

}  // namespace

template <typename T>
void selective_forward_parallel(const SelectiveScanShape& s, const T* x, const T* dt, const T* A, const T* Bm,
                                const T* Cm, const T* h0, T* y, T* hT) {
  const int64_t items = s.batch * ((s.channels + 31) / 32);
  if (items == 0) return;
  SSM_CUDA_LAUNCH("selective_scan_forward", selective_forward_parallel_kernel<T>, grid_for_rows(items), kThreads, 0, s,
                  x, dt, A, Bm, Cm, h0, y, hT, static_cast<T*>(nullptr));
}

template <typename T>
void selective_backward_parallel(const SelectiveScanShape& s, const T* x, const T* dt, const T* A, const T* Bm,
                                 const T* Cm, const T* h0, const T* dy, const T* dhT, T* dx, T* ddt, T* dh0,
                                 T* dA_rows, T* dB_part, T* dC_part) {
  const int64_t items = s.batch * ((s.channels + 31) / 32);
  if (items == 0) return;
  const int64_t chunks = (s.seqlen + kChunkSteps - 1) / kChunkSteps;
  const Dtype dtype = dtype_of<T>();
  Tensor bounds = scratch(s.batch * chunks * s.dstate * s.channels, dtype);
  Tensor hT = scratch(s.batch * s.channels * s.dstate, dtype);
  SSM_CUDA_LAUNCH("selective_scan_backward", selective_forward_parallel_kernel<T>, grid_for_rows(items), kThreads, 0,
                  s, x, dt, A, Bm, Cm, h0, static_cast<T*>(nullptr), ptr<T>(hT), ptr<T>(bounds));
  SSM_CUDA_LAUNCH("selective_scan_backward", selective_backward_parallel_kernel<T>, grid_for_rows(items), kThreads, 0,
                  s, x, dt, A, Bm, Cm, dy, dhT, ptr<const T>(bounds), dx, ddt, dh0, dA_rows, dB_part, dC_part);
}

#define SSM_INSTANTIATE_SELECTIVE_PARALLEL(T)                                                                     \
  template void selective_forward_parallel<T>(const SelectiveScanShape&, const T*, const T*, const T*, const T*, \
                                              const T*, const T*, T*, T*);                                      \
  template void selective_backward_parallel<T>(const SelectiveScanShape&, const T*, const T*, const T*, const T*, \
                                               const T*, const T*, const T*, const T*, T*, T*, T*, T*, T*, T*);
SSM_INSTANTIATE_SELECTIVE_PARALLEL(float)
SSM_INSTANTIATE_SELECTIVE_PARALLEL(double)

}  // namespace ssm::cuda
