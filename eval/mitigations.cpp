// eval/mitigations.cpp — the state norm (ours, after v1) and the window's read-out state.
#include "eval/mitigations.h"

#include <cmath>

#include "absl/strings/str_format.h"  // defines: absl::StrFormat
#include "autograd/grad_mode.h"       // defines: NoGradGuard
#include "core/error.h"               // defines: SSM_USER_CHECK, SSM_CHECK
#include "eval/inference.h"           // defines: token_batch
#include "ops/ops.h"                  // defines: sum, sqrt, relu, reshape, ...

namespace ssm {
namespace {

// Every dim after the head dim (1): the per-head reduction axes of a (B, H, ...) state.
std::vector<int64_t> per_head_dims(const Tensor& h) {
  std::vector<int64_t> dims;
  for (int64_t d = 2; d < h.dim(); ++d) dims.push_back(d);
  return dims;
}

// ‖h‖_F per (batch, head), shape (B, H, 1, ...) so it broadcasts against h.
Tensor head_norms(const Tensor& h) { return ops::sqrt(ops::sum(ops::square(h), per_head_dims(h), true)); }

}  // namespace

std::string Mitigations::describe() const {
  std::string out = scan.any() ? scan.describe() : "";
  if (state_norm) out += absl::StrFormat("%sstate norm (every %d tokens)", out.empty() ? "" : ", ", norm_every);
  return out.empty() ? "none" : out;
}

void check_mitigations(const Mitigations& m, const LanguageModel& model) {
  check_scan_mitigations(m.scan, model);
  SSM_USER_CHECK(m.norm_every > 0, "state norm: the check interval must be positive, got ", m.norm_every);
  // Rescaling h but not the lagged h_{t−r} the window subtracts would make the difference
  // meaningless, so the two do not combine.
  SSM_USER_CHECK(!(m.state_norm && m.scan.window > 0),
                 "--state-norm and --window do not combine: the window subtracts an unnormalised lagged state");
}

void prepare_state_norm(Mitigations& m, LanguageModel& model, const std::vector<TokenId>& reference, Device device,
                        int64_t chunk) {
  if (!m.state_norm) return;
  SSM_USER_CHECK(!reference.empty(), "state norm: the reference input is empty");
  autograd::NoGradGuard no_grad;
  ForwardOptions options;
  options.mitigations = m.scan;
  RecurrentState state = model.init_state(1, device);
  for (size_t s = 0; s < reference.size(); s += static_cast<size_t>(chunk)) {
    const size_t e = std::min(reference.size(), s + static_cast<size_t>(chunk));
    model.forward(token_batch(reference, s, e, device), &state, options);
  }
  m.thresholds.tau.clear();
  for (const LayerState& layer : state.layers) {
    const Tensor norms = head_norms(layer.at(model.recurrent_state_name()));
    m.thresholds.tau.push_back(norms.to_vector<double>());
  }
}

int64_t apply_state_norm(RecurrentState& state, const std::string& key, const StateNormThresholds& thresholds) {
  SSM_CHECK(thresholds.tau.size() == state.layers.size(), "state norm: thresholds for ", thresholds.tau.size(),
            " layers, state has ", state.layers.size());
  int64_t rescaled = 0;
  for (size_t l = 0; l < state.layers.size(); ++l) {
    Tensor& h = state.layers[l].at(key);
    const int64_t H = h.size(1);
    SSM_CHECK(static_cast<int64_t>(thresholds.tau[l].size()) == H, "state norm: layer ", l, " has ", H,
              " heads, thresholds ", thresholds.tau[l].size());
    // A head that stayed exactly zero on the reference gets a tiny τ, so any state it later holds
    // is scaled down to (almost) zero rather than divided by zero.
    std::vector<double> tau = thresholds.tau[l];
    for (double& t : tau) t = std::max(t, 1e-30);
    Shape tau_shape(static_cast<size_t>(h.dim()), 1);
    tau_shape[1] = H;
    const Tensor tau_t = Tensor::from_vector(tau, tau_shape).to(h.dtype()).to(h.device());
    const Tensor norms = head_norms(h);  // (B, H, 1, ...)
    // scale = τ / max(‖h‖, τ) = τ / (τ + relu(‖h‖ − τ)): exactly 1 at or below τ, τ/‖h‖ above it.
    const Tensor excess = ops::relu(norms - tau_t);
    for (double e : excess.to_vector<double>()) rescaled += e > 0;
    h = h * (tau_t / (tau_t + excess));
  }
  return rescaled;
}

Tensor readout_state(LanguageModel& model, const LayerState& s, int layer, const ScanMitigations& scan) {
  const Tensor& h = s.at(model.recurrent_state_name());
  if (scan.window <= 0) return h;
  const auto lag_it = s.find("window.lag");
  if (lag_it == s.end()) return h;  // nothing streamed yet
  Tensor log_decay;                 // the window's total log-decay, (B, H) or (B, H, K)
  if (s.count("window.g")) {        // GLA form (RWKV, HGRN-2, Mamba-1): per-key decays
    log_decay = ops::sum(s.at("window.g"), {1});
  } else {  // Mamba-2's SSD: Σ Δ over the window times A = −exp(A_log) of this layer
    SSM_CHECK(s.count("window.dt"), "readout_state: window buffers missing in layer ", layer);
    const std::string a_name = absl::StrFormat("layers.%d.mixer.A_log", layer);
    Tensor A;
    for (const NamedParameter& p : model.named_parameters()) {
      if (p.name.size() >= a_name.size() && p.name.compare(p.name.size() - a_name.size(), a_name.size(), a_name) == 0) {
        A = -ops::exp(p.tensor.detach());
      }
    }
    SSM_CHECK(A.defined(), "readout_state: no parameter ending in ", a_name);
    log_decay = ops::sum(s.at("window.dt"), {1}) * A;  // (B, H)
  }
  // Broadcast the decay over the state's trailing dims: (B, H[, K]) -> (B, H[, K], 1, ...).
  Tensor decay = ops::exp(log_decay);
  const Tensor& lag = lag_it->second;
  while (decay.dim() < lag.dim()) decay = ops::unsqueeze(decay, -1);
  return h - ops::reshape(lag * decay, h.shape());
}

}  // namespace ssm
