// ops/backend.h — the kernel contract: what every device must implement.
//
// The op layer (ops/*.cpp) has already checked shapes and dtypes and allocated outputs, so a
// kernel only computes. Rules for every kernel:
//   * outputs are freshly allocated and contiguous unless stated otherwise; inputs are
//     contiguous unless the comment says "strided";
//   * floating kernels handle f32 and f64 (CUDA: also bf16 where stated by the CUDA backend);
//   * "backward" kernels write (not accumulate) their outputs unless the comment says so.
// The CPU implementation (ops/cpu/) is the readable reference; cuda/ registers a second one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"  // defines: Tensor
#include "ops/conv_activation.h"  // defines: ConvActivation

namespace ssm {

enum class UnaryOp { neg, exp, log, sqrt, square, sigmoid, silu, softplus, relu, tanh, add_scalar, mul_scalar };
enum class BinaryOp { add, sub, mul, div };

struct SsdShape {  // the Mamba-2 SSD problem size
  int64_t batch, seqlen, heads, headdim, groups, dstate;
};
struct SelectiveScanShape {  // the Mamba-1 selective scan problem size
  int64_t batch, seqlen, channels, dstate;
};
struct GlaShape {  // the gated-linear-attention problem size (RWKV-5/6, HGRN-2)
  int64_t batch, seqlen, heads, dk, dv;
};
// One parameter of an AdamW step: the parameter, its gradient and its two moments (contiguous
// f32, one shape), and the weight decay it takes (0 for the parameters exempt from it).
struct AdamWTensors {
  Tensor param, grad, m, v;
  double weight_decay;
};
struct AdamWHyper {  // what every parameter of the step shares; step counts from 1
  double lr, beta1, beta2, eps;
  int64_t step;
};

// ---- the method list -----------------------------------------------------------------------
// Every kernel is written down once, here, as X(return type, name, (parameters)) under its
// contract. The list is an "X-macro": a macro that applies whatever macro X it is given to each
// entry, so the one list expands into
//   * Backend's pure virtual methods (below),
//   * the override declarations of CpuBackend (ops/cpu/cpu_backend.h) and CudaBackend
//     (cuda/cuda_backend.h): SSM_BACKEND_METHODS(SSM_BACKEND_OVERRIDE),
//   * kBackendMethodNames, the names as strings, from which tests/ops/test_backend_coverage.cpp
//     checks that ops/README.md maps every kernel to its files and to a CUDA == CPU test.
// A new kernel is one entry here plus its definitions; ops/README.md lists every file to touch.
// (The contracts are /* */ comments: a // comment would swallow the backslash-joined lines.)
#define SSM_BACKEND_METHODS(X)                                                                                \
  /* dst = src, strided on both sides, converting dtype. */                                                   \
  X(void, copy, (const Tensor& src, const Tensor& dst))                                                       \
                                                                                                              \
  /* out = f(x) (x strided). `scalar` is the constant of add_scalar / mul_scalar. */                          \
  X(void, unary, (UnaryOp op, const Tensor& x, const Tensor& out, double scalar))                             \
  /* dx = dy ⊙ f'(x), with y = f(x) given too (some derivatives are cheaper from y). */                       \
  X(void, unary_backward, (UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& dy,                    \
                           const Tensor& dx, double scalar))                                                  \
  /* out = a ∘ b; a and b are strided views already broadcast to out's shape (stride 0 = repeat). */          \
  X(void, binary, (BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out))                         \
                                                                                                              \
  /* out has x's rank; every dim where out has size 1 and x does not is summed over. */                       \
  X(void, sum_to, (const Tensor& x, const Tensor& out))                                                       \
  /* x viewed as (outer, n, inner) around `dim`: values/indices (outer, inner), indices i64. */               \
  X(void, max_dim, (const Tensor& x, int64_t dim, const Tensor& values, const Tensor& indices))               \
  /* dx (zeroed here) gets dy at the argmax positions: the backward of max_dim. */                            \
  X(void, max_dim_backward, (const Tensor& dy, const Tensor& indices, int64_t dim, const Tensor& dx))         \
  /* Inclusive running sum along `dim` (from the end when `reverse`); x and out same shape. */                \
  X(void, cumsum, (const Tensor& x, int64_t dim, bool reverse, const Tensor& out))                            \
                                                                                                              \
  /* C[b] = alpha·op(A[b])·op(B[b]) + beta·C[b] for b < batch, row-major, leading dimensions */               \
  /* and batch strides in elements (stride 0 broadcasts). A, B, C point at their first element. */            \
  X(void, gemm, (bool trans_a, bool trans_b, int64_t batch, int64_t m, int64_t n, int64_t k,                  \
                 double alpha, const Tensor& a, int64_t lda, int64_t stride_a, const Tensor& b,               \
                 int64_t ldb, int64_t stride_b, double beta, const Tensor& c, int64_t ldc,                    \
                 int64_t stride_c))                                                                           \
                                                                                                              \
  /* Row-wise over the last dim of x viewed as (R, C). */                                                     \
  X(void, softmax_forward, (const Tensor& x, const Tensor& y, bool log))                                      \
  X(void, softmax_backward, (const Tensor& y, const Tensor& dy, const Tensor& dx, bool log))                  \
  /* logits (N, V), targets (N) i32/i64 -> losses (N) (0 at ignore_index), lse (N) f32/f64. */                \
  X(void, cross_entropy_forward, (const Tensor& logits, const Tensor& targets, int64_t ignore_index,          \
                                  const Tensor& losses, const Tensor& lse))                                   \
  /* dlogits[n] = dlosses[n]·(softmax(logits[n]) - onehot(target[n])), 0 rows where ignored. */               \
  X(void, cross_entropy_backward, (const Tensor& logits, const Tensor& targets, const Tensor& lse,            \
                                   const Tensor& dlosses, int64_t ignore_index,                               \
                                   const Tensor& dlogits))                                                    \
                                                                                                              \
  /* out (N, D) = weight[ids] for ids (N); backward: dweight (zeroed here) += dout at rows ids. */            \
  X(void, embedding_forward, (const Tensor& weight, const Tensor& ids, const Tensor& out))                    \
  X(void, embedding_backward, (const Tensor& ids, const Tensor& dout, const Tensor& dweight))                 \
                                                                                                              \
  /* x, y (R, C); rstd (R). dw is written, not accumulated. */                                                \
  X(void, rms_norm_forward, (const Tensor& x, const Tensor& w, double eps, const Tensor& y,                   \
                             const Tensor& rstd))                                                             \
  X(void, rms_norm_backward, (const Tensor& x, const Tensor& w, const Tensor& rstd, const Tensor& dy,         \
                              const Tensor& dx, const Tensor& dw))                                            \
  /* y = RMSNorm(x ⊙ silu(z)) per group of `group` channels; rstd (R, C/group). */                            \
  X(void, gated_rms_norm_forward, (const Tensor& x, const Tensor& z, const Tensor& w, double eps,             \
                                   int64_t group, const Tensor& y, const Tensor& rstd))                       \
  X(void, gated_rms_norm_backward, (const Tensor& x, const Tensor& z, const Tensor& w,                        \
                                    const Tensor& rstd, int64_t group, const Tensor& dy,                      \
                                    const Tensor& dx, const Tensor& dz, const Tensor& dw))                    \
  /* mean, rstd (R). */                                                                                       \
  X(void, layer_norm_forward, (const Tensor& x, const Tensor& w, const Tensor& b, double eps,                 \
                               const Tensor& y, const Tensor& mean, const Tensor& rstd))                      \
  X(void, layer_norm_backward, (const Tensor& x, const Tensor& w, const Tensor& mean,                         \
                                const Tensor& rstd, const Tensor& dy, const Tensor& dx,                       \
                                const Tensor& dw, const Tensor& db))                                          \
                                                                                                              \
  /* x (B,T,C), w (C,W), bias (C) or undefined, state_in (B,W-1,C) or undefined; y = act(conv). */           \
  X(void, conv1d_forward, (const Tensor& x, const Tensor& w, const Tensor& bias,                              \
                           const Tensor& state_in, ConvActivation act, const Tensor& y,                       \
                           const Tensor& state_out))                                                          \
  /* dy is the gradient of act(conv): with an activation the pre-activation is recomputed from */           \
  /* x, w, bias and state_in. dstate_out may be undefined (zero); dbias / dstate_in may be */                \
  /* undefined (not needed). */                                                                               \
  X(void, conv1d_backward, (const Tensor& x, const Tensor& w, const Tensor& bias,                             \
                            const Tensor& state_in, ConvActivation act, const Tensor& dy,                     \
                            const Tensor& dstate_out, const Tensor& dx, const Tensor& dw,                     \
                            const Tensor& dbias, const Tensor& dstate_in))                                    \
                                                                                                              \
  /* Mamba-2 SSD (ops/scan/ssd.h has the math): x (B,T,H,P), dt (B,T,H), A (H), Bm/Cm (B,T,G,N), */           \
  /* h0 (B,H,P,N) or undefined -> y (B,T,H,P), hT (B,H,P,N). chunk == 0 means the one-step-at-a- */           \
  /* time recurrence (the reference); chunk > 0 the chunked algorithm with that chunk length. */              \
  X(void, ssd_forward, (const SsdShape& s, int64_t chunk, const Tensor& x, const Tensor& dt,                  \
                        const Tensor& A, const Tensor& Bm, const Tensor& Cm, const Tensor& h0,                \
                        const Tensor& y, const Tensor& hT))                                                   \
  /* dhT may be undefined (zero). Writes dx, ddt, dA, dB, dC and dh0 (dh0 may be undefined). */               \
  X(void, ssd_backward, (const SsdShape& s, int64_t chunk, const Tensor& x, const Tensor& dt,                 \
                         const Tensor& A, const Tensor& Bm, const Tensor& Cm, const Tensor& h0,               \
                         const Tensor& dy, const Tensor& dhT, const Tensor& dx, const Tensor& ddt,            \
                         const Tensor& dA, const Tensor& dB, const Tensor& dC, const Tensor& dh0))            \
                                                                                                              \
  /* Mamba-1 selective scan (ops/scan/selective_scan.h has the math): x (B,T,E), dt (B,T,E), */               \
  /* A (E,N), Bm/Cm (B,T,N), h0 (B,E,N) or undefined -> y (B,T,E), hT (B,E,N). chunk == 0 means */            \
  /* the one-step-at-a-time recurrence (the reference); chunk > 0 the chunked algorithm. */                   \
  X(void, selective_scan_forward, (const SelectiveScanShape& s, int64_t chunk, const Tensor& x,               \
                                   const Tensor& dt, const Tensor& A, const Tensor& Bm,                       \
                                   const Tensor& Cm, const Tensor& h0, const Tensor& y,                       \
                                   const Tensor& hT))                                                         \
  /* dhT may be undefined (zero). Writes dx, ddt, dA, dB, dC and dh0 (dh0 may be undefined). */               \
  X(void, selective_scan_backward, (const SelectiveScanShape& s, int64_t chunk, const Tensor& x,              \
                                    const Tensor& dt, const Tensor& A, const Tensor& Bm,                      \
                                    const Tensor& Cm, const Tensor& h0, const Tensor& dy,                     \
                                    const Tensor& dhT, const Tensor& dx, const Tensor& ddt,                   \
                                    const Tensor& dA, const Tensor& dB, const Tensor& dC,                     \
                                    const Tensor& dh0))                                                       \
                                                                                                              \
  /* Gated linear attention (ops/scan/gla.h has the math): q, k, g (B,T,H,K), v (B,T,H,V), */                 \
  /* u (H,K) when `bonus` (pre-update readout with bonus) else undefined (post-update readout), */            \
  /* h0 (B,H,K,V) or undefined -> o (B,T,H,V), hT (B,H,K,V). chunk == 0 means the one-step-at-a- */           \
  /* time recurrence (the reference); chunk > 0 the chunked algorithm with that chunk length. */              \
  X(void, gla_forward, (const GlaShape& s, int64_t chunk, bool bonus, const Tensor& q, const Tensor& k,       \
                        const Tensor& v, const Tensor& g, const Tensor& u, const Tensor& h0,                  \
                        const Tensor& o, const Tensor& hT))                                                   \
  /* dhT may be undefined (zero). Writes dq, dk, dv, dg, du (undefined unless `bonus`) and dh0 */             \
  /* (may be undefined: not needed). */                                                                       \
  X(void, gla_backward, (const GlaShape& s, int64_t chunk, bool bonus, const Tensor& q, const Tensor& k,      \
                         const Tensor& v, const Tensor& g, const Tensor& u, const Tensor& h0,                 \
                         const Tensor& dout, const Tensor& dhT, const Tensor& dq, const Tensor& dk,           \
                         const Tensor& dv, const Tensor& dg, const Tensor& du, const Tensor& dh0))            \
                                                                                                              \
  /* One AdamW step in place (decoupled weight decay, bias-corrected) over every parameter of the */        \
  /* list at once: a backend may update them all in one pass (CUDA's version 2: one launch). */              \
  X(void, adamw_step, (const std::vector<AdamWTensors>& params, const AdamWHyper& hyper))                     \
  /* end of SSM_BACKEND_METHODS */

// Declares one entry of the list as an override in a backend's class body.
#define SSM_BACKEND_OVERRIDE(ret, name, params) ret name params override;

class Backend {
 public:
  virtual ~Backend() = default;

#define SSM_BACKEND_PURE_VIRTUAL(ret, name, params) virtual ret name params = 0;
  SSM_BACKEND_METHODS(SSM_BACKEND_PURE_VIRTUAL)
#undef SSM_BACKEND_PURE_VIRTUAL
};

// The method names in list order ("copy", "unary", ...), for tests that must cover every kernel.
#define SSM_BACKEND_METHOD_NAME(ret, name, params) #name,
inline constexpr const char* kBackendMethodNames[] = {SSM_BACKEND_METHODS(SSM_BACKEND_METHOD_NAME)};
#undef SSM_BACKEND_METHOD_NAME

// The backend for a device; throws a UserError naming the device (and why it is missing) if none
// is registered.
Backend& backend_for(Device device);
bool has_backend(DeviceType type);
void register_backend(DeviceType type, Backend* backend);

// Why a backend that was built in did not register at start-up (no GPU visible, a library
// missing). `hardware_present`: the device is there but cannot be used, so `run.device: auto`
// must not quietly fall back to the CPU (train/trainer.cpp, resolve_device).
struct BackendAbsence {
  std::string why;
  bool hardware_present = false;
};
void record_backend_absence(DeviceType type, BackendAbsence absence);
// nullptr when the backend is registered or was never built in.
const BackendAbsence* backend_absence(DeviceType type);

}  // namespace ssm
