// cuda/emulation/emulator.cpp — a host emulator for the CUDA kernels of cuda/: the runtime calls,
// the launch, __syncthreads, warp shuffles, atomics, the warp matrix calls of <mma.h> (their
// barrier; include/mma.h holds the rest) and the cuBLAS GEMMs that ssmlab uses.
//
// Why: the CUDA backend must be correct before anyone has a GPU to run it on. The emulated build
// compiles the very same cuda/*.cu files as host C++ (the headers in include/ stand in for the
// CUDA ones) and the tests/cuda/test_cuda_*.cpp suites run against it, CUDA == CPU op by op.
// How: a launch runs its blocks one after another. The threads of a block are user-level contexts
// (ucontext) on one host thread: each runs until it reaches __syncthreads, a warp shuffle or its
// end; a barrier releases its threads only when all of them (the block's, or the warp's 32 lanes)
// wait there, and a barrier some thread never reaches is reported at once as a deadlock. Odd
// blocks run their threads in reverse order, so a missing barrier between a write and another
// thread's read shows up whichever thread runs first. Only the first two blocks along x are
// launched (every kernel here is a grid-stride loop along x, and that loop is then exercised
// too). Device memory is host memory, filled with 0xFF bytes (NaN) when allocated, as is shared
// memory, so reading something never written shows up as NaN. cuBLAS GEMMs are plain loops in
// double with cuBLAS's argument checks.
// A block may have the dynamic shared memory of an H100 (227 KiB), or the KiB that
// SSMLAB_EMULATED_MAX_SHARED_KIB says (tests emulate smaller GPUs with it).
// What it cannot check: timing, occupancy, the real memory model (host threads are more strongly
// ordered than a GPU), register or shared-memory limits beyond the configuration checks, nvcc's
// code generation, and cuBLAS's actual choice of algorithm. Those need a GPU run.
#include <ucontext.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "cublas_v2.h"
#include "cuda_bf16.h"
#include "cuda_runtime.h"

dim3 threadIdx;
dim3 blockIdx;
dim3 blockDim;
dim3 gridDim;

namespace cuda_emulation {
namespace {

constexpr unsigned kMaxBlocksX = 2;
constexpr size_t kFiberStack = 256 * 1024;

cudaError_t g_last_error = cudaSuccess;

cudaError_t fail(cudaError_t e) {
  g_last_error = e;
  return e;
}

// One emulated GPU thread: a user-level context with its own stack, run until it waits.
struct Fiber {
  enum class State { runnable, at_syncthreads, at_shuffle, done };
  ucontext_t context;
  std::unique_ptr<char[]> stack{new char[kFiberStack]};
  unsigned index = 0;
  State state = State::done;
};

struct Warp {
  double slots[32] = {};
};

// The block being run: its threads, warps' shuffle slots and dynamic shared memory.
struct Block {
  const char* kernel = "";
  std::vector<std::unique_ptr<Fiber>> fibers;  // grows on demand, reused across blocks and launches
  std::vector<Warp> warps;
  std::vector<unsigned char> shared;
  unsigned threads = 0;
  Fiber* current = nullptr;
  ucontext_t scheduler;
  void (*thunk)(const void*) = nullptr;
  const void* body = nullptr;
};
Block g_block;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "cuda emulator: kernel %s, block (%u, %u): %s\n", g_block.kernel, blockIdx.x, blockIdx.y,
               what.c_str());
  std::abort();
}

void fiber_main() {
  Fiber* f = g_block.current;
  g_block.thunk(g_block.body);
  f->state = Fiber::State::done;  // returning resumes uc_link: the scheduler
}

// Parks the current thread in `state` and returns to the scheduler until it is released.
void park(Fiber::State state) {
  Fiber* f = g_block.current;
  f->state = state;
  swapcontext(&f->context, &g_block.scheduler);
}

// Runs every runnable thread until it waits or ends, in `reverse` order or not; then releases the
// warps whose 32 lanes all wait at a shuffle, else the block when every thread waits at
// __syncthreads. Anything else is a deadlock (a barrier not every thread reaches): abort.
void run_block(bool reverse) {
  const unsigned n = g_block.threads;
  for (;;) {
    for (unsigned k = 0; k < n; ++k) {
      Fiber* f = g_block.fibers[reverse ? n - 1 - k : k].get();
      if (f->state != Fiber::State::runnable) continue;
      g_block.current = f;
      threadIdx = dim3(f->index, 0, 0);
      swapcontext(&g_block.scheduler, &f->context);
    }
    unsigned done = 0, at_sync = 0;
    bool released = false;
    for (unsigned w = 0; w * 32 < n; ++w) {
      const unsigned first = w * 32, last = std::min(n, first + 32);
      bool all = true;
      for (unsigned t = first; t < last; ++t) all = all && g_block.fibers[t]->state == Fiber::State::at_shuffle;
      if (!all) continue;
      for (unsigned t = first; t < last; ++t) g_block.fibers[t]->state = Fiber::State::runnable;
      released = true;
    }
    if (released) continue;
    for (unsigned t = 0; t < n; ++t) {
      done += g_block.fibers[t]->state == Fiber::State::done;
      at_sync += g_block.fibers[t]->state == Fiber::State::at_syncthreads;
    }
    if (done == n) return;
    if (at_sync == n) {
      for (unsigned t = 0; t < n; ++t) g_block.fibers[t]->state = Fiber::State::runnable;
      continue;
    }
    die(std::to_string(at_sync) + " threads wait at __syncthreads, " + std::to_string(n - done - at_sync) +
        " at a warp shuffle, " + std::to_string(done) + " have finished: a barrier that not every thread reaches");
  }
}

}  // namespace

unsigned char* dynamic_shared() { return g_block.shared.data(); }

double shuffle_down(double value, int delta) {
  const unsigned lane = threadIdx.x % 32, first = threadIdx.x - lane;
  const unsigned size = std::min(32u, g_block.threads - first);
  Warp& w = g_block.warps[threadIdx.x / 32];
  w.slots[lane] = value;
  park(Fiber::State::at_shuffle);
  const double result = lane + delta < size ? w.slots[lane + delta] : value;
  park(Fiber::State::at_shuffle);  // nobody overwrites a slot before every lane has read
  return result;
}

void warp_barrier() { park(Fiber::State::at_shuffle); }  // released as a shuffle is: all 32 lanes there

size_t max_shared_per_block() {
  const char* kib = std::getenv("SSMLAB_EMULATED_MAX_SHARED_KIB");
  return kib != nullptr && *kib != '\0' ? static_cast<size_t>(std::strtoul(kib, nullptr, 10)) * 1024 : 227 * 1024;
}

bool g_exact_tf32 = false;
bool exact_tf32() { return g_exact_tf32; }

void run_blocks(const char* kernel, dim3 grid, dim3 block, size_t shared_bytes, void (*thunk)(const void*),
                const void* body) {
  const char* tf32 = std::getenv("SSMLAB_EMULATED_TF32");  // read once per launch, not per element
  g_exact_tf32 = tf32 != nullptr && std::strcmp(tf32, "exact") == 0;
  if (block.x < 1 || block.x > 1024 || block.y != 1 || block.z != 1 || grid.x < 1 || grid.y < 1 || grid.y > 65535 ||
      grid.z != 1 || shared_bytes > max_shared_per_block()) {
    fail(cudaErrorInvalidConfiguration);
    return;
  }
  gridDim = dim3(std::min(grid.x, kMaxBlocksX), grid.y, 1);
  blockDim = block;
  g_block.kernel = kernel;
  g_block.threads = block.x;
  g_block.thunk = thunk;
  g_block.body = body;
  while (g_block.fibers.size() < block.x) {
    g_block.fibers.emplace_back(new Fiber());
    g_block.fibers.back()->index = static_cast<unsigned>(g_block.fibers.size() - 1);
  }
  g_block.warps.assign((block.x + 31) / 32, Warp());
  for (unsigned by = 0; by < gridDim.y; ++by) {
    for (unsigned bx = 0; bx < gridDim.x; ++bx) {
      blockIdx = dim3(bx, by, 0);
      g_block.shared.assign(shared_bytes + 16, 0xFF);  // NaN until written
      for (unsigned t = 0; t < block.x; ++t) {
        Fiber& f = *g_block.fibers[t];
        getcontext(&f.context);
        f.context.uc_stack.ss_sp = f.stack.get();
        f.context.uc_stack.ss_size = kFiberStack;
        f.context.uc_link = &g_block.scheduler;
        makecontext(&f.context, fiber_main, 0);
        f.state = Fiber::State::runnable;
      }
      run_block(/*reverse=*/(bx + by) % 2 == 1);  // alternate the order, so a missing barrier shows either way
    }
  }
}

}  // namespace cuda_emulation

using cuda_emulation::fail;

void __syncthreads() { cuda_emulation::park(cuda_emulation::Fiber::State::at_syncthreads); }

float atomicAdd(float* address, float value) { return std::atomic_ref<float>(*address).fetch_add(value); }
double atomicAdd(double* address, double value) { return std::atomic_ref<double>(*address).fetch_add(value); }

// ---- runtime -----------------------------------------------------------------------------------------------
const char* cudaGetErrorString(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
  }
  return "unknown error";
}
const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
  }
  return "cudaErrorUnknown";
}
cudaError_t cudaGetLastError() {
  const cudaError_t e = cuda_emulation::g_last_error;
  cuda_emulation::g_last_error = cudaSuccess;
  return e;
}
cudaError_t cudaGetDeviceCount(int* count) {
  *count = 1;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int device) { return device == 0 ? cudaSuccess : fail(cudaErrorInvalidValue); }
cudaError_t cudaGetDevice(int* device) {
  *device = 0;
  return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (device != 0) return fail(cudaErrorInvalidValue);
  std::memset(prop, 0, sizeof *prop);
  std::snprintf(prop->name, sizeof prop->name, "ssmlab CUDA emulator (host threads)");
  prop->totalGlobalMem = size_t{1} << 30;
  prop->multiProcessorCount = 1;
  prop->major = 9;
  prop->minor = 0;
  return cudaSuccess;
}
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  if (device != 0) return fail(cudaErrorInvalidValue);
  switch (attr) {
    case cudaDevAttrClockRate: *value = 1000000; break;
    case cudaDevAttrMultiProcessorCount: *value = 1; break;
    case cudaDevAttrMemoryClockRate: *value = 1000000; break;
    case cudaDevAttrGlobalMemoryBusWidth: *value = 64; break;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *value = static_cast<int>(cuda_emulation::max_shared_per_block()); break;
  }
  return cudaSuccess;
}
cudaError_t cudaMalloc(void** ptr, size_t size) {
  const size_t rounded = (std::max<size_t>(size, 1) + 255) / 256 * 256;
  *ptr = std::aligned_alloc(256, rounded);
  if (*ptr == nullptr) return fail(cudaErrorMemoryAllocation);
  std::memset(*ptr, 0xFF, rounded);  // NaN everywhere until written
  return cudaSuccess;
}
cudaError_t cudaFree(void* ptr) {
  std::free(ptr);
  return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t count, cudaMemcpyKind, cudaStream_t) {
  if (count > 0 && (dst == nullptr || src == nullptr)) return fail(cudaErrorInvalidValue);
  if (count > 0) std::memmove(dst, src, count);
  return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* ptr, int value, size_t count, cudaStream_t) {
  if (count > 0 && ptr == nullptr) return fail(cudaErrorInvalidValue);
  if (count > 0) std::memset(ptr, value, count);
  return cudaSuccess;
}
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned) {
  static char the_stream;
  *stream = reinterpret_cast<cudaStream_t>(&the_stream);
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }

struct CUevent_st {
  std::chrono::steady_clock::time_point at;
};
cudaError_t cudaEventCreate(cudaEvent_t* event) {
  *event = new CUevent_st;
  return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t event) {
  delete event;
  return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t) {
  event->at = std::chrono::steady_clock::now();
  return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t stop) {
  *ms = std::chrono::duration<float, std::milli>(stop->at - start->at).count();
  return cudaSuccess;
}

// ---- cuBLAS ------------------------------------------------------------------------------------------------
struct cublasContext {};

namespace {

double load(const void* p, cudaDataType_t type, long long i) {
  switch (type) {
    case CUDA_R_32F: return static_cast<const float*>(p)[i];
    case CUDA_R_64F: return static_cast<const double*>(p)[i];
    case CUDA_R_16BF: return __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]);
  }
  return 0;
}
void store(void* p, cudaDataType_t type, long long i, double v) {
  switch (type) {
    case CUDA_R_32F: static_cast<float*>(p)[i] = static_cast<float>(v); break;
    case CUDA_R_64F: static_cast<double*>(p)[i] = v; break;
    case CUDA_R_16BF: static_cast<__nv_bfloat16*>(p)[i] = __float2bfloat16(static_cast<float>(v)); break;
  }
}

// Column-major C = alpha·op(A)·op(B) + beta·C for each batch entry, after cuBLAS's checks.
cublasStatus_t gemm(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, double alpha, const void* A,
                    cudaDataType_t at, int lda, long long sa, const void* B, cudaDataType_t bt, int ldb, long long sb,
                    double beta, void* C, cudaDataType_t ct, int ldc, long long sc, int batch) {
  const int a_rows = ta == CUBLAS_OP_N ? m : k, b_rows = tb == CUBLAS_OP_N ? k : n;
  if (m < 0 || n < 0 || k < 0 || batch < 0 || lda < std::max(1, a_rows) || ldb < std::max(1, b_rows) ||
      ldc < std::max(1, m)) {
    return CUBLAS_STATUS_INVALID_VALUE;
  }
  for (int b = 0; b < batch; ++b) {
    for (int j = 0; j < n; ++j) {
      for (int i = 0; i < m; ++i) {
        double acc = 0;
        for (int l = 0; l < k; ++l) {
          const long long ai = ta == CUBLAS_OP_N ? i + static_cast<long long>(l) * lda : l + static_cast<long long>(i) * lda;
          const long long bi = tb == CUBLAS_OP_N ? l + static_cast<long long>(j) * ldb : j + static_cast<long long>(l) * ldb;
          acc += load(A, at, b * sa + ai) * load(B, bt, b * sb + bi);
        }
        const long long ci = b * sc + i + static_cast<long long>(j) * ldc;
        store(C, ct, ci, alpha * acc + (beta == 0 ? 0.0 : beta * load(C, ct, ci)));
      }
    }
  }
  return CUBLAS_STATUS_SUCCESS;
}

double scalar(const void* p, cublasComputeType_t) { return *static_cast<const float*>(p); }

}  // namespace

const char* cublasGetStatusString(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
  }
  return "CUBLAS_STATUS_UNKNOWN";
}
cublasStatus_t cublasCreate(cublasHandle_t* handle) {
  static cublasContext context;
  *handle = &context;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetStream(cublasHandle_t, cudaStream_t) { return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasGemmEx(cublasHandle_t, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,
                            const void* alpha, const void* A, cudaDataType_t Atype, int lda, const void* B,
                            cudaDataType_t Btype, int ldb, const void* beta, void* C, cudaDataType_t Ctype, int ldc,
                            cublasComputeType_t computeType, cublasGemmAlgo_t) {
  return gemm(transa, transb, m, n, k, scalar(alpha, computeType), A, Atype, lda, 0, B, Btype, ldb, 0,
              scalar(beta, computeType), C, Ctype, ldc, 0, 1);
}
cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t, cublasOperation_t transa, cublasOperation_t transb, int m,
                                          int n, int k, const void* alpha, const void* A, cudaDataType_t Atype, int lda,
                                          long long strideA, const void* B, cudaDataType_t Btype, int ldb,
                                          long long strideB, const void* beta, void* C, cudaDataType_t Ctype, int ldc,
                                          long long strideC, int batchCount, cublasComputeType_t computeType,
                                          cublasGemmAlgo_t) {
  return gemm(transa, transb, m, n, k, scalar(alpha, computeType), A, Atype, lda, strideA, B, Btype, ldb, strideB,
              scalar(beta, computeType), C, Ctype, ldc, strideC, batchCount);
}
cublasStatus_t cublasDgemm(cublasHandle_t, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,
                           const double* alpha, const double* A, int lda, const double* B, int ldb, const double* beta,
                           double* C, int ldc) {
  return gemm(transa, transb, m, n, k, *alpha, A, CUDA_R_64F, lda, 0, B, CUDA_R_64F, ldb, 0, *beta, C, CUDA_R_64F, ldc,
              0, 1);
}
cublasStatus_t cublasDgemmStridedBatched(cublasHandle_t, cublasOperation_t transa, cublasOperation_t transb, int m,
                                         int n, int k, const double* alpha, const double* A, int lda, long long strideA,
                                         const double* B, int ldb, long long strideB, const double* beta, double* C,
                                         int ldc, long long strideC, int batchCount) {
  return gemm(transa, transb, m, n, k, *alpha, A, CUDA_R_64F, lda, strideA, B, CUDA_R_64F, ldb, strideB, *beta, C,
              CUDA_R_64F, ldc, strideC, batchCount);
}
