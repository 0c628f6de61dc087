// ops/op_util.h — small helpers shared by the op layer: argument checks and broadcast views.
#pragma once

#include <string>
#include <vector>

#include "core/error.h"   // defines: SSM_USER_CHECK
#include "core/tensor.h"  // defines: Tensor
#include "ops/backend.h"  // defines: backend_for

namespace ssm::ops {

// Throws naming `op` unless x is a defined floating tensor.
void check_floating(const char* op, const Tensor& x, const char* arg = "input");
// Throws naming `op` unless a and b share dtype and device.
void check_compatible(const char* op, const Tensor& a, const Tensor& b);
// Throws naming `op` unless x has the expected shape.
void check_shape(const char* op, const char* arg, const Tensor& x, const Shape& expected);

// A stride-0 view of x repeated to `shape` (x's shape must broadcast to it).
Tensor broadcast_view(const Tensor& x, const Shape& shape);

inline Backend& backend_of(const Tensor& t) { return backend_for(t.device()); }

// A new uninitialised tensor with ref's dtype and device.
inline Tensor empty_like(const Tensor& ref, const Shape& shape) {
  return Tensor::empty(shape, ref.dtype(), ref.device());
}
inline Tensor empty_like(const Tensor& ref) { return empty_like(ref, ref.shape()); }

}  // namespace ssm::ops
