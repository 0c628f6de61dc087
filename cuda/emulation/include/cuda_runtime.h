// cuda/emulation/include/cuda_runtime.h — the subset of the CUDA runtime and of CUDA C++ that
// ssmlab's kernels use, emulated on the host (see cuda/emulation/emulator.h for what that means
// and what it cannot check). Only the emulated build puts this directory on the include path.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

// ---- CUDA C++ keywords -------------------------------------------------------------------------------
#define __global__
#define __launch_bounds__(...)  // a register budget for nvcc; the emulator has no registers
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static  // blocks run one at a time, so a static is the block's shared memory

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
extern dim3 threadIdx;
extern dim3 blockIdx;
extern dim3 blockDim;
extern dim3 gridDim;

void __syncthreads();

// Device-side overloads CUDA provides in the global namespace.
template <typename T> inline T min(T a, T b) { return b < a ? b : a; }
template <typename T> inline T max(T a, T b) { return a < b ? b : a; }

float atomicAdd(float* address, float value);
double atomicAdd(double* address, double value);

namespace cuda_emulation {
double shuffle_down(double value, int delta);  // the value of lane + delta (own value past 31)
}
namespace cuda_emulation {
void warp_barrier();  // every lane of the calling thread's warp arrives before any leaves
}
inline void __syncwarp(unsigned /*mask*/ = 0xffffffffu) { cuda_emulation::warp_barrier(); }
template <typename T>
inline T __shfl_down_sync(unsigned /*mask*/, T value, int delta) {
  return static_cast<T>(cuda_emulation::shuffle_down(static_cast<double>(value), delta));
}

// ---- runtime API ---------------------------------------------------------------------------------------
enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorNoDevice = 100,
};
enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
};
enum cudaDeviceAttr {
  cudaDevAttrClockRate = 13,
  cudaDevAttrMultiProcessorCount = 16,
  cudaDevAttrMemoryClockRate = 36,
  cudaDevAttrGlobalMemoryBusWidth = 37,
  cudaDevAttrMaxSharedMemoryPerBlockOptin = 97,
};
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };
constexpr unsigned cudaStreamDefault = 0;

struct CUstream_st;
using cudaStream_t = CUstream_st*;
struct CUevent_st;
using cudaEvent_t = CUevent_st*;

struct cudaDeviceProp {
  char name[256];
  size_t totalGlobalMem;
  int multiProcessorCount;
  int major, minor;
};

const char* cudaGetErrorString(cudaError_t error);
const char* cudaGetErrorName(cudaError_t error);
cudaError_t cudaGetLastError();
cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDevice(int* device);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device);
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device);
cudaError_t cudaMalloc(void** ptr, size_t size);
cudaError_t cudaFree(void* ptr);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t count, cudaMemcpyKind kind, cudaStream_t stream);
cudaError_t cudaMemsetAsync(void* ptr, int value, size_t count, cudaStream_t stream);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned flags);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
cudaError_t cudaEventCreate(cudaEvent_t* event);
cudaError_t cudaEventDestroy(cudaEvent_t event);
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream);
cudaError_t cudaEventSynchronize(cudaEvent_t event);
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t stop);
namespace cuda_emulation {
// The most dynamic shared memory a block may have: an H100's 227 KiB, or the KiB that
// SSMLAB_EMULATED_MAX_SHARED_KIB says, read at every call (a test can emulate an A100's 163 or
// an sm_86 card's 99 and check that kernels which need more fall back).
size_t max_shared_per_block();
// Whether the tensor-core calls of <mma.h> leave tf32 operands unrounded (SSMLAB_EMULATED_TF32=exact,
// read at every launch): a test can then hold a kernel's algebra to fp32 rounding where tf32's,
// amplified through a whole model, would hide a mistake. The default is the hardware's rounding.
bool exact_tf32();
}  // namespace cuda_emulation
template <typename Kernel>
cudaError_t cudaFuncSetAttribute(Kernel* /*kernel*/, cudaFuncAttribute /*attr*/, int value) {
  return value >= 0 && static_cast<size_t>(value) <= cuda_emulation::max_shared_per_block() ? cudaSuccess
                                                                                          : cudaErrorInvalidValue;
}

// ---- the launch (used by SSM_CUDA_LAUNCH in cuda/check.h) ---------------------------------------------
namespace cuda_emulation {
// Runs body() once per thread of every block (see cuda/emulation/emulator.cpp: blocks one after
// another, the threads of a block as contexts that switch at barriers and shuffles). Invalid
// configurations set the error cudaGetLastError() returns, as a real launch does.
void run_blocks(const char* kernel, dim3 grid, dim3 block, size_t shared_bytes, void (*thunk)(const void*),
                const void* body);
unsigned char* dynamic_shared();  // the current block's dynamic shared memory

template <typename Body>
void launch(const char* kernel, dim3 grid, dim3 block, size_t shared_bytes, const Body& body) {
  run_blocks(kernel, grid, block, shared_bytes, [](const void* b) { (*static_cast<const Body*>(b))(); }, &body);
}
}  // namespace cuda_emulation
