// cuda/scan/selective_scan_cuda.cuh — what the selective-scan files share: version 2 of the scan
// (cuda/scan/selective_scan_cuda_parallel.cu), called by the backend's entry points in
// cuda/scan/selective_scan_cuda_recurrent.cu, which also hold version 1. Raw contiguous device
// pointers in the layouts of ops/scan/selective_scan.h; h0, dhT and dh0 may be null. Included by
// .cu files only.
#pragma once

#include <cstdint>

#include "ops/backend.h"  // defines: SelectiveScanShape

namespace ssm::cuda {

// Version 2 keeps a channel's states in registers: it takes N <= this (Mamba-1 uses 16).
constexpr int64_t kSelectiveParallelMaxState = 16;

template <typename T>
void selective_forward_parallel(const SelectiveScanShape& s, const T* x, const T* dt, const T* A, const T* Bm,
                                const T* Cm, const T* h0, T* y, T* hT);

// Writes dx, ddt, dh0 (may be null) and the partial sums version 1's host code adds up in a fixed
// order: dA_rows (B, N, E) = Σ_t of each batch row, dB_part and dC_part (B, ⌈E/32⌉, T, N) = the
// sums over each group of 32 channels.
template <typename T>
void selective_backward_parallel(const SelectiveScanShape& s, const T* x, const T* dt, const T* A, const T* Bm,
                                 const T* Cm, const T* h0, const T* dy, const T* dhT, T* dx, T* ddt, T* dh0,
                                 T* dA_rows, T* dB_part, T* dC_part);

}  // namespace ssm::cuda
