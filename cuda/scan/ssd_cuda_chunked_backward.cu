// cuda/scan/ssd_cuda_chunked_backward.cu — step 7 of the chunked SSD backward: every chunk's own
// gradients, one block per (batch, head, chunk), given the chunk-start state S_p, the gradient dS
// of the chunk-end state (steps 1–6 of cuda/scan/ssd_cuda_chunked.cu) and cb = C_i·B_j. It is the
// body of the CPU's per-chunk loop in ops/scan/ssd_cpu_chunked.cpp, term for term:
//   S_new = e^{cum_{L-1}}·S_p + Σ_j e^{tail_j}·u_j ⊗ B_j
//       q   = e^{cum_{L-1}}·<dS, S_p>                  (d log-decay of every step)
//       du_j += e^{tail_j}·dS·B_j,  dB_j += e^{tail_j}·dSᵀ·u_j,  v_j = e^{tail_j}·<u_j, dS·B_j>
//   y_i = e^{cum_i}·S_p·C_i + Σ_{j≤i} e^{seg(i,j)}·cb(i,j)·u_j
//       r_i = e^{cum_i}·<dy_i, S_p·C_i>,  dC_i += e^{cum_i}·S_pᵀ·dy_i
//       with dec = e^{seg(i,j)}, gu = dy_i·u_j:  dC_i += dec·gu·B_j,  dB_j += dec·gu·C_i,
//       du_j += dec·cb·dy_i,  w_ij = dec·cb·gu (j < i)
//   da_k = Σ_{i≥k} r_i + q + Σ_{j<k} v_j + M_k,  M_{k+1} = M_k - Σ_{j<k} w_kj + Σ_{i>k} w_ik
//   dx_j = Δ_j·du_j,  dΔ_j = <du_j, x_j> + A·da_j,  dA += Σ_j Δ_j·da_j
// du accumulates in dx (rows of this chunk only) and is scaled by Δ at the end; dB and dC go to
// per-head partial rows (this head, this chunk's steps), summed per group afterwards. Threads own
// rows p of du and columns n of dB/dC for the whole kernel, and steps j of the per-step vectors,
// so accumulations need no atomics; block_sum and barriers separate the phases.
#include "cuda/kernel_util.cuh"  // defines: block_sum, allow_dynamic_shared, SSM_CUDA_LAUNCH
#include "cuda/scan/ssd_cuda.cuh"     // defines: SsdLayout, SsdChunk, ssd_chunk_id, load_decays, ssd_finish_chunk

namespace ssm::cuda {
namespace {

constexpr int kChunkBlock = 128;
constexpr int kSharedVectors = 13;  // Q-long vectors in dynamic shared memory

template <typename T>
__global__ void ssd_chunk_backward_kernel(SsdShape s, int64_t Q, int64_t nc, const T* x, const T* dt, const T* A,
                                          const T* Bm, const T* Cm, const T* dy, const T* cb, const T* states,
                                          const T* dstates, T* dx, T* ddt, T* dBh, T* dCh, T* dA_parts) {
  SSM_DYNAMIC_SHARED(smem);
  T* delta = reinterpret_cast<T*>(smem);
  T* a = delta + Q;
  T* cum = a + Q;
  T* tail = cum + Q;
  T* seg = tail + Q;      // seg(i, j) of the current reader i, kept by the owner of j
  T* dec = seg + Q;       // e^{seg(i, j)}
  T* cbrow = dec + Q;     // cb(i, j)
  T* gu = cbrow + Q;      // dy_i·u_j
  T* r = gu + Q;          // r_i
  T* v = r + Q;           // v_j
  T* rowpart = v + Q;     // Σ_{j<k} w_kj
  T* colpart = rowpart + Q;  // Σ_{i>k} w_ik
  T* da = colpart + Q;
  const SsdLayout lay{s.seqlen, s.heads, s.headdim, s.groups, s.dstate};
  const int64_t P = s.headdim, N = s.dstate, PN = P * N;
  for (int64_t bhc = blockIdx.x; bhc < s.batch * s.heads * nc; bhc += gridDim.x) {
    const SsdChunk id = ssd_chunk_id(s, Q, nc, bhc);
    const int64_t L = id.len, b = id.b, h = id.h, g = id.g, t0 = id.t0;
    load_decays(lay, id, dt, A, delta, a);
    for (int64_t j = threadIdx.x; j < L; j += blockDim.x) {
      seg[j] = 0;
      colpart[j] = 0;
    }
    if (threadIdx.x == 0) {
      T run = 0;
      for (int64_t i = 0; i < L; ++i) cum[i] = (run += a[i]);
      tail[L - 1] = 0;
      for (int64_t j = L - 2; j >= 0; --j) tail[j] = tail[j + 1] + a[j + 1];
    }
    __syncthreads();
    const T chunk_decay = dexp(cum[L - 1]);
    const T* Sp = states + bhc * PN;
    const T* dS = dstates + bhc * PN;
    const T* cb_chunk = cb + ((b * nc + id.c) * s.groups + g) * Q * Q;
    for (int64_t j = 0; j < L; ++j) {  // zero this chunk's du rows and partial rows (owners p, n)
      for (int64_t p = threadIdx.x; p < P; p += blockDim.x) dx[lay.x(b, t0 + j, h) + p] = 0;
      for (int64_t n = threadIdx.x; n < N; n += blockDim.x) {
        dBh[lay.head_row(b, t0 + j, h) + n] = 0;
        dCh[lay.head_row(b, t0 + j, h) + n] = 0;
      }
    }

    // S_new = e^{cum_{L-1}}·S_p + Σ_j e^{tail_j} u_j ⊗ B_j
    T q = 0;
    for (int64_t e = threadIdx.x; e < PN; e += blockDim.x) q += dS[e] * Sp[e];
    q = block_sum(q) * chunk_decay;
    for (int64_t j = 0; j < L; ++j) {
      const T e = dexp(tail[j]);
      const T* Bj = Bm + lay.bc(b, t0 + j, g);
      const int64_t xj = lay.x(b, t0 + j, h);
      T vj = 0;
      for (int64_t p = threadIdx.x; p < P; p += blockDim.x) {
        T dsb = 0;
        for (int64_t n = 0; n < N; ++n) dsb += dS[p * N + n] * Bj[n];
        dx[xj + p] += e * dsb;
        vj += (delta[j] * x[xj + p]) * dsb;
      }
      vj = block_sum(vj);
      if (threadIdx.x == 0) v[j] = e * vj;
      for (int64_t n = threadIdx.x; n < N; n += blockDim.x) {
        T acc = 0;
        for (int64_t p = 0; p < P; ++p) acc += dS[p * N + n] * (delta[j] * x[xj + p]);
        dBh[lay.head_row(b, t0 + j, h) + n] += e * acc;
      }
    }

    // y_i = e^{cum_i}·S_p·C_i + Σ_{j≤i} e^{seg(i,j)}(C_i·B_j) u_j, readers in order
    for (int64_t i = 0; i < L; ++i) {
      const T e = dexp(cum[i]);
      const T* gi = dy + lay.x(b, t0 + i, h);
      const T* Ci = Cm + lay.bc(b, t0 + i, g);
      const int64_t ci_row = lay.head_row(b, t0 + i, h);
      T ri = 0;
      for (int64_t p = threadIdx.x; p < P; p += blockDim.x) {
        T sc = 0;
        for (int64_t n = 0; n < N; ++n) sc += Sp[p * N + n] * Ci[n];
        ri += gi[p] * sc;
      }
      ri = block_sum(ri);
      if (threadIdx.x == 0) r[i] = e * ri;
      for (int64_t n = threadIdx.x; n < N; n += blockDim.x) {
        T acc = 0;
        for (int64_t p = 0; p < P; ++p) acc += Sp[p * N + n] * gi[p];
        dCh[ci_row + n] += e * acc;
      }
      for (int64_t j = threadIdx.x; j <= i; j += blockDim.x) {
        seg[j] = j < i ? seg[j] + a[i] : T(0);
        dec[j] = dexp(seg[j]);
        cbrow[j] = cb_chunk[i * Q + j];
        const int64_t xj = lay.x(b, t0 + j, h);
        T g_u = 0;
        for (int64_t p = 0; p < P; ++p) g_u += gi[p] * (delta[j] * x[xj + p]);
        gu[j] = g_u;
      }
      __syncthreads();
      for (int64_t n = threadIdx.x; n < N; n += blockDim.x) {
        T acc = 0;
        for (int64_t j = 0; j <= i; ++j) {
          const T dg = dec[j] * gu[j];
          acc += dg * Bm[lay.bc(b, t0 + j, g) + n];
          dBh[lay.head_row(b, t0 + j, h) + n] += dg * Ci[n];
        }
        dCh[ci_row + n] += acc;
      }
      for (int64_t p = threadIdx.x; p < P; p += blockDim.x) {
        for (int64_t j = 0; j <= i; ++j) dx[lay.x(b, t0 + j, h) + p] += dec[j] * cbrow[j] * gi[p];
      }
      T wsum = 0;
      for (int64_t j = threadIdx.x; j < i; j += blockDim.x) {
        const T w = dec[j] * cbrow[j] * gu[j];
        colpart[j] += w;
        wsum += w;
      }
      wsum = block_sum(wsum);
      if (threadIdx.x == 0) rowpart[i] = wsum;
      __syncthreads();  // before the next reader rewrites dec, cbrow, gu
    }

    // da, dA's share, dx = Δ·du and dΔ (sequential over the chunk)
    ssd_finish_chunk<T>(lay, id, q, A[h], delta, r, v, rowpart, colpart, da, x, dx, ddt, dA_parts);
  }
}

}  // namespace

template <typename T>
void ssd_chunk_gradients(const SsdShape& s, int64_t Q, int64_t nc, const T* x, const T* dt, const T* A, const T* Bm,
                         const T* Cm, const T* dy, const T* cb, const T* states, const T* dstates, T* dx, T* ddt,
                         T* dBh, T* dCh, T* dA_parts) {
  const int64_t blocks = s.batch * s.heads * nc;
  if (blocks == 0) return;
  const size_t shared = kSharedVectors * Q * sizeof(T);
  allow_dynamic_shared(ssd_chunk_backward_kernel<T>, shared, "ssd_backward");
  SSM_CUDA_LAUNCH("ssd_backward", ssd_chunk_backward_kernel<T>, grid_for_rows(blocks), kChunkBlock, shared, s, Q, nc,
                  x, dt, A, Bm, Cm, dy, cb, states, dstates, dx, ddt, dBh, dCh, dA_parts);
}

#define SSM_INSTANTIATE_SSD_CHUNK_GRADIENTS(T)                                                                   \
  template void ssd_chunk_gradients<T>(const SsdShape&, int64_t, int64_t, const T*, const T*, const T*, const T*, \
                                       const T*, const T*, const T*, const T*, const T*, T*, T*, T*, T*, T*);
SSM_INSTANTIATE_SSD_CHUNK_GRADIENTS(float)
SSM_INSTANTIATE_SSD_CHUNK_GRADIENTS(double)

}  // namespace ssm::cuda
