// cuda/scan/ssd_cuda_chunked.cu — the SSD in chunked form on the GPU (docs/scans.md, chunked SSD), forward and
// backward: the twin of ops/scan/ssd_cpu_chunked.cpp, cut into kernels at the points where the
// CPU loop carries something from one chunk to the next.
//
// Inside chunk c of head h (local steps i, j < L ≤ Q; a_j = Δ_j·A_h ≤ 0; u_j = Δ_j·x_j):
//   cum_i = Σ_{k≤i} a_k,  tail_j = Σ_{j<k<L} a_k,  seg(i,j) = Σ_{j<k≤i} a_k   (running sums, ≤ 0)
//   y_i   = e^{cum_i}·S̃_c·C_i + Σ_{j≤i} e^{seg(i,j)}·(C_i·B_j)·u_j
//   S̃_{c+1} = e^{cum_{L-1}}·S̃_c + S_c,   S_c = Σ_j e^{tail_j}·u_j ⊗ B_j
// This is version 1 (ops/kernel_versions.h), the readable reference; version 2 of the forward,
// the same steps on the tensor cores, is cuda/scan/ssd_cuda_chunked_tc.cu.
// Forward:  (1) ssd_cb: C_i·B_j for j ≤ i of every chunk and group;
//           (2) ssd_chunk_state: S_c and e^{cum_{L-1}} of every chunk (independent);
//           (3) ssd_state_passing: S̃_c in order over chunks, from h0; the last one is hT;
//           (4) ssd_chunk_output: y of every chunk (independent).
// Backward (chunk-start states recomputed by 1–3, as on the CPU):
//           (5) ssd_chunk_dstate: G_c = Σ_i e^{cum_i}·dy_i ⊗ C_i, what a chunk's outputs send to
//               its start state;
//           (6) ssd_dstate_passing: in reverse, dS_c = gradient of the state at chunk c's end
//               (dS_{last} = dhT, dS_{c-1} = e^{cum_{L-1}}·dS_c + G_c); what is left is dh0;
//           (7) every chunk on its own, the CPU's per-chunk gradient loop (dx, dΔ, the chunk's
//               dA share, per-head dB and dC partials): cuda/scan/ssd_cuda_chunked_backward.cu;
//           then the per-head partials are summed per group and dA over batch and chunks.
// Blocks: one per (b, h, c) or (b, h); threads own state elements i = p·N + n (strided), rows p,
// columns n or steps j, and each owner keeps its elements for the whole kernel, so per-element
// updates need no barrier; block_sum and __syncthreads separate the phases that read others'.
// Per-chunk vectors (Δ, a, running sums) sit in dynamic shared memory, a few Q-long arrays.
#include <type_traits>

#include "cuda/kernel_util.cuh"  // defines: block_sum, scratch, allow_dynamic_shared, SSM_CUDA_LAUNCH
#include "cuda/scan/ssd_cuda.cuh"     // defines: ssd_chunked_forward/backward, ssd_sum_group_grads, ssd_sum_dA
#include "ops/kernel_versions.h"      // defines: kernel_version

namespace ssm::cuda {
namespace {

constexpr int kChunkBlock = 128;

// (1) cb[((b·nc + c)·G + g)·Q·Q + i·Q + j] = C_i·B_j for j ≤ i < L.
template <typename T>
__global__ void ssd_cb_kernel(SsdShape s, int64_t Q, int64_t nc, const T* Bm, const T* Cm, T* cb) {
  const SsdLayout lay{s.seqlen, s.heads, s.headdim, s.groups, s.dstate};
  const int64_t total = s.batch * nc * s.groups * Q * Q;
  for (int64_t k = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; k < total;
       k += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t j = k % Q, i = (k / Q) % Q, g = (k / (Q * Q)) % s.groups, bc = k / (Q * Q * s.groups);
    const int64_t c = bc % nc, b = bc / nc, t0 = c * Q, len = min(Q, s.seqlen - t0);
    if (i >= len || j > i) continue;
    const T* Ci = Cm + lay.bc(b, t0 + i, g);
    const T* Bj = Bm + lay.bc(b, t0 + j, g);
    T acc = 0;
    for (int64_t n = 0; n < s.dstate; ++n) acc += Ci[n] * Bj[n];
    cb[k] = acc;
  }
}

// (2) states[bhc] = S_c = Σ_j e^{tail_j}·u_j ⊗ B_j (P×N); decay[bhc] = e^{cum_{L-1}}.
// Shared: delta, a, etail (Q each).
template <typename T>
__global__ void ssd_chunk_state_kernel(SsdShape s, int64_t Q, int64_t nc, const T* x, const T* dt, const T* A,
                                       const T* Bm, T* states, T* decay) {
  SSM_DYNAMIC_SHARED(smem);
  T* delta = reinterpret_cast<T*>(smem);
  T* a = delta + Q;
  T* etail = a + Q;
  const SsdLayout lay{s.seqlen, s.heads, s.headdim, s.groups, s.dstate};
  const int64_t P = s.headdim, N = s.dstate, PN = P * N;
  for (int64_t bhc = blockIdx.x; bhc < s.batch * s.heads * nc; bhc += gridDim.x) {
    const SsdChunk id = ssd_chunk_id(s, Q, nc, bhc);
    load_decays(lay, id, dt, A, delta, a);
    if (threadIdx.x == 0) {
      T run = 0;
      for (int64_t j = 0; j < id.len; ++j) run += a[j];
      decay[bhc] = dexp(run);
      etail[id.len - 1] = 0;
      for (int64_t j = id.len - 2; j >= 0; --j) etail[j] = etail[j + 1] + a[j + 1];
    }
    __syncthreads();
    for (int64_t j = threadIdx.x; j < id.len; j += blockDim.x) etail[j] = dexp(etail[j]);
    __syncthreads();
    for (int64_t e = threadIdx.x; e < PN; e += blockDim.x) {
      const int64_t p = e / N, n = e % N;
      T acc = 0;
      for (int64_t j = 0; j < id.len; ++j) {
        acc += etail[j] * (delta[j] * x[lay.x(id.b, id.t0 + j, id.h) + p]) * Bm[lay.bc(id.b, id.t0 + j, id.g) + n];
      }
      states[bhc * PN + e] = acc;
    }
    __syncthreads();  // before the next chunk reloads the shared arrays
  }
}

// (3) In place: states[c] ← S̃_c (the state entering chunk c), from h0; hT ← S̃_nc.
template <typename T>
__global__ void ssd_state_passing_kernel(SsdShape s, int64_t nc, const T* h0, const T* decay, T* states, T* hT) {
  const int64_t PN = s.headdim * s.dstate;
  for (int64_t bh = blockIdx.x; bh < s.batch * s.heads; bh += gridDim.x) {
    for (int64_t e = threadIdx.x; e < PN; e += blockDim.x) {
      T running = h0 ? h0[bh * PN + e] : T(0);
      for (int64_t c = 0; c < nc; ++c) {
        const int64_t k = (bh * nc + c) * PN + e;
        const T local = states[k];
        states[k] = running;
        running = decay[bh * nc + c] * running + local;
      }
      hT[bh * PN + e] = running;
    }
  }
}

// (4) y_i = e^{cum_i}·S̃_c·C_i + Σ_{j≤i} e^{seg(i,j)}·cb(i,j)·u_j, rows i in order. The owner of
// step j keeps seg(i,j) as a running sum over i (seg(j,j) = 0, then + a_i for each later i).
// Shared: delta, a, cum, seg, w (Q each).
template <typename T>
__global__ void ssd_chunk_output_kernel(SsdShape s, int64_t Q, int64_t nc, const T* x, const T* dt, const T* A,
                                        const T* Cm, const T* cb, const T* states, T* y) {
  SSM_DYNAMIC_SHARED(smem);
  T* delta = reinterpret_cast<T*>(smem);
  T* a = delta + Q;
  T* cum = a + Q;
  T* seg = cum + Q;
  T* w = seg + Q;
  const SsdLayout lay{s.seqlen, s.heads, s.headdim, s.groups, s.dstate};
  const int64_t P = s.headdim, N = s.dstate, PN = P * N;
  for (int64_t bhc = blockIdx.x; bhc < s.batch * s.heads * nc; bhc += gridDim.x) {
    const SsdChunk id = ssd_chunk_id(s, Q, nc, bhc);
    load_decays(lay, id, dt, A, delta, a);
    if (threadIdx.x == 0) {
      T run = 0;
      for (int64_t i = 0; i < id.len; ++i) cum[i] = (run += a[i]);
    }
    __syncthreads();
    const T* Sp = states + bhc * PN;
    const T* cb_chunk = cb + ((id.b * nc + id.c) * s.groups + id.g) * Q * Q;
    for (int64_t i = 0; i < id.len; ++i) {
      for (int64_t j = threadIdx.x; j <= i; j += blockDim.x) {
        seg[j] = j < i ? seg[j] + a[i] : T(0);
        w[j] = dexp(seg[j]) * cb_chunk[i * Q + j];
      }
      __syncthreads();
      const T* Ci = Cm + lay.bc(id.b, id.t0 + i, id.g);
      const T from_state = dexp(cum[i]);
      for (int64_t p = threadIdx.x; p < P; p += blockDim.x) {
        T acc = 0;
        for (int64_t n = 0; n < N; ++n) acc += Sp[p * N + n] * Ci[n];
        acc *= from_state;
        for (int64_t j = 0; j <= i; ++j) acc += w[j] * (delta[j] * x[lay.x(id.b, id.t0 + j, id.h) + p]);
        y[lay.x(id.b, id.t0 + i, id.h) + p] = acc;
      }
      __syncthreads();  // before w is rewritten for the next row
    }
  }
}

// (5) dstates[bhc] = G_c = Σ_i e^{cum_i}·dy_i ⊗ C_i (P×N). Shared: delta, a, ecum (Q each).
template <typename T>
__global__ void ssd_chunk_dstate_kernel(SsdShape s, int64_t Q, int64_t nc, const T* dt, const T* A, const T* Cm,
                                        const T* dy, T* dstates) {
  SSM_DYNAMIC_SHARED(smem);
  T* delta = reinterpret_cast<T*>(smem);
  T* a = delta + Q;
  T* ecum = a + Q;
  const SsdLayout lay{s.seqlen, s.heads, s.headdim, s.groups, s.dstate};
  const int64_t P = s.headdim, N = s.dstate, PN = P * N;
  for (int64_t bhc = blockIdx.x; bhc < s.batch * s.heads * nc; bhc += gridDim.x) {
    const SsdChunk id = ssd_chunk_id(s, Q, nc, bhc);
    load_decays(lay, id, dt, A, delta, a);
    if (threadIdx.x == 0) {
      T run = 0;
      for (int64_t i = 0; i < id.len; ++i) ecum[i] = (run += a[i]);
    }
    __syncthreads();
    for (int64_t i = threadIdx.x; i < id.len; i += blockDim.x) ecum[i] = dexp(ecum[i]);
    __syncthreads();
    for (int64_t e = threadIdx.x; e < PN; e += blockDim.x) {
      const int64_t p = e / N, n = e % N;
      T acc = 0;
      for (int64_t i = 0; i < id.len; ++i) {
        acc += ecum[i] * dy[lay.x(id.b, id.t0 + i, id.h) + p] * Cm[lay.bc(id.b, id.t0 + i, id.g) + n];
      }
      dstates[bhc * PN + e] = acc;
    }
    __syncthreads();
  }
}

// (6) In place, chunks last to first: dstates[c] ← the gradient of the state at chunk c's end;
// dh0 (when wanted) ← the gradient left on the initial state.
template <typename T>
__global__ void ssd_dstate_passing_kernel(SsdShape s, int64_t nc, const T* dhT, const T* decay, T* dstates, T* dh0) {
  const int64_t PN = s.headdim * s.dstate;
  for (int64_t bh = blockIdx.x; bh < s.batch * s.heads; bh += gridDim.x) {
    for (int64_t e = threadIdx.x; e < PN; e += blockDim.x) {
      T running = dhT ? dhT[bh * PN + e] : T(0);
      for (int64_t c = nc - 1; c >= 0; --c) {
        const int64_t k = (bh * nc + c) * PN + e;
        const T local = dstates[k];
        dstates[k] = running;
        running = decay[bh * nc + c] * running + local;
      }
      if (dh0) dh0[bh * PN + e] = running;
    }
  }
}

}  // namespace

template <typename T>
void ssd_pass_states(const SsdShape& s, int64_t nc, const T* h0, const T* decay, T* states, T* hT) {
  SSM_CUDA_LAUNCH("ssd_forward", ssd_state_passing_kernel<T>, grid_for_rows(s.batch * s.heads), kChunkBlock, 0, s, nc,
                  h0, decay, states, hT);
}

template <typename T>
void ssd_pass_dstates(const SsdShape& s, int64_t nc, const T* dhT, const T* decay, T* dstates, T* dh0) {
  SSM_CUDA_LAUNCH("ssd_backward", ssd_dstate_passing_kernel<T>, grid_for_rows(s.batch * s.heads), kChunkBlock, 0, s, nc,
                  dhT, decay, dstates, dh0);
}

template <typename T>
void ssd_chunked_forward(const SsdShape& s, int64_t chunk, const T* x, const T* dt, const T* A, const T* Bm,
                         const T* Cm, const T* h0, T* y, T* hT) {
  if constexpr (std::is_same_v<T, float>) {  // version 2 where it applies (ops/kernel_versions.h)
    if (ops::kernel_version("ssd_chunked_forward") == 2 && ssd_chunked_forward_tc(s, chunk, x, dt, A, Bm, Cm, h0, y, hT)) {
      ops::record_kernel_version_ran("ssd_chunked_forward", 2);
      return;
    }
  }
  ops::record_kernel_version_ran("ssd_chunked_forward", 1);
  const int64_t BH = s.batch * s.heads, PN = s.headdim * s.dstate;
  if (BH == 0) return;
  const int64_t Q = std::max<int64_t>(1, std::min(chunk, s.seqlen));  // a chunk longer than T is T
  const int64_t nc = s.seqlen == 0 ? 0 : 1 + (s.seqlen - 1) / Q;
  const Dtype dtype = dtype_of<T>();
  Tensor states = scratch(BH * nc * PN, dtype), decay = scratch(BH * nc, dtype);
  Tensor cb = scratch(s.batch * nc * s.groups * Q * Q, dtype);
  const size_t three = 3 * Q * sizeof(T), five = 5 * Q * sizeof(T);
  if (nc > 0) {
    SSM_CUDA_LAUNCH("ssd_forward", ssd_cb_kernel<T>, grid_for(cb.numel()), kBlock, 0, s, Q, nc, Bm, Cm, ptr<T>(cb));
    allow_dynamic_shared(ssd_chunk_state_kernel<T>, three, "ssd_forward");
    SSM_CUDA_LAUNCH("ssd_forward", ssd_chunk_state_kernel<T>, grid_for_rows(BH * nc), kChunkBlock, three, s, Q, nc, x,
                    dt, A, Bm, ptr<T>(states), ptr<T>(decay));
  }
  ssd_pass_states<T>(s, nc, h0, ptr<const T>(decay), ptr<T>(states), hT);
  if (nc > 0) {
    allow_dynamic_shared(ssd_chunk_output_kernel<T>, five, "ssd_forward");
    SSM_CUDA_LAUNCH("ssd_forward", ssd_chunk_output_kernel<T>, grid_for_rows(BH * nc), kChunkBlock, five, s, Q, nc, x,
                    dt, A, Cm, ptr<const T>(cb), ptr<const T>(states), y);
  }
}

template <typename T>
void ssd_chunked_backward(const SsdShape& s, int64_t chunk, const T* x, const T* dt, const T* A, const T* Bm,
                          const T* Cm, const T* h0, const T* dy, const T* dhT, T* dx, T* ddt, T* dA, T* dB, T* dC,
                          T* dh0) {
  if constexpr (std::is_same_v<T, float>) {  // version 2 where it applies (ops/kernel_versions.h)
    if (ops::kernel_version("ssd_chunked_backward") == 2 &&
        ssd_chunked_backward_tc(s, chunk, x, dt, A, Bm, Cm, h0, dy, dhT, dx, ddt, dA, dB, dC, dh0)) {
      ops::record_kernel_version_ran("ssd_chunked_backward", 2);
      return;
    }
  }
  ops::record_kernel_version_ran("ssd_chunked_backward", 1);
  const int64_t BH = s.batch * s.heads, PN = s.headdim * s.dstate;
  const int64_t Q = std::max<int64_t>(1, std::min(chunk, s.seqlen));
  const int64_t nc = s.seqlen == 0 ? 0 : 1 + (s.seqlen - 1) / Q;
  const Dtype dtype = dtype_of<T>();
  Tensor states = scratch(BH * nc * PN, dtype), decay = scratch(BH * nc, dtype), hT = scratch(BH * PN, dtype);
  Tensor dstates = scratch(BH * nc * PN, dtype);
  Tensor cb = scratch(s.batch * nc * s.groups * Q * Q, dtype);
  Tensor dBh = scratch(s.batch * s.seqlen * s.heads * s.dstate, dtype), dCh = scratch(dBh.numel(), dtype);
  Tensor dA_parts = scratch(BH * nc, dtype);
  const size_t three = 3 * Q * sizeof(T);
  if (BH > 0) {
    if (nc > 0) {  // 1-2: chunk states and decays, as in the forward
      SSM_CUDA_LAUNCH("ssd_backward", ssd_cb_kernel<T>, grid_for(cb.numel()), kBlock, 0, s, Q, nc, Bm, Cm,
                      ptr<T>(cb));
      allow_dynamic_shared(ssd_chunk_state_kernel<T>, three, "ssd_backward");
      SSM_CUDA_LAUNCH("ssd_backward", ssd_chunk_state_kernel<T>, grid_for_rows(BH * nc), kChunkBlock, three, s, Q, nc,
                      x, dt, A, Bm, ptr<T>(states), ptr<T>(decay));
    }
    // 3: the chunk-start states.
    SSM_CUDA_LAUNCH("ssd_backward", ssd_state_passing_kernel<T>, grid_for_rows(BH), kChunkBlock, 0, s, nc, h0,
                    ptr<const T>(decay), ptr<T>(states), ptr<T>(hT));
    if (nc > 0) {  // 5: what each chunk's outputs send to its start state
      allow_dynamic_shared(ssd_chunk_dstate_kernel<T>, three, "ssd_backward");
      SSM_CUDA_LAUNCH("ssd_backward", ssd_chunk_dstate_kernel<T>, grid_for_rows(BH * nc), kChunkBlock, three, s, Q, nc,
                      dt, A, Cm, dy, ptr<T>(dstates));
    }
    // 6: the gradient of every chunk's end state, and dh0.
    ssd_pass_dstates<T>(s, nc, dhT, ptr<const T>(decay), ptr<T>(dstates), dh0);
    // 7: every chunk's own gradients.
    if (nc > 0) {
      ssd_chunk_gradients<T>(s, Q, nc, x, dt, A, Bm, Cm, dy, ptr<const T>(cb), ptr<const T>(states),
                             ptr<const T>(dstates), dx, ddt, ptr<T>(dBh), ptr<T>(dCh), ptr<T>(dA_parts));
    }
  }
  ssd_sum_group_grads<T>(s, ptr<const T>(dBh), ptr<const T>(dCh), dB, dC);
  ssd_sum_dA<T>(ptr<const T>(dA_parts), s.batch, s.heads, nc, dA);
}

#define SSM_INSTANTIATE_SSD_CHUNKED(T)                                                                           \
  template void ssd_pass_states<T>(const SsdShape&, int64_t, const T*, const T*, T*, T*);                        \
  template void ssd_pass_dstates<T>(const SsdShape&, int64_t, const T*, const T*, T*, T*);                       \
  template void ssd_chunked_forward<T>(const SsdShape&, int64_t, const T*, const T*, const T*, const T*, const T*, \
                                       const T*, T*, T*);                                                       \
  template void ssd_chunked_backward<T>(const SsdShape&, int64_t, const T*, const T*, const T*, const T*,         \
                                        const T*, const T*, const T*, const T*, T*, T*, T*, T*, T*, T*);
SSM_INSTANTIATE_SSD_CHUNKED(float)
SSM_INSTANTIATE_SSD_CHUNKED(double)

}  // namespace ssm::cuda
