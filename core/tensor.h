// core/tensor.h — the n-dimensional array every other part of ssmlab is written against.
//
// A Tensor is a cheap handle (a shared_ptr) to a TensorImpl: storage + offset + shape + strides
// + dtype, plus the autograd fields (requires_grad, the accumulated grad, and grad_fn, the node
// that produced it). Views (transpose, slice, reshape of a contiguous tensor) share storage.
// Shapes are written innermost-last: a (B, T, D) tensor has D contiguous.
//
// This file knows nothing about ops or autograd logic; arithmetic lives in ops/, the backward
// engine in autograd/. Element access here (data<T>(), item, to_vector) is for CPU tensors.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"    // defines: Dtype, Device
#include "core/storage.h"  // defines: Storage

namespace ssm {

namespace autograd { struct Node; }

using Shape = std::vector<int64_t>;

int64_t shape_numel(const Shape& shape);
std::string shape_str(const Shape& shape);          // "(2, 3, 4)"
Shape contiguous_strides(const Shape& shape);        // row-major, innermost stride 1

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // in elements
  Shape shape;
  Shape strides;       // in elements
  Dtype dtype = Dtype::f32;

  // Autograd: leaves have grad_fn == nullptr; requires_grad leaves accumulate into `grad`.
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;
  std::shared_ptr<autograd::Node> grad_fn;
  int output_nr = 0;  // which output of grad_fn this tensor is
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- factories (contents on `device`) ----
  static Tensor empty(const Shape& shape, Dtype dtype = Dtype::f32, Device device = Device::cpu());
  static Tensor zeros(const Shape& shape, Dtype dtype = Dtype::f32, Device device = Device::cpu());
  static Tensor full(const Shape& shape, double value, Dtype dtype = Dtype::f32,
                     Device device = Device::cpu());
  static Tensor scalar(double value, Dtype dtype = Dtype::f32, Device device = Device::cpu());
  // Copies host values in; T must match dtype's C++ type (float, double, int32_t, int64_t).
  template <typename T>
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape,
                            Device device = Device::cpu());
  // Philox draws, identical on every device for the same (seed, offset).
  static Tensor randn(const Shape& shape, uint64_t seed, Dtype dtype = Dtype::f32,
                      Device device = Device::cpu(), double stddev = 1.0);
  static Tensor uniform(const Shape& shape, uint64_t seed, double low, double high,
                        Dtype dtype = Dtype::f32, Device device = Device::cpu());

  // ---- metadata ----
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl_->shape; }
  const Shape& strides() const { return impl_->strides; }
  int64_t dim() const { return static_cast<int64_t>(impl_->shape.size()); }
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t numel() const { return shape_numel(impl_->shape); }
  Dtype dtype() const { return impl_->dtype; }
  Device device() const { return impl_->storage->device; }
  int64_t offset() const { return impl_->offset; }
  bool is_contiguous() const;
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype()); }
  std::string str() const;  // "f32(2, 3) cpu"

  // ---- raw data (first element of this view) ----
  void* raw_data() const;
  template <typename T> T* data() const;  // checks dtype

  // ---- CPU element access (copies from device when needed) ----
  template <typename T> std::vector<T> to_vector() const;  // in logical (row-major) order
  double item() const;                                     // single-element tensors

  // ---- views and copies without autograd (ops/ has the autograd-aware versions) ----
  Tensor as_strided(const Shape& shape, const Shape& strides, int64_t offset) const;
  Tensor detach() const;            // same storage, no grad_fn, requires_grad = false
  Tensor to(Device device) const;   // plain copy to another device (contiguous result)
  Tensor to(Dtype dtype) const;     // plain CPU conversion (contiguous result)
  Tensor clone_contiguous() const;  // deep copy, contiguous, same device and dtype
  void copy_from(const Tensor& src);  // same shape; converts dtype; any device pair

  // ---- autograd fields ----
  bool requires_grad() const { return impl_->requires_grad; }
  Tensor& set_requires_grad(bool value);
  Tensor grad() const { return Tensor(impl_->grad); }
  void set_grad(const Tensor& g) { impl_->grad = g.impl_; }
  void zero_grad() { impl_->grad.reset(); }
  const std::shared_ptr<autograd::Node>& grad_fn() const { return impl_->grad_fn; }
  bool is_leaf() const { return impl_->grad_fn == nullptr; }

  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool same(const Tensor& other) const { return impl_ == other.impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// Host-side strided copy with dtype conversion, used by Tensor::copy_from on CPU and by the
// CPU backend. Shapes must match.
void cpu_copy(const Tensor& src, const Tensor& dst);

}  // namespace ssm
