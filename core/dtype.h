// core/dtype.h — element types and the devices tensors live on.
//
// f64 exists for gradient checks, f32 is the working type on CPU, bf16 and f16 are storage types
// (checkpoints, GPU mixed precision), i32/i64 hold token ids and indices.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace ssm {

enum class Dtype : uint8_t { f32, f64, bf16, f16, i32, i64 };

size_t dtype_size(Dtype dtype);
const char* dtype_name(Dtype dtype);   // "f32", "f64", ...
bool is_floating(Dtype dtype);

// Maps a C++ type to its Dtype: dtype_of<float>() == Dtype::f32.
template <typename T> constexpr Dtype dtype_of();
template <> constexpr Dtype dtype_of<float>() { return Dtype::f32; }
template <> constexpr Dtype dtype_of<double>() { return Dtype::f64; }
template <> constexpr Dtype dtype_of<int32_t>() { return Dtype::i32; }
template <> constexpr Dtype dtype_of<int64_t>() { return Dtype::i64; }

enum class DeviceType : uint8_t { cpu, cuda };

struct Device {
  DeviceType type = DeviceType::cpu;
  int index = 0;

  static Device cpu() { return {DeviceType::cpu, 0}; }
  static Device cuda(int index = 0) { return {DeviceType::cuda, index}; }
  bool is_cpu() const { return type == DeviceType::cpu; }
  bool is_cuda() const { return type == DeviceType::cuda; }
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
  std::string str() const;  // "cpu", "cuda:0"
};

}  // namespace ssm
