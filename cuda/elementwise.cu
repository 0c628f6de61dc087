// cuda/elementwise.cu — copy (strided, converting dtype), unary and broadcasting binary kernels:
// the GPU twin of ops/cpu/elementwise.cpp. One thread per output element (grid-stride), inputs
// read through their strides, so broadcast (stride-0) and transposed views need no copy.
// f32, f64 and bf16 (bf16 computes in f32 and rounds once on store). The unary formulas and their
// derivatives are the CPU's own, from ops/unary_math.h.
#include "cuda/cuda_backend.h"   // defines: CudaBackend
#include "cuda/kernel_util.cuh"  // defines: Num, StridedIndex, dispatch_floating, grid_for
#include "ops/unary_math.h"      // defines: unary_value, unary_derivative

namespace ssm::cuda {
namespace {

// ---- copy ------------------------------------------------------------------------------------------
// Same dtype: move the element's bits (W is an unsigned word of the element's size).
template <typename W>
__global__ void copy_bits_kernel(const W* src, StridedIndex si, W* dst, StridedIndex di, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    dst[di(i)] = src[si(i)];
  }
}

// Different dtypes: through double, exactly like core/tensor.cpp's load_as_double/store_from_double
// (exact for f32, bf16, f16, i32 and for i64 below 2^53).
__device__ double load_as_double(const void* base, Dtype dtype, int64_t i) {
  switch (dtype) {
    case Dtype::f32: return static_cast<const float*>(base)[i];
    case Dtype::f64: return static_cast<const double*>(base)[i];
    case Dtype::bf16: return __bfloat162float(static_cast<const bf16*>(base)[i]);
    case Dtype::f16: return __half2float(static_cast<const __half*>(base)[i]);
    case Dtype::i32: return static_cast<const int32_t*>(base)[i];
    case Dtype::i64: return static_cast<double>(static_cast<const int64_t*>(base)[i]);
  }
  return 0;
}

__device__ void store_from_double(void* base, Dtype dtype, int64_t i, double v) {
  switch (dtype) {
    case Dtype::f32: static_cast<float*>(base)[i] = static_cast<float>(v); break;
    case Dtype::f64: static_cast<double*>(base)[i] = v; break;
    case Dtype::bf16: static_cast<bf16*>(base)[i] = __float2bfloat16(static_cast<float>(v)); break;
    case Dtype::f16: static_cast<__half*>(base)[i] = __float2half(static_cast<float>(v)); break;
    case Dtype::i32: static_cast<int32_t*>(base)[i] = static_cast<int32_t>(v); break;
    case Dtype::i64: static_cast<int64_t*>(base)[i] = static_cast<int64_t>(v); break;
  }
}

__global__ void copy_convert_kernel(const void* src, Dtype sd, StridedIndex si, void* dst, Dtype dd,
                                    StridedIndex di, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    store_from_double(dst, dd, di(i), load_as_double(src, sd, si(i)));
  }
}

template <typename W>
void copy_bits(const Tensor& src, const Tensor& dst, int64_t n) {
  SSM_CUDA_LAUNCH("copy", copy_bits_kernel<W>, grid_for(n), kBlock, 0, storage_base<const W>(src),
                  strided_index(src, "copy"), storage_base<W>(dst), strided_index(dst, "copy"), n);
}

// ---- unary -----------------------------------------------------------------------------------------
template <typename T>
__global__ void unary_kernel(UnaryOp op, const T* x, StridedIndex xi, T* out, int64_t n, Acc<T> s) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    out[i] = Num<T>::store(unary_math::unary_value(op, Num<T>::load(x[xi(i)]), s));
  }
}

template <typename T>
__global__ void unary_backward_kernel(UnaryOp op, const T* x, const T* y, const T* dy, T* dx, int64_t n, Acc<T> s) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const Acc<T> d = unary_math::unary_derivative(op, Num<T>::load(x[i]), Num<T>::load(y[i]), s);
    dx[i] = Num<T>::store(Num<T>::load(dy[i]) * d);
  }
}

// ---- binary ----------------------------------------------------------------------------------------
template <typename A>
__device__ A apply_binary(BinaryOp op, A a, A b) {
  switch (op) {
    case BinaryOp::add: return a + b;
    case BinaryOp::sub: return a - b;
    case BinaryOp::mul: return a * b;
    case BinaryOp::div: return a / b;
  }
  return a;
}

template <typename T>
__global__ void binary_kernel(BinaryOp op, const T* a, StridedIndex ai, const T* b, StridedIndex bi, T* out,
                              int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    out[i] = Num<T>::store(apply_binary(op, Num<T>::load(a[ai(i)]), Num<T>::load(b[bi(i)])));
  }
}

void check_cuda_tensor(const char* op, const Tensor& t) {
  SSM_CHECK(t.device().is_cuda(), op, ": the CUDA backend got a tensor on ", t.device().str());
}

}  // namespace

void CudaBackend::copy(const Tensor& src, const Tensor& dst) {
  check_cuda_tensor("copy", src);
  check_cuda_tensor("copy", dst);
  SSM_CHECK(src.shape() == dst.shape(), "copy: shape mismatch ", src.str(), " -> ", dst.str());
  const int64_t n = src.numel();
  if (n == 0) return;
  if (src.dtype() == dst.dtype()) {
    if (src.is_contiguous() && dst.is_contiguous()) {
      SSM_CUDA_CHECK("copy", cudaMemcpyAsync(dst.raw_data(), src.raw_data(), src.nbytes(),
                                             cudaMemcpyDeviceToDevice, stream()));
      return;
    }
    switch (dtype_size(src.dtype())) {
      case 2: copy_bits<uint16_t>(src, dst, n); return;
      case 4: copy_bits<uint32_t>(src, dst, n); return;
      case 8: copy_bits<uint64_t>(src, dst, n); return;
      default: SSM_CHECK(false, "copy: unexpected element size ", dtype_size(src.dtype()));
    }
  }
  SSM_CUDA_LAUNCH("copy", copy_convert_kernel, grid_for(n), kBlock, 0, storage_base<const void>(src), src.dtype(),
                  strided_index(src, "copy"), storage_base<void>(dst), dst.dtype(), strided_index(dst, "copy"), n);
}

void CudaBackend::unary(UnaryOp op, const Tensor& x, const Tensor& out, double scalar) {
  const int64_t n = out.numel();
  if (n == 0) return;
  dispatch_floating<true>(x.dtype(), "unary", [&](auto tag) {
    using T = typename decltype(tag)::type;
    SSM_CUDA_LAUNCH("unary", unary_kernel<T>, grid_for(n), kBlock, 0, op, storage_base<const T>(x),
                    strided_index(x, "unary"), ptr<T>(out), n, static_cast<Acc<T>>(scalar));
  });
}

void CudaBackend::unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& dy, const Tensor& dx,
                                 double scalar) {
  const int64_t n = x.numel();
  if (n == 0) return;
  dispatch_floating<true>(x.dtype(), "unary_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    SSM_CUDA_LAUNCH("unary_backward", unary_backward_kernel<T>, grid_for(n), kBlock, 0, op, ptr<const T>(x),
                    ptr<const T>(y), ptr<const T>(dy), ptr<T>(dx), n, static_cast<Acc<T>>(scalar));
  });
}

void CudaBackend::binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  const int64_t n = out.numel();
  if (n == 0) return;
  dispatch_floating<true>(out.dtype(), "binary", [&](auto tag) {
    using T = typename decltype(tag)::type;
    SSM_CUDA_LAUNCH("binary", binary_kernel<T>, grid_for(n), kBlock, 0, op, storage_base<const T>(a),
                    strided_index(a, "binary"), storage_base<const T>(b), strided_index(b, "binary"), ptr<T>(out),
                    n);
  });
}

}  // namespace ssm::cuda
