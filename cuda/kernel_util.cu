// cuda/kernel_util.cu — the host halves of cuda/kernel_util.cuh: strided views and zero fills.
#include "cuda/kernel_util.cuh"

namespace ssm::cuda {

StridedIndex strided_index(const Tensor& t, const char* op) {
  SSM_CHECK(t.dim() <= kMaxDims, op, ": the CUDA kernels take at most ", kMaxDims, " dims, got ", t.str());
  StridedIndex ix;
  ix.nd = static_cast<int>(t.dim());
  ix.offset = t.offset();
  ix.contiguous = t.is_contiguous();
  for (int d = 0; d < ix.nd; ++d) {
    ix.sizes[d] = t.shape()[d];
    ix.strides[d] = t.strides()[d];
  }
  return ix;
}

void zero_bytes(void* ptr, size_t nbytes, const char* op) {
  if (nbytes == 0) return;
  SSM_CUDA_CHECK(op, cudaMemsetAsync(ptr, 0, nbytes, stream()));
}

void zero_fill(const Tensor& t, const char* op) {
  SSM_CHECK(t.is_contiguous(), op, ": zero_fill needs a contiguous tensor, got ", t.str());
  zero_bytes(t.raw_data(), t.nbytes(), op);
}

}  // namespace ssm::cuda
