// ops/shape_ops.cpp — reshape, transpose, permute, slice, concat, split; contiguous, cast and
// device moves. Views share storage; their backward routes the gradient to the right place.
#include <numeric>

#include "autograd/function.h"  // defines: record
#include "ops/op_util.h"
#include "ops/ops.h"

namespace ssm::ops {

int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
  const int64_t d = dim < 0 ? dim + ndim : dim;
  SSM_USER_CHECK(d >= 0 && d < ndim, op, ": dim ", dim, " out of range for a ", ndim, "-d tensor");
  return d;
}

namespace {

// A contiguous copy, no autograd (used inside ops that record their own node).
Tensor copy_contiguous(const Tensor& x) {
  Tensor out = empty_like(x);
  backend_of(x).copy(x, out);
  return out;
}

}  // namespace

Tensor contiguous(const Tensor& x) {
  if (x.is_contiguous()) return x;
  Tensor out = copy_contiguous(x);
  autograd::record("contiguous", {x}, {out}, [](const autograd::Grads& g, const autograd::Needs&) {
    return autograd::Grads{g[0]};
  });
  return out;
}

Tensor cast(const Tensor& x, Dtype dtype) {
  if (x.dtype() == dtype) return x;
  Tensor out = Tensor::empty(x.shape(), dtype, x.device());
  backend_of(x).copy(x, out);
  autograd::record("cast", {x}, {out}, [from = x.dtype()](const autograd::Grads& g, const autograd::Needs&) {
    return autograd::Grads{cast(g[0], from)};
  });
  return out;
}

Tensor to_device(const Tensor& x, Device device) {
  if (x.device() == device) return x;
  Tensor src = x.is_contiguous() ? x : copy_contiguous(x);
  Tensor out = src.to(device);
  autograd::record("to_device", {x}, {out}, [from = x.device()](const autograd::Grads& g, const autograd::Needs&) {
    return autograd::Grads{to_device(g[0], from)};
  });
  return out;
}

Tensor reshape(const Tensor& x, const Shape& requested) {
  Shape shape = requested;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      SSM_USER_CHECK(infer < 0, "reshape: more than one -1 in ", shape_str(requested));
      infer = static_cast<int64_t>(i);
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    SSM_USER_CHECK(known > 0 && x.numel() % known == 0, "reshape: cannot view ", x.str(), " as ",
                   shape_str(requested));
    shape[infer] = x.numel() / known;
  }
  SSM_USER_CHECK(shape_numel(shape) == x.numel(), "reshape: ", x.str(), " has ", x.numel(),
                 " elements, shape ", shape_str(requested), " has ", shape_numel(shape));
  Tensor base = x.is_contiguous() ? x.detach() : copy_contiguous(x);
  Tensor out = base.as_strided(shape, contiguous_strides(shape), base.offset());
  autograd::record("reshape", {x}, {out}, [from = x.shape()](const autograd::Grads& g, const autograd::Needs&) {
    return autograd::Grads{reshape(g[0], from)};
  });
  return out;
}

Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) {
  const int64_t nd = x.dim();
  SSM_USER_CHECK(static_cast<int64_t>(dims.size()) == nd, "permute: ", dims.size(), " dims for ", x.str());
  Shape shape(nd), strides(nd);
  std::vector<int64_t> inverse(nd, -1);
  for (int64_t i = 0; i < nd; ++i) {
    const int64_t d = wrap_dim(dims[i], nd, "permute");
    SSM_USER_CHECK(inverse[d] < 0, "permute: dim ", d, " repeated");
    inverse[d] = i;
    shape[i] = x.shape()[d];
    strides[i] = x.strides()[d];
  }
  Tensor out = x.as_strided(shape, strides, x.offset());
  autograd::record("permute", {x}, {out}, [inverse](const autograd::Grads& g, const autograd::Needs&) {
    return autograd::Grads{permute(g[0], inverse)};
  });
  return out;
}

Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1) {
  std::vector<int64_t> dims(x.dim());
  std::iota(dims.begin(), dims.end(), 0);
  std::swap(dims[wrap_dim(dim0, x.dim(), "transpose")], dims[wrap_dim(dim1, x.dim(), "transpose")]);
  return permute(x, dims);
}

Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end) {
  const int64_t d = wrap_dim(dim, x.dim(), "slice");
  const int64_t n = x.shape()[d];
  SSM_USER_CHECK(0 <= start && start <= end && end <= n, "slice: [", start, ", ", end, ") out of range for dim ",
                 d, " of ", x.str());
  Shape shape = x.shape();
  shape[d] = end - start;
  Tensor out = x.as_strided(shape, x.strides(), x.offset() + start * x.strides()[d]);
  autograd::record("slice", {x}, {out}, [from = x.shape(), d, start](const autograd::Grads& g,
                                                                       const autograd::Needs&) {
    Tensor dx = Tensor::zeros(from, g[0].dtype(), g[0].device());
    Tensor window = dx.as_strided(g[0].shape(), dx.strides(), start * dx.strides()[d]);
    backend_of(dx).copy(g[0], window);
    return autograd::Grads{dx};
  });
  return out;
}

Tensor unsqueeze(const Tensor& x, int64_t dim) {
  const int64_t d = wrap_dim(dim, x.dim() + 1, "unsqueeze");
  Shape shape = x.shape();
  shape.insert(shape.begin() + d, 1);
  return reshape(x, shape);
}

Tensor squeeze(const Tensor& x, int64_t dim) {
  const int64_t d = wrap_dim(dim, x.dim(), "squeeze");
  SSM_USER_CHECK(x.shape()[d] == 1, "squeeze: dim ", d, " of ", x.str(), " is not 1");
  Shape shape = x.shape();
  shape.erase(shape.begin() + d);
  return reshape(x, shape);
}

Tensor concat(const std::vector<Tensor>& xs, int64_t dim) {
  SSM_USER_CHECK(!xs.empty(), "concat: no tensors");
  const int64_t d = wrap_dim(dim, xs[0].dim(), "concat");
  Shape shape = xs[0].shape();
  shape[d] = 0;
  for (const Tensor& x : xs) {
    check_compatible("concat", xs[0], x);
    Shape s = x.shape();
    SSM_USER_CHECK(x.dim() == xs[0].dim(), "concat: rank mismatch ", xs[0].str(), " vs ", x.str());
    s[d] = 0;
    Shape ref = xs[0].shape();
    ref[d] = 0;
    SSM_USER_CHECK(s == ref, "concat: shapes ", xs[0].str(), " and ", x.str(), " differ outside dim ", d);
    shape[d] += x.shape()[d];
  }
  Tensor out = empty_like(xs[0], shape);
  std::vector<int64_t> sizes;
  int64_t at = 0;
  for (const Tensor& x : xs) {
    Tensor window = out.as_strided(x.shape(), out.strides(), at * out.strides()[d]);
    backend_of(out).copy(x, window);
    sizes.push_back(x.shape()[d]);
    at += x.shape()[d];
  }
  autograd::record("concat", xs, {out}, [sizes, d](const autograd::Grads& g, const autograd::Needs& need) {
    autograd::Grads grads;
    int64_t start = 0;
    for (size_t i = 0; i < sizes.size(); ++i) {
      grads.push_back(need[i] ? contiguous(slice(g[0], d, start, start + sizes[i])) : Tensor());
      start += sizes[i];
    }
    return grads;
  });
  return out;
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim) {
  const int64_t d = wrap_dim(dim, x.dim(), "split");
  int64_t total = 0;
  for (int64_t s : sizes) total += s;
  SSM_USER_CHECK(total == x.shape()[d], "split: sizes sum to ", total, " but dim ", d, " of ", x.str(),
                 " is ", x.shape()[d]);
  std::vector<Tensor> parts;
  int64_t start = 0;
  for (int64_t s : sizes) {
    parts.push_back(slice(x, d, start, start + s));
    start += s;
  }
  return parts;
}

}  // namespace ssm::ops
