// tests/support/scan_inputs.h — random inputs for the three scans (Mamba-2 SSD, Mamba-1 selective
// scan, gated linear attention) in the ranges the models feed them, shared by the op tests
// (tests/ops/), the CUDA tests and the mitigation tests; and the gradients of a fixed random loss of
// a scan's outputs, which the op tests compare between algorithms.
//
// Each tensor is its own f64 draw (seed, seed + 1, ... in the order of the struct's fields), then
// converted to the dtype asked for: the f32 and f64 inputs of one seed hold the same values up to
// rounding, and one field's draw never depends on another's. Every tensor is a leaf that requires
// grad, so gradient checks see every input, decays and initial state included.
#pragma once

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"  // defines: absl::StrCat
#include "autograd/engine.h"       // defines: backward
#include "autograd/grad_mode.h"    // defines: NoGradGuard
#include "core/tensor.h"           // defines: Tensor, Shape, Dtype, Device
#include "ops/backend.h"           // defines: SsdShape, SelectiveScanShape, GlaShape
#include "ops/ops.h"               // defines: softplus, exp, add_scalar
#include "ops/scan/gla.h"          // defines: GlaReadout

namespace ssm::testing {

// `t` (an f64 draw) in `dtype` on `device`, as a leaf that requires grad; undefined stays undefined.
inline Tensor scan_leaf(const Tensor& t, Dtype dtype, Device device = Device::cpu()) {
  if (!t.defined()) return t;
  autograd::NoGradGuard no_grad;
  Tensor out = t.detach().to(dtype);
  if (!device.is_cpu()) out = out.to(device);
  out.set_requires_grad(true);
  return out;
}

// The decay inputs, in the ranges the models produce: Δ = softplus(N(0, 1))·0.5 in (0, ~1.5) and
// A = -exp(N(0, 0.5²)) in about (-4.5, -0.2), so a step's decay exp(Δ·A) lies in about
// (1e-3, 0.998): every step forgets some, none forgets all.
inline Tensor random_dt(const Shape& shape, uint64_t seed) {
  autograd::NoGradGuard no_grad;
  return ops::softplus(Tensor::randn(shape, seed, Dtype::f64)) * 0.5;
}
inline Tensor random_negative_A(const Shape& shape, uint64_t seed) {
  autograd::NoGradGuard no_grad;
  return -ops::exp(Tensor::randn(shape, seed, Dtype::f64, Device::cpu(), 0.5));
}

// The problem sizes are the backends' own (ops/backend.h): SsdShape {batch, seqlen, heads, headdim,
// groups, dstate}, SelectiveScanShape {batch, seqlen, channels, dstate}, GlaShape {batch, seqlen,
// heads, dk, dv}.

// "B2 T37 H4 P3 N5 G2", for test names.
inline std::string describe(const SsdShape& s) {
  return absl::StrCat("B", s.batch, " T", s.seqlen, " H", s.heads, " P", s.headdim, " N", s.dstate, " G", s.groups);
}

// Mamba-2 SSD (ops/scan/ssd.h): B batch, T tokens, H heads of P channels, G groups of heads sharing
// B and C, N state size.
struct SsdInputs {
  Tensor x, dt, A, B, C, h0;  // (B,T,H,P), (B,T,H), (H), (B,T,G,N), (B,T,G,N), (B,H,P,N)
  std::vector<Tensor> all() const { return {x, dt, A, B, C, h0}; }
};
// x, B, C ~ N(0, 1); h0 ~ N(0, 0.5²); Δ and A as random_dt and random_negative_A.
inline SsdInputs make_ssd_inputs(const SsdShape& s, uint64_t seed, Dtype dtype = Dtype::f64,
                                 Device device = Device::cpu()) {
  const int64_t Bsz = s.batch, T = s.seqlen, H = s.heads, P = s.headdim, G = s.groups, N = s.dstate;
  auto leaf = [&](const Tensor& t) { return scan_leaf(t, dtype, device); };
  return {leaf(Tensor::randn({Bsz, T, H, P}, seed, Dtype::f64)),
          leaf(random_dt({Bsz, T, H}, seed + 1)),
          leaf(random_negative_A({H}, seed + 2)),
          leaf(Tensor::randn({Bsz, T, G, N}, seed + 3, Dtype::f64)),
          leaf(Tensor::randn({Bsz, T, G, N}, seed + 4, Dtype::f64)),
          leaf(Tensor::randn({Bsz, H, P, N}, seed + 5, Dtype::f64, Device::cpu(), 0.5))};
}

// Mamba-1 selective scan (ops/scan/selective_scan.h): B batch, T tokens, E channels, N state size.
struct SelectiveScanInputs {
  Tensor x, dt, A, B, C, h0;  // (B,T,E), (B,T,E), (E,N), (B,T,N), (B,T,N), (B,E,N)
  std::vector<Tensor> all() const { return {x, dt, A, B, C, h0}; }
  // The same values in `dtype`, as fresh leaves: a reference that reads exactly the rounded inputs.
  SelectiveScanInputs to(Dtype dtype) const {
    return {scan_leaf(x, dtype), scan_leaf(dt, dtype), scan_leaf(A, dtype),
            scan_leaf(B, dtype), scan_leaf(C, dtype), scan_leaf(h0, dtype)};
  }
};
// A random (-exp(N(0, 0.5²)) per channel and state) or Mamba-1's S4D init -[1..N] on every channel.
enum class AInit { random, s4d };
// x, B, C ~ N(0, 1); h0 ~ N(0, 0.5²); Δ as random_dt.
inline SelectiveScanInputs make_selective_scan_inputs(const SelectiveScanShape& s, uint64_t seed,
                                                      Dtype dtype = Dtype::f64, AInit a_init = AInit::random,
                                                      Device device = Device::cpu()) {
  const int64_t Bsz = s.batch, T = s.seqlen, E = s.channels, N = s.dstate;
  auto leaf = [&](const Tensor& t) { return scan_leaf(t, dtype, device); };
  Tensor A = random_negative_A({E, N}, seed + 2);
  if (a_init == AInit::s4d) {
    std::vector<double> a(E * N);
    for (int64_t i = 0; i < E * N; ++i) a[i] = -static_cast<double>(i % N + 1);
    A = Tensor::from_vector<double>(a, {E, N});
  }
  return {leaf(Tensor::randn({Bsz, T, E}, seed, Dtype::f64)),
          leaf(random_dt({Bsz, T, E}, seed + 1)),
          leaf(A),
          leaf(Tensor::randn({Bsz, T, N}, seed + 3, Dtype::f64)),
          leaf(Tensor::randn({Bsz, T, N}, seed + 4, Dtype::f64)),
          leaf(Tensor::randn({Bsz, E, N}, seed + 5, Dtype::f64, Device::cpu(), 0.5))};
}

// Gated linear attention (ops/scan/gla.h): B batch, T tokens, H heads, K key and V value channels.
struct GlaInputs {
  Tensor q, k, v, g, u, h0;  // (B,T,H,K) x2, (B,T,H,V), (B,T,H,K), (H,K) or undefined, (B,H,K,V)
  std::vector<Tensor> all() const { return {q, k, v, g, u, h0}; }
  GlaInputs to(Dtype dtype) const {  // as SelectiveScanInputs::to
    return {scan_leaf(q, dtype), scan_leaf(k, dtype), scan_leaf(v, dtype),
            scan_leaf(g, dtype), scan_leaf(u, dtype), scan_leaf(h0, dtype)};
  }
};
// The default log-decay shift: RWKV-6 style g = -exp(N(0, 0.5²) - 1), about -0.37 typical, from -0.1
// to -1.5. A larger shift gives stronger decays, a smaller one longer memory.
constexpr double kGlaLogDecayShift = -1.0;
// q, k, v ~ N(0, 1); g = -exp(N(0, 0.5²) + log_decay_shift); the bonus u ~ N(0, 0.5²) only for the
// pre_update_bonus readout (ops::gla requires it undefined for post_update); h0 ~ N(0, 0.5²).
inline GlaInputs make_gla_inputs(const GlaShape& s, uint64_t seed, ops::GlaReadout readout, Dtype dtype = Dtype::f64,
                                 double log_decay_shift = kGlaLogDecayShift, Device device = Device::cpu()) {
  const int64_t Bsz = s.batch, T = s.seqlen, H = s.heads, K = s.dk, V = s.dv;
  auto leaf = [&](const Tensor& t) { return scan_leaf(t, dtype, device); };
  autograd::NoGradGuard no_grad;
  const Tensor g = -ops::exp(ops::add_scalar(Tensor::randn({Bsz, T, H, K}, seed + 3, Dtype::f64, Device::cpu(), 0.5),
                                             log_decay_shift));
  const Tensor u = readout == ops::GlaReadout::pre_update_bonus
                       ? Tensor::randn({H, K}, seed + 4, Dtype::f64, Device::cpu(), 0.5)
                       : Tensor();
  return {leaf(Tensor::randn({Bsz, T, H, K}, seed, Dtype::f64)),
          leaf(Tensor::randn({Bsz, T, H, K}, seed + 1, Dtype::f64)),
          leaf(Tensor::randn({Bsz, T, H, V}, seed + 2, Dtype::f64)),
          leaf(g),
          leaf(u),
          leaf(Tensor::randn({Bsz, H, K, V}, seed + 5, Dtype::f64, Device::cpu(), 0.5))};
}

// The gradients of L = Σ_k <outputs[k], W_k> with respect to each of `inputs` (undefined where the
// input is): W_k are fixed draws (seeds 99, 98, ...) made in f64 and rounded to the output's dtype,
// so f32 and f64 runs, and two algorithms, are differentiated through the same loss. Clears the
// inputs' gradients first.
inline std::vector<Tensor> loss_grads(const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs) {
  for (Tensor t : inputs) {
    if (t.defined()) t.zero_grad();
  }
  std::vector<Tensor> weights;
  for (size_t k = 0; k < outputs.size(); ++k) {
    weights.push_back(Tensor::randn(outputs[k].shape(), 99 - k, Dtype::f64).to(outputs[k].dtype()));
  }
  autograd::backward(outputs, weights);
  std::vector<Tensor> grads;
  for (const Tensor& t : inputs) grads.push_back(t.defined() ? t.grad() : Tensor());
  return grads;
}

}  // namespace ssm::testing
