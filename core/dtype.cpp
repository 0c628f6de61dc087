// core/dtype.cpp — names and sizes of dtypes and devices.
#include "core/dtype.h"

#include "core/error.h"

namespace ssm {

size_t dtype_size(Dtype dtype) {
  switch (dtype) {
    case Dtype::f32: return 4;
    case Dtype::f64: return 8;
    case Dtype::bf16: return 2;
    case Dtype::f16: return 2;
    case Dtype::i32: return 4;
    case Dtype::i64: return 8;
  }
  throw Error("dtype_size: unknown dtype");
}

const char* dtype_name(Dtype dtype) {
  switch (dtype) {
    case Dtype::f32: return "f32";
    case Dtype::f64: return "f64";
    case Dtype::bf16: return "bf16";
    case Dtype::f16: return "f16";
    case Dtype::i32: return "i32";
    case Dtype::i64: return "i64";
  }
  return "?";
}

bool is_floating(Dtype dtype) {
  return dtype == Dtype::f32 || dtype == Dtype::f64 || dtype == Dtype::bf16 || dtype == Dtype::f16;
}

std::string Device::str() const {
  return type == DeviceType::cpu ? "cpu" : absl::StrCat("cuda:", index);
}

}  // namespace ssm
