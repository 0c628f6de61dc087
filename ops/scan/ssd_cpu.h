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

template <typename T>
void ssd_chunked_forward(const SsdShape& s, int64_t chunk, const T* x, const T* dt, const T* A, const T* Bm,
                         const T* Cm, const T* h0, T* y, T* hT);
template <typename T>
void ssd_chunked_backward(const SsdShape& s, int64_t chunk, const T* x, const T* dt, const T* A, const T* Bm,
                          const T* Cm, const T* h0, const T* dy, const T* dhT, T* dx, T* ddt, T* dA, T* dB, T* dC,
                          T* dh0);

}  // namespace ssm::cpu
