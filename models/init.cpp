// models/init.cpp — the parameter factory: Philox streams, the usual initialisers, and the
// orthogonal init (QR of a Gaussian matrix through OpenBLAS's LAPACK, as torch does it).
#include "models/init.h"

#include <cmath>

#include "core/error.h"   // defines: SSM_CHECK
#include "core/philox.h"  // defines: Rng

// LAPACK (shipped inside OpenBLAS): Householder QR and the explicit Q, column-major.
extern "C" {
void dgeqrf_(const int* m, const int* n, double* a, const int* lda, double* tau, double* work, const int* lwork,
             int* info);
void dorgqr_(const int* m, const int* n, const int* k, double* a, const int* lda, const double* tau, double* work,
             const int* lwork, int* info);
}

namespace ssm {

int64_t round_up(int64_t n, int64_t multiple) { return (n + multiple - 1) / multiple * multiple; }

double mamba_dt_bias(double u) {
  const double dt = std::max(std::exp(std::log(1e-3) + u * (std::log(0.1) - std::log(1e-3))), 1e-4);
  return dt + std::log(-std::expm1(-dt));  // softplus⁻¹
}

uint64_t ParameterFactory::stream(int64_t layer, int64_t slot) const {
  return Rng::derive(seed_, static_cast<uint64_t>(layer + 1) * 64 + static_cast<uint64_t>(slot));
}

Tensor ParameterFactory::leaf(Tensor t) const {
  t.set_requires_grad(true);
  return t;
}

Tensor ParameterFactory::constant(const Shape& shape, double value) const {
  return leaf(initialize_ ? Tensor::full(shape, value, dtype_) : Tensor::empty(shape, dtype_));
}

Tensor ParameterFactory::uniform(const Shape& shape, double low, double high, int64_t layer, int64_t slot) const {
  if (!initialize_) return leaf(Tensor::empty(shape, dtype_));
  return leaf(Tensor::uniform(shape, stream(layer, slot), low, high, dtype_));
}

Tensor ParameterFactory::normal(const Shape& shape, double stddev, int64_t layer, int64_t slot) const {
  if (!initialize_) return leaf(Tensor::empty(shape, dtype_));
  return leaf(Tensor::randn(shape, stream(layer, slot), dtype_, Device::cpu(), stddev));
}

Tensor ParameterFactory::torch_default(const Shape& shape, int64_t fan_in, int64_t layer, int64_t slot) const {
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  return uniform(shape, -bound, bound, layer, slot);
}

Tensor ParameterFactory::values(const Shape& shape, const std::vector<double>& data) const {
  SSM_CHECK(static_cast<int64_t>(data.size()) == shape_numel(shape), "ParameterFactory::values: ", data.size(),
            " values for shape ", shape_str(shape));
  if (!initialize_) return leaf(Tensor::empty(shape, dtype_));
  return leaf(Tensor::from_vector(data, shape).to(dtype_));
}

Tensor ParameterFactory::orthogonal(int64_t rows, int64_t cols, double gain, int64_t layer, int64_t slot) const {
  if (!initialize_ || gain == 0.0) return constant({rows, cols}, 0.0);
  // QR needs a tall matrix: factor the transpose of a wide one and transpose Q back.
  const bool wide = rows < cols;
  const int m = static_cast<int>(wide ? cols : rows), n = static_cast<int>(wide ? rows : cols);
  const std::vector<double> gauss = Tensor::randn({m, n}, stream(layer, slot), Dtype::f64).to_vector<double>();
  std::vector<double> a(static_cast<size_t>(m) * n);  // column-major m×n
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) a[i + static_cast<size_t>(j) * m] = gauss[static_cast<size_t>(i) * n + j];
  }
  std::vector<double> tau(n);
  int info = 0, lwork = -1;
  double query = 0;
  dgeqrf_(&m, &n, a.data(), &m, tau.data(), &query, &lwork, &info);
  lwork = static_cast<int>(query);
  std::vector<double> work(std::max(lwork, 1));
  dgeqrf_(&m, &n, a.data(), &m, tau.data(), work.data(), &lwork, &info);
  SSM_CHECK(info == 0, "orthogonal init: dgeqrf failed (info ", info, ")");
  // Make the factorisation unique, as torch does: Q·sign(diag R).
  std::vector<double> sign(n);
  for (int j = 0; j < n; ++j) sign[j] = a[j + static_cast<size_t>(j) * m] < 0 ? -1.0 : 1.0;
  lwork = -1;
  dorgqr_(&m, &n, &n, a.data(), &m, tau.data(), &query, &lwork, &info);
  lwork = static_cast<int>(query);
  work.assign(std::max(lwork, 1), 0.0);
  dorgqr_(&m, &n, &n, a.data(), &m, tau.data(), work.data(), &lwork, &info);
  SSM_CHECK(info == 0, "orthogonal init: dorgqr failed (info ", info, ")");
  std::vector<double> out(static_cast<size_t>(rows) * cols);
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      const double q = gain * sign[j] * a[i + static_cast<size_t>(j) * m];
      if (wide) {
        out[static_cast<size_t>(j) * cols + i] = q;  // Qᵀ
      } else {
        out[static_cast<size_t>(i) * cols + j] = q;
      }
    }
  }
  return values({rows, cols}, out);
}

}  // namespace ssm
