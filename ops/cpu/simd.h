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

//
// GCC does not inline a function compiled for one architecture into a clone for another unless
// the function is always_inline: a helper called inside a cloned loop (fast_exp, a sigmoid, an
// op's formula) would stay an out-of-line baseline call per element, and the loop scalar. Such
// helpers are marked SSM_INLINE.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define SSM_CPU_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SSM_CPU_CLONES  // clang (the fuzz build) and other targets: the baseline only
#endif
#if defined(__GNUC__)
#define SSM_INLINE [[gnu::always_inline]] inline
#else
#define SSM_INLINE inline
#endif
