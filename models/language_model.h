// models/language_model.h — what every architecture offers the trainer and the evaluators.
//
// A language model maps token ids (B, T) to logits (B, T, V). Recurrent models carry a state
// between calls: pass the state returned by init_state() and forward() updates it in place, so a
// 1M-token document can be fed in pieces and produce exactly what one long call would. step()
// is the token-by-token path used for generation (it must agree with forward()).
//
// Evaluation hooks (ForwardOptions): an observer sees each layer's recurrent state after the
// call, a probe sees the mixers' per-token internals (Δ, decays, inputs), and a ScanMitigations
// applies the paper's mitigations inside the scans — without the model code being copied.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"           // defines: Tensor
#include "models/scan_mitigations.h"  // defines: ScanMitigations
#include "ops/scan/ssd.h"          // defines: ScanImpl

namespace ssm {

// One layer's recurrent state as named tensors ("ssm" (B,H,P,N), "conv" (B,W-1,C) for Mamba-2).
using LayerState = std::map<std::string, Tensor>;

struct RecurrentState {
  std::vector<LayerState> layers;

  // The same state with autograd history cut (truncated BPTT hands states across segments).
  RecurrentState detached() const;
  bool empty() const { return layers.empty(); }
};

// Called after each layer has processed a forward() call: (layer index, that layer's new state).
using StateObserver = std::function<void(int layer, const LayerState& state)>;

// Receives named per-token internals of a layer's mixer as it runs, e.g. Mamba-2's "dt" (B,T,H),
// "log_decay" = Δ·A (B,T,H), "B", "C" (B,T,G,N) and "x" (B,T,H,P): the raw material of state
// analysis (retention strength, what enters the state). Under ForwardOptions::mitigations they
// are the values the mitigated recurrence h_t = λα_t·h_{t-1} + γ·B̄_t x_t works with: "dt" is c·Δ,
// "log_decay" log(λα_t) (Mamba: log λ + c·Δ·A), "B" and "k" carry γ (models/mitigated_scan.h),
// so an analysis never re-applies a mitigation by hand.
using Probe = std::function<void(int layer, const std::string& name, const Tensor& value)>;

struct ForwardOptions {
  StateObserver observer;  // may be empty
  Probe probe;             // may be empty
  ScanMitigations mitigations;  // applied inside the scans; default: none
};

struct NamedParameter {
  std::string name;  // checkpoint tensor name, e.g. "backbone.layers.0.mixer.A_log"
  Tensor tensor;     // a leaf with requires_grad
  bool no_weight_decay = false;  // biases, norms and the model's own exemptions (A_log, D, dt_bias)
};

class LanguageModel {
 public:
  virtual ~LanguageModel() = default;

  virtual std::string architecture() const = 0;  // "mamba2"
  virtual int64_t vocab_size() const = 0;        // padded size: logits' last dim
  virtual int64_t num_layers() const = 0;
  // The key of each layer's main recurrent state in LayerState, the one the paper studies:
  // "ssm" (Mamba-1/2), "wkv" (RWKV), "gla" (HGRN-2). Its dim 1 indexes heads (channels for
  // Mamba-1, whose state is (B, E, N)).
  virtual std::string recurrent_state_name() const = 0;
  // Names of that state's dims after (batch, head), for coordinates in reports: {"p", "n"}
  // (Mamba-2's (B,H,P,N)), {"n"} (Mamba-1's (B,E,N)), {"k", "v"} (RWKV's and HGRN-2's (B,H,K,V)).
  virtual std::vector<std::string> state_axis_names() const = 0;
  // Whether the mixer has a step size Δ for Δ-scaling to act on (Mamba-1/2; RWKV and HGRN-2
  // change their retention through the decay alone).
  virtual bool has_delta() const = 0;
  // The state size N_S of one sequence (docs/architectures.md#state-size), counted on a fresh
  // init_state() so it cannot drift from the state the model really carries:
  //   main_state_elements()  the main recurrent state over all layers (N_S_main: Mamba-2 H·P·N
  //                          per layer), the size the capacity reports and the fits use;
  //   all_state_elements()   every state tensor, conv and token-shift states included (N_S_all,
  //                          the count behind the paper's Table 2, docs/paper_protocols.md#state-size).
  int64_t main_state_elements() const;
  int64_t all_state_elements() const;

  // A zero state for `batch` sequences on `device`.
  virtual RecurrentState init_state(int64_t batch, Device device) const = 0;
  // tokens (B, T) i64 -> logits (B, T, V). If `state` is non-null it is the state before the
  // first token and is replaced by the state after the last one.
  virtual Tensor forward(const Tensor& tokens, RecurrentState* state, const ForwardOptions& options = {}) = 0;
  // tokens (B) -> logits (B, V), advancing `state` by one token: a length-1 forward() with the
  // recurrent algorithm, which is the natural one for a single step.
  virtual Tensor step(const Tensor& tokens, RecurrentState& state, const ForwardOptions& options = {});

  virtual std::vector<NamedParameter> named_parameters() = 0;
  int64_t num_parameters();
  // Moves every parameter to `device` in place (same leaves, new storage).
  void to(Device device);

  // Which algorithm the sequence mixers use in forward(). Both compute the same function:
  //   chunked    quadratic inside chunks, a recurrence between them: the GPU's form (only
  //              the CUDA SSD has chunked kernels, in scalar loops: no tensor cores yet);
  //   recurrent  one step at a time: fewer flops; the CPU's default (docs/architectures.md says
  //              when the chunked form is as fast there).
  // By default (model.scan: auto) a model runs the recurrence on the CPU and chunks on GPUs.
  void set_scan_impl(ops::ScanImpl impl) { scan_choice_ = impl; }
  void set_scan_choice(const std::string& choice);  // "auto" | "chunked" | "recurrent"
  ops::ScanImpl scan_impl_for(Device device) const;

 protected:
  // The argument checks every forward() starts with (UserError naming the architecture), the
  // state controls included.
  // Also fixes scan_impl_, the algorithm of this call, from the tokens' device.
  void check_forward_args(const Tensor& tokens, const RecurrentState* state, const ForwardOptions& options);

  ops::ScanImpl scan_impl_ = ops::ScanImpl::chunked;  // the algorithm of the current forward()

 private:
  std::optional<ops::ScanImpl> scan_choice_;  // nullopt: auto
};

}  // namespace ssm
