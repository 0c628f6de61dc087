// ops/cpu/simd.h — how the hot CPU kernels reach the machine's vector units without intrinsics.
//
// The build targets baseline x86-64 (SSE2), so a binary runs on any x86-64 machine. A kernel
// marked SSM_CPU_CLONES is compiled three times, for AVX-512 (x86-64-v4), AVX2 + FMA
// (x86-64-v3) and the baseline, and the dynamic loader picks the best one the CPU supports
// when the program starts (GCC's target_clones, an ifunc). The loops stay plain C++; `#pragma
// omp simd` with a reduction clause lets the compiler vectorise sums it may not reorder itself.
//
// The clones are a function attribute, and OpenMP outlines a parallel region into a separate
// function that would not inherit it: so the cloned function is the work of one parallel job
// (one head, one row block), called from the parallel loop.
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define SSM_CPU_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SSM_CPU_CLONES  // clang (the fuzz build) and other targets: the baseline only
#endif
