// core/tensor.cpp — Tensor factories, metadata, views and host copies.
#include "core/tensor.h"

#include <cstring>

#include "core/bf16.h"    // defines: bf16_to_float, float_to_bf16
#include "core/checked_size.h"  // defines: check_allocation, memory_limit_bytes
#include "core/f16.h"     // defines: f16_to_float, float_to_f16
#include "core/error.h"   // defines: SSM_CHECK, Error
#include "core/philox.h"  // defines: Philox

namespace ssm {

namespace {

// Shapes are built from sizes users chose (a config, a flag, a file): a product that wrapped
// around would allocate a small buffer for a huge tensor, so overflow is an error, never UB.
[[noreturn]] void throw_too_many_elements(const Shape& shape) {
  throw UserError(absl::StrCat("shape ", shape_str(shape), " has more elements than a 64-bit size holds"));
}

}  // namespace

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t s : shape) {
    if (__builtin_mul_overflow(n, s, &n)) throw_too_many_elements(shape);
  }
  return n;
}

std::string shape_str(const Shape& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) absl::StrAppend(&s, i ? ", " : "", shape[i]);
  return s + ")";
}

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t stride = 1;
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    strides[d] = stride;
    if (__builtin_mul_overflow(stride, shape[d], &stride)) throw_too_many_elements(shape);
  }
  return strides;
}

namespace {

std::shared_ptr<TensorImpl> make_impl(const Shape& shape, Dtype dtype, Device device) {
  for (int64_t s : shape) SSM_CHECK(s >= 0, "negative dimension in shape ", shape_str(shape));
  const int64_t numel = shape_numel(shape);
  const auto element = static_cast<int64_t>(dtype_size(dtype));
  // The last line of defence (callers check the sizes they derive from input, naming the key):
  // a tensor larger than host memory is refused before the allocator is asked. The message is
  // built only on failure; this runs for every tensor.
  int64_t bytes = 0;
  const bool overflow = __builtin_mul_overflow(numel, element, &bytes);
  if (overflow || (device.is_cpu() && bytes > memory_limit_bytes())) {
    check_allocation(static_cast<double>(numel) * static_cast<double>(element),
                     absl::StrCat("a ", dtype_name(dtype), " tensor of shape ", shape_str(shape)));
  }
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = allocate_storage(static_cast<size_t>(bytes), device);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return impl;
}

// Reads element `i` of a buffer of `dtype` as double (exact for every f32, bf16 and i32 value,
// and for i64 token ids below 2^53).
double load_as_double(const void* base, Dtype dtype, int64_t i) {
  switch (dtype) {
    case Dtype::f32: return static_cast<const float*>(base)[i];
    case Dtype::f64: return static_cast<const double*>(base)[i];
    case Dtype::bf16: return bf16_to_float(static_cast<const uint16_t*>(base)[i]);
    case Dtype::f16: return f16_to_float(static_cast<const uint16_t*>(base)[i]);
    case Dtype::i32: return static_cast<const int32_t*>(base)[i];
    case Dtype::i64: return static_cast<double>(static_cast<const int64_t*>(base)[i]);
  }
  return 0;
}

void store_from_double(void* base, Dtype dtype, int64_t i, double v) {
  switch (dtype) {
    case Dtype::f32: static_cast<float*>(base)[i] = static_cast<float>(v); break;
    case Dtype::f64: static_cast<double*>(base)[i] = v; break;
    case Dtype::bf16: static_cast<uint16_t*>(base)[i] = float_to_bf16(static_cast<float>(v)); break;
    case Dtype::f16: static_cast<uint16_t*>(base)[i] = float_to_f16(static_cast<float>(v)); break;
    case Dtype::i32: static_cast<int32_t*>(base)[i] = static_cast<int32_t>(v); break;
    case Dtype::i64: static_cast<int64_t*>(base)[i] = static_cast<int64_t>(v); break;
  }
}

// Calls fn(src_offset, dst_offset) for every element in row-major order of `shape`.
template <typename Fn>
void for_each_offset_pair(const Shape& shape, const Shape& s_strides, int64_t s_off,
                          const Shape& d_strides, int64_t d_off, Fn fn) {
  const int64_t n = shape_numel(shape);
  if (n == 0) return;
  const int64_t nd = static_cast<int64_t>(shape.size());
  std::vector<int64_t> idx(nd, 0);
  int64_t so = s_off, dof = d_off;
  for (int64_t k = 0; k < n; ++k) {
    fn(so, dof);
    for (int64_t d = nd - 1; d >= 0; --d) {  // odometer increment
      if (++idx[d] < shape[d]) {
        so += s_strides[d];
        dof += d_strides[d];
        break;
      }
      so -= s_strides[d] * (shape[d] - 1);
      dof -= d_strides[d] * (shape[d] - 1);
      idx[d] = 0;
    }
  }
}

}  // namespace

namespace {

// A strided walk with as few dims as possible: size-1 dims dropped, and neighbouring dims merged
// where both tensors step through them as through one (stride[d] == stride[d+1]·size[d+1]), so
// the inner loop of a copy is as long as the layouts allow (a contiguous slice of rows is one dim).
struct CopyWalk {
  std::vector<int64_t> shape, src, dst;  // innermost last
};

CopyWalk collapse_dims(const Shape& shape, const Shape& s_strides, const Shape& d_strides) {
  CopyWalk w;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (!w.shape.empty() && w.src.back() == s_strides[d] * shape[d] && w.dst.back() == d_strides[d] * shape[d]) {
      w.shape.back() *= shape[d];
      w.src.back() = s_strides[d];
      w.dst.back() = d_strides[d];
      continue;
    }
    w.shape.push_back(shape[d]);
    w.src.push_back(s_strides[d]);
    w.dst.push_back(d_strides[d]);
  }
  if (w.shape.empty()) w = {{1}, {1}, {1}};  // one element
  return w;
}

// Same-dtype copy: whole rows with memcpy when both inner strides are 1, else element by element
// as the unsigned integer of the element's size (bits are copied, never converted).
template <typename Bits>
void copy_bits(const CopyWalk& w, const Bits* s, Bits* d) {
  const int64_t nd = static_cast<int64_t>(w.shape.size()), inner = w.shape[nd - 1];
  const int64_t si = w.src[nd - 1], di = w.dst[nd - 1];
  int64_t outer = 1;
  for (int64_t k = 0; k + 1 < nd; ++k) outer *= w.shape[k];
  std::vector<int64_t> idx(static_cast<size_t>(nd), 0);
  int64_t so = 0, dof = 0;
  for (int64_t row = 0; row < outer; ++row) {
    if (si == 1 && di == 1) {
      std::memcpy(d + dof, s + so, static_cast<size_t>(inner) * sizeof(Bits));
    } else {
      for (int64_t j = 0; j < inner; ++j) d[dof + j * di] = s[so + j * si];
    }
    for (int64_t k = nd - 2; k >= 0; --k) {  // odometer over the outer dims
      if (++idx[k] < w.shape[k]) {
        so += w.src[k];
        dof += w.dst[k];
        break;
      }
      so -= w.src[k] * (w.shape[k] - 1);
      dof -= w.dst[k] * (w.shape[k] - 1);
      idx[k] = 0;
    }
  }
}

}  // namespace

void cpu_copy(const Tensor& src, const Tensor& dst) {
  SSM_CHECK(src.shape() == dst.shape(), "copy: shape mismatch ", shape_str(src.shape()), " vs ",
            shape_str(dst.shape()));
  SSM_CHECK(src.device().is_cpu() && dst.device().is_cpu(), "cpu_copy needs CPU tensors");
  const void* s = src.impl()->storage->data.get();
  void* d = dst.impl()->storage->data.get();
  if (src.numel() == 0) return;
  const Dtype sd = src.dtype(), dd = dst.dtype();
  if (sd == dd) {
    const size_t es = dtype_size(sd);
    const CopyWalk w = collapse_dims(src.shape(), src.strides(), dst.strides());
    const char* sb = static_cast<const char*>(s) + src.offset() * es;
    char* db = static_cast<char*>(d) + dst.offset() * es;
    switch (es) {
      case 2: copy_bits(w, reinterpret_cast<const uint16_t*>(sb), reinterpret_cast<uint16_t*>(db)); return;
      case 4: copy_bits(w, reinterpret_cast<const uint32_t*>(sb), reinterpret_cast<uint32_t*>(db)); return;
      case 8: copy_bits(w, reinterpret_cast<const uint64_t*>(sb), reinterpret_cast<uint64_t*>(db)); return;
      default: break;
    }
  }
  // A dtype conversion: through double, which holds every value of every dtype but i64 exactly
  // (i64 -> i64 took the branch above).
  for_each_offset_pair(src.shape(), src.strides(), src.offset(), dst.strides(), dst.offset(),
                       [&](int64_t so, int64_t dof) {
                         store_from_double(d, dd, dof, load_as_double(s, sd, so));
                       });
}

Tensor Tensor::empty(const Shape& shape, Dtype dtype, Device device) {
  return Tensor(make_impl(shape, dtype, device));
}

Tensor Tensor::zeros(const Shape& shape, Dtype dtype, Device device) {
  return full(shape, 0.0, dtype, device);
}

Tensor Tensor::full(const Shape& shape, double value, Dtype dtype, Device device) {
  Tensor host = empty(shape, dtype, Device::cpu());
  void* base = host.raw_data();
  const int64_t n = host.numel();
  if (value == 0.0) {
    std::memset(base, 0, host.nbytes());
  } else {
    for (int64_t i = 0; i < n; ++i) store_from_double(base, dtype, i, value);
  }
  return device.is_cpu() ? host : host.to(device);
}

Tensor Tensor::scalar(double value, Dtype dtype, Device device) { return full({}, value, dtype, device); }

template <typename T>
Tensor Tensor::from_vector(const std::vector<T>& values, const Shape& shape, Device device) {
  SSM_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape), "from_vector: ",
            values.size(), " values do not fill shape ", shape_str(shape));
  Tensor host = empty(shape, dtype_of<T>(), Device::cpu());
  if (!values.empty()) std::memcpy(host.raw_data(), values.data(), values.size() * sizeof(T));
  return device.is_cpu() ? host : host.to(device);
}
template Tensor Tensor::from_vector(const std::vector<float>&, const Shape&, Device);
template Tensor Tensor::from_vector(const std::vector<double>&, const Shape&, Device);
template Tensor Tensor::from_vector(const std::vector<int32_t>&, const Shape&, Device);
template Tensor Tensor::from_vector(const std::vector<int64_t>&, const Shape&, Device);

Tensor Tensor::randn(const Shape& shape, uint64_t seed, Dtype dtype, Device device, double stddev) {
  Tensor host = empty(shape, dtype, Device::cpu());
  const int64_t n = host.numel();
  for (int64_t i = 0; i < n; ++i) {
    store_from_double(host.raw_data(), dtype, i, stddev * Philox::normal(seed, i));
  }
  return device.is_cpu() ? host : host.to(device);
}

Tensor Tensor::uniform(const Shape& shape, uint64_t seed, double low, double high, Dtype dtype,
                       Device device) {
  Tensor host = empty(shape, dtype, Device::cpu());
  const int64_t n = host.numel();
  for (int64_t i = 0; i < n; ++i) {
    store_from_double(host.raw_data(), dtype, i, low + (high - low) * Philox::uniform(seed, i));
  }
  return device.is_cpu() ? host : host.to(device);
}

int64_t Tensor::size(int64_t d) const {
  const int64_t nd = dim();
  const int64_t i = d < 0 ? d + nd : d;
  SSM_CHECK(i >= 0 && i < nd, "size(", d, ") out of range for shape ", shape_str(shape()));
  return impl_->shape[i];
}

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (int64_t d = dim() - 1; d >= 0; --d) {
    if (impl_->shape[d] == 1) continue;  // the stride of a size-1 dim never matters
    if (impl_->strides[d] != expected) return false;
    expected *= impl_->shape[d];
  }
  return true;
}

std::string Tensor::str() const {
  if (!defined()) return "undefined";
  return absl::StrCat(dtype_name(dtype()), shape_str(shape()), " ", device().str());
}

void* Tensor::raw_data() const {
  return static_cast<char*>(impl_->storage->data.get()) + impl_->offset * dtype_size(dtype());
}

template <typename T>
T* Tensor::data() const {
  SSM_CHECK(dtype() == dtype_of<T>(), "data<", dtype_name(dtype_of<T>()), ">() on a ",
            dtype_name(dtype()), " tensor");
  return static_cast<T*>(raw_data());
}
template float* Tensor::data<float>() const;
template double* Tensor::data<double>() const;
template int32_t* Tensor::data<int32_t>() const;
template int64_t* Tensor::data<int64_t>() const;

template <typename T>
std::vector<T> Tensor::to_vector() const {
  Tensor host = device().is_cpu() ? *this : to(Device::cpu());
  Tensor converted = Tensor::empty(shape(), dtype_of<T>(), Device::cpu());
  cpu_copy(host, converted);
  const T* p = converted.data<T>();
  return std::vector<T>(p, p + converted.numel());
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<int32_t> Tensor::to_vector<int32_t>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;

double Tensor::item() const {
  SSM_CHECK(numel() == 1, "item() needs one element, tensor is ", str());
  return to_vector<double>()[0];
}

Tensor Tensor::as_strided(const Shape& shape, const Shape& strides, int64_t offset) const {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = impl_->storage;
  impl->offset = offset;
  impl->shape = shape;
  impl->strides = strides;
  impl->dtype = impl_->dtype;
  return Tensor(impl);
}

Tensor Tensor::detach() const { return as_strided(shape(), strides(), offset()); }

Tensor Tensor::clone_contiguous() const {
  Tensor out = empty(shape(), dtype(), device());
  out.copy_from(*this);
  return out;
}

Tensor Tensor::to(Device target) const {
  if (target == device()) return *this;
  Tensor out = empty(shape(), dtype(), target);
  out.copy_from(*this);
  return out;
}

Tensor Tensor::to(Dtype target) const {
  if (target == dtype()) return *this;
  SSM_CHECK(device().is_cpu(), "Tensor::to(dtype) is host-only; use ops::cast on ", device().str());
  Tensor out = empty(shape(), target, device());
  cpu_copy(*this, out);
  return out;
}

void Tensor::copy_from(const Tensor& src) {
  if (device().is_cpu() && src.device().is_cpu()) {
    cpu_copy(src, *this);
    return;
  }
  SSM_CHECK(src.shape() == shape(), "copy: shape mismatch ", src.str(), " -> ", str());
  const Device dev = device().is_cpu() ? src.device() : device();
  const DeviceAllocator* alloc = device_allocator(dev.type);
  SSM_CHECK(alloc != nullptr, "no allocator registered for ", dev.str());
  // Within one device: the device's own strided, converting copy.
  if (src.device() == device()) {
    SSM_CHECK(alloc->copy_tensor != nullptr, "no tensor copy registered for ", dev.str());
    alloc->copy_tensor(src, *this);
    return;
  }
  // Across host and device, bytes move contiguously and in the destination's dtype: anything else
  // is first converted on the source's side, or lands in a contiguous buffer on the destination's.
  if (src.dtype() != dtype() || !src.is_contiguous()) {
    Tensor staged = empty(shape(), dtype(), src.device());
    staged.copy_from(src);
    copy_from(staged);
    return;
  }
  if (!is_contiguous()) {
    Tensor staged = empty(shape(), dtype(), device());
    staged.copy_from(src);
    copy_from(staged);
    return;
  }
  const int kind = src.device().is_cpu() ? 0 : 1;
  alloc->copy(raw_data(), src.raw_data(), nbytes(), kind);
}

Tensor& Tensor::set_requires_grad(bool value) {
  SSM_CHECK(!value || is_floating(dtype()), "only floating tensors can require grad, got ", str());
  impl_->requires_grad = value;
  return *this;
}

}  // namespace ssm
