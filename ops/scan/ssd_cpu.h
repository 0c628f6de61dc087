// ops/scan/ssd_cpu.h — the CPU SSD implementations behind CpuBackend::ssd_forward/backward.
// Raw contiguous pointers in the layouts of ops/scan/ssd.h; h0, dhT and dh0 may be null.
#pragma once

#include "ops/backend.h"  // defines: SsdShape

namespace ssm::cpu {

template <typename T>
void ssd_recurrent_forward(const SsdShape& s, const T* x, const T* dt, const T* A, const T* Bm, const T* Cm,
                           const T* h0, T* y, T* hT);
template <typename T>
void ssd_recurrent_backward(const SsdShape& s, const T* x, const T* dt, const T* A, const T* Bm, const T* Cm,
                            const T* h0, const T* dy, const T* dhT, T* dx, T* ddt, T* dA, T* dB, T* dC, T* dh0);

// The f32 recurrence the CPU runs (ssd_cpu_fused_recurrent.cpp): the same function as the
// reference above, f32 states, vectorised and fused; the reference stays the definition and the
// f64 path.
void ssd_fused_recurrent_forward(const SsdShape& s, const float* x, const float* dt, const float* A, const float* Bm,
                                 const float* Cm, const float* h0, float* y, float* hT);
void ssd_fused_recurrent_backward(const SsdShape& s, const float* x, const float* dt, const float* A, const float* Bm,
                                  const float* Cm, const float* h0, const float* dy, const float* dhT, float* dx,
                                  float* ddt, float* dA, float* dB, float* dC, float* dh0);

// The chunked form in f32 with its products as GEMMs (ssd_cpu_chunked_gemm.cpp): what the CPU runs
// for chunk > 0; the template below stays the readable reference and the f64 path.
void ssd_chunked_gemm_forward(const SsdShape& s, int64_t chunk, const float* x, const float* dt, const float* A,
                              const float* Bm, const float* Cm, const float* h0, float* y, float* hT);
void ssd_chunked_gemm_backward(const SsdShape& s, int64_t chunk, const float* x, const float* dt, const float* A,
                               const float* Bm, const float* Cm, const float* h0, const float* dy, const float* dhT,
                               float* dx, float* ddt, float* dA, float* dB, float* dC, float* dh0);

template <typename T>
void ssd_chunked_forward(const SsdShape& s, int64_t chunk, const T* x, const T* dt, const T* A, const T* Bm,
                         const T* Cm, const T* h0, T* y, T* hT);
template <typename T>
void ssd_chunked_backward(const SsdShape& s, int64_t chunk, const T* x, const T* dt, const T* A, const T* Bm,
                          const T* Cm, const T* h0, const T* dy, const T* dhT, T* dx, T* ddt, T* dA, T* dB, T* dC,
                          T* dh0);

}  // namespace ssm::cpu
