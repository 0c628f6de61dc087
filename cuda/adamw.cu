// cuda/adamw.cu — the AdamW update in place on the GPU: the twin of ops/cpu/adamw.cpp, one thread
// per element, the same f32 arithmetic per element (so CPU and GPU steps agree to rounding, up to
// where each compiler fuses a multiply and an add).
//   m ← β1·m + (1-β1)·g        v ← β2·v + (1-β2)·g²
//   p ← p - lr·( m̂ / (sqrt(v̂) + eps) + wd·p ),   m̂ = m/(1-β1^t), v̂ = v/(1-β2^t)
// Two versions (ops/kernel_versions.h, docs/kernels.md), the same update element by element:
//   1  one launch per parameter tensor. A model has a few hundred of them, most small (norm
//      weights, biases, A_log), so a step is a few hundred launches of a few microseconds each.
//   2  one launch for all of them (the multi-tensor form of apex and PyTorch's fused optimizers):
//      the tensors are cut into chunks of kChunk elements, a table of (pointers, size, weight
//      decay, first chunk) goes to the GPU with the launch, and each block finds its chunk's
//      tensor by binary search in the table.
#include <algorithm>
#include <cmath>
#include <vector>

#include "cuda/cuda_backend.h"   // defines: CudaBackend
#include "cuda/kernel_util.cuh"  // defines: grid_for, scratch, stream, SSM_CUDA_LAUNCH, SSM_CUDA_CHECK
#include "ops/kernel_versions.h"  // defines: kernel_version, record_kernel_version_ran

namespace ssm::cuda {
namespace {

constexpr int64_t kChunk = 4096;  // elements per block-step of version 2: 16 per thread

struct AdamWConstants {
  float lr, beta1, beta2, eps, inv_bc1, inv_bc2;
};

__device__ inline void adamw_element(float& p, float g, float& m, float& v, float weight_decay,
                                     const AdamWConstants& c) {
  const float mi = c.beta1 * m + (1 - c.beta1) * g;
  const float vi = c.beta2 * v + (1 - c.beta2) * g * g;
  m = mi;
  v = vi;
  p = p - c.lr * (mi * c.inv_bc1 / (sqrtf(vi * c.inv_bc2) + c.eps) + weight_decay * p);
}

// Version 1: one tensor.
__global__ void adamw_kernel(float* p, const float* g, float* m, float* v, int64_t n, float weight_decay,
                             AdamWConstants c) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    adamw_element(p[i], g[i], m[i], v[i], weight_decay, c);
  }
}

// Version 2: one entry per tensor; first_chunk is the index of its first chunk among all chunks.
struct TensorEntry {
  float* p;
  const float* g;
  float* m;
  float* v;
  int64_t n, first_chunk;
  float weight_decay;
};

__global__ void adamw_multi_tensor_kernel(const TensorEntry* table, int count, int64_t chunks, AdamWConstants c) {
  for (int64_t chunk = blockIdx.x; chunk < chunks; chunk += gridDim.x) {
    int lo = 0, hi = count - 1;  // the last entry whose first chunk is <= chunk
    while (lo < hi) {
      const int mid = (lo + hi + 1) / 2;
      if (table[mid].first_chunk <= chunk) lo = mid;
      else hi = mid - 1;
    }
    const TensorEntry& t = table[lo];
    const int64_t begin = (chunk - t.first_chunk) * kChunk, end = min(begin + kChunk, t.n);
    for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
      adamw_element(t.p[i], t.g[i], t.m[i], t.v[i], t.weight_decay, c);
    }
  }
}

void check_tensors(const AdamWTensors& t) {
  for (const Tensor* x : {&t.param, &t.grad, &t.m, &t.v}) {
    SSM_CHECK(x->dtype() == Dtype::f32 && x->is_contiguous(), "adamw_step: needs contiguous f32 tensors, got ",
              x->str());
    SSM_CHECK(x->numel() == t.param.numel(), "adamw_step: ", x->str(), " does not match the parameter ",
              t.param.str());
  }
}

void adamw_per_tensor(const std::vector<AdamWTensors>& params, const AdamWConstants& c) {
  for (const AdamWTensors& t : params) {
    const int64_t n = t.param.numel();
    if (n == 0) continue;
    SSM_CUDA_LAUNCH("adamw_step", adamw_kernel, grid_for(n), kBlock, 0, ptr<float>(t.param), ptr<const float>(t.grad),
                    ptr<float>(t.m), ptr<float>(t.v), n, static_cast<float>(t.weight_decay), c);
  }
}

void adamw_multi_tensor(const std::vector<AdamWTensors>& params, const AdamWConstants& c) {
  std::vector<TensorEntry> table;
  int64_t chunks = 0;
  for (const AdamWTensors& t : params) {
    const int64_t n = t.param.numel();
    if (n == 0) continue;  // an empty tensor would own no chunk, and the search needs every entry to own one
    table.push_back({ptr<float>(t.param), ptr<const float>(t.grad), ptr<float>(t.m), ptr<float>(t.v), n, chunks,
                     static_cast<float>(t.weight_decay)});
    chunks += (n + kChunk - 1) / kChunk;
  }
  if (table.empty()) return;
  // The table travels on the compute stream ahead of the launch. From pageable host memory the
  // copy returns once CUDA has staged the bytes, so `table` may go out of scope after it.
  const size_t bytes = table.size() * sizeof(TensorEntry);
  Tensor device_table = scratch(static_cast<int64_t>((bytes + 7) / 8), Dtype::f64);
  SSM_CUDA_CHECK("adamw_step", cudaMemcpyAsync(device_table.raw_data(), table.data(), bytes, cudaMemcpyHostToDevice,
                                               stream()));
  SSM_CUDA_LAUNCH("adamw_step", adamw_multi_tensor_kernel, grid_for_rows(chunks), kBlock, 0,
                  static_cast<const TensorEntry*>(device_table.raw_data()), static_cast<int>(table.size()), chunks, c);
}

}  // namespace

void CudaBackend::adamw_step(const std::vector<AdamWTensors>& params, const AdamWHyper& h) {
  for (const AdamWTensors& t : params) check_tensors(t);
  const double bc1 = 1.0 - std::pow(h.beta1, static_cast<double>(h.step));
  const double bc2 = 1.0 - std::pow(h.beta2, static_cast<double>(h.step));
  const AdamWConstants c{static_cast<float>(h.lr),        static_cast<float>(h.beta1),
                         static_cast<float>(h.beta2),     static_cast<float>(h.eps),
                         static_cast<float>(1.0 / bc1),   static_cast<float>(1.0 / bc2)};
  const int version = ops::kernel_version("adamw");
  ops::record_kernel_version_ran("adamw", version);
  if (version == 2) {
    adamw_multi_tensor(params, c);
  } else {
    adamw_per_tensor(params, c);
  }
}

}  // namespace ssm::cuda
