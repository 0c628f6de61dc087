// models/mitigated_scan.cpp — the mitigated inputs and the scans with ScanMitigations applied
// (models/mitigated_scan.h).
#include "models/mitigated_scan.h"

#include <cmath>

#include "ops/ops.h"                  // defines: concat, slice, cumsum, exp, ...
#include "ops/scan/selective_scan.h"  // defines: selective_scan

namespace ssm {

Tensor mitigated_delta(const Tensor& dt, const ScanMitigations& c) {
  return c.delta_scale != 1.0 ? dt * c.delta_scale : dt;
}

Tensor mitigated_log_decay(const Tensor& log_decay, const ScanMitigations& c) {
  return c.retention_scale != 1.0 ? log_decay + std::log(c.retention_scale) : log_decay;
}

Tensor mitigated_key(const Tensor& key, const ScanMitigations& c) {
  return c.insertion_scale != 1.0 ? key * c.insertion_scale : key;
}

WindowInputs window_inputs(const Tensor& chunk, int64_t window, LayerState& state, const std::string& key) {
  const int64_t T = chunk.size(1);
  Shape history_shape = chunk.shape();
  history_shape[1] = window;
  const auto it = state.find(key);
  const Tensor history =
      it != state.end() ? it->second : Tensor::zeros(history_shape, chunk.dtype(), chunk.device());
  WindowInputs out;
  out.joined = ops::concat({history, chunk}, 1);  // (B, r+T, ...)
  out.lagged = ops::slice(out.joined, 1, 0, T);
  state[key] = ops::contiguous(ops::slice(out.joined, 1, T, T + window));
  return out;
}

Tensor window_log_decay(const Tensor& joined, int64_t window, bool inclusive) {
  const int64_t T = joined.size(1) - window;
  Tensor running = ops::cumsum(joined, 1);  // P[i] = Σ_{j≤i} a_j over [history | chunk]
  if (!inclusive) {                         // shift by one: P'[i] = P[i-1], P'[0] = 0
    Shape first = running.shape();
    first[1] = 1;
    running = ops::concat({Tensor::zeros(first, joined.dtype(), joined.device()), running}, 1);
  }
  // Chunk position i sits at row r+i: the window is the r rows ending there (or just before).
  return ops::slice(running, 1, window, window + T) - ops::slice(running, 1, 0, T);
}

ops::GlaResult mitigated_gla(Tensor q, Tensor k, const Tensor& v, Tensor g, const Tensor& u, ops::GlaReadout readout,
                              const ScanMitigations& c, LayerState* state, const std::string& key, ops::ScanImpl impl,
                              int64_t chunk_size) {
  g = mitigated_log_decay(g, c);  // α ← λα
  k = mitigated_key(k, c);        // k v ← γ k v
  const Tensor h0 = state ? state->at(key) : Tensor();
  ops::GlaResult result = ops::gla(q, k, v, g, u, h0, readout, impl, chunk_size);
  if (state) (*state)[key] = result.final_state;
  if (c.window <= 0) return result;

  // The lagged scan runs over the inputs r steps back and reads its state with the queries
  // scaled by the window's decay, giving α_window·h_{t−r} read out at t; subtracting it leaves
  // the last r tokens. Its bonus is zero: the current token's bonus belongs to the window.
  LayerState scratch;
  LayerState& s = state ? *state : scratch;
  const bool post = readout == ops::GlaReadout::post_update;
  const WindowInputs gs = window_inputs(g, c.window, s, "window.g");
  const Tensor k_lag = window_inputs(k, c.window, s, "window.k").lagged;
  const Tensor v_lag = window_inputs(v, c.window, s, "window.v").lagged;
  const Tensor decay = ops::exp(window_log_decay(gs.joined, c.window, /*inclusive=*/post));
  const Tensor lag_state = s.count("window.lag") ? s.at("window.lag") : Tensor();
  const Tensor no_bonus = post ? Tensor() : Tensor::zeros(u.shape(), u.dtype(), u.device());
  ops::GlaResult lag = ops::gla(q * decay, k_lag, v_lag, gs.lagged, no_bonus, lag_state, readout, impl, chunk_size);
  s["window.lag"] = lag.final_state;
  result.o = result.o - lag.o;
  return result;
}

ops::SsdResult mitigated_ssd(Tensor x, Tensor dt, const Tensor& A, Tensor Bm, const Tensor& Cm, const ScanMitigations& c,
                              LayerState* state, const std::string& key, ops::ScanImpl impl, int64_t chunk_size) {
  dt = mitigated_delta(dt, c);
  if (c.retention_scale != 1.0) {
    // α ← λα without touching the insertion Δ·x: Δ' = Δ + log λ / A (A < 0, so Δ' > Δ) makes
    // exp(Δ'A) = λ·exp(ΔA), and x' = x·Δ/Δ' keeps Δ'·x' = Δ·x.
    const Tensor shift = ops::mul_scalar(ops::div(Tensor::full(A.shape(), 1.0, A.dtype(), A.device()), A),
                                         std::log(c.retention_scale));
    const Tensor dt_rri = dt + shift;
    x = x * ops::unsqueeze(dt / dt_rri, -1);
    dt = dt_rri;
  }
  Bm = mitigated_key(Bm, c);
  const Tensor h0 = state ? state->at(key) : Tensor();
  ops::SsdResult result = ops::ssd(x, dt, A, Bm, Cm, h0, impl, chunk_size);
  if (state) (*state)[key] = result.final_state;
  if (c.window <= 0) return result;

  // As in mitigated_gla, with Mamba-2's scalar decay per head: the lagged scan's output is
  // scaled by the window's decay after the readout instead of through the query.
  LayerState scratch;
  LayerState& s = state ? *state : scratch;
  const WindowInputs dts = window_inputs(dt, c.window, s, "window.dt");
  const Tensor x_lag = window_inputs(x, c.window, s, "window.x").lagged;
  const Tensor B_lag = window_inputs(Bm, c.window, s, "window.B").lagged;
  const Tensor decay = ops::exp(window_log_decay(dts.joined * A, c.window, /*inclusive=*/true));  // (B,T,H)
  const Tensor lag_state = s.count("window.lag") ? s.at("window.lag") : Tensor();
  ops::SsdResult lag = ops::ssd(x_lag, dts.lagged, A, B_lag, Cm, lag_state, impl, chunk_size);
  s["window.lag"] = lag.final_state;
  result.y = result.y - lag.y * ops::unsqueeze(decay, -1);
  return result;
}

ops::SelectiveScanResult mitigated_selective_scan(const Tensor& x, Tensor dt, const Tensor& A, const Tensor& Bm,
                                                   const Tensor& Cm, const ScanMitigations& c, LayerState* state,
                                                   const std::string& key, ops::ScanImpl impl, int64_t chunk_size) {
  dt = mitigated_delta(dt, c);
  if (!c.rri() && c.window <= 0) {
    const Tensor h0 = state ? state->at(key) : Tensor();
    ops::SelectiveScanResult result = ops::selective_scan(x, dt, A, Bm, Cm, h0, impl, chunk_size);
    if (state) (*state)[key] = result.final_state;
    return result;
  }
  // RRI and the window act on a decay that differs per (channel, state index), which the
  // selective scan's shared C cannot express. Mamba-1 is a GLA with one head per channel
  // (key B_t, value Δ_t·x_t, log-decay Δ_t·A[d,:], query C_t), so run it as one: exact, at
  // E·N memory per token.
  const int64_t Bsz = x.size(0), T = x.size(1), E = x.size(2), N = A.size(1);
  const Tensor zeros = Tensor::zeros({Bsz, T, E, N}, x.dtype(), x.device());
  const Tensor q = ops::unsqueeze(Cm, 2) + zeros, k = ops::unsqueeze(Bm, 2) + zeros;
  const Tensor v = ops::unsqueeze(dt * x, -1);  // (B, T, E, 1)
  const Tensor g = ops::unsqueeze(dt, -1) * A;   // (B, T, E, N)
  if (state) (*state)[key] = ops::reshape(state->at(key), {Bsz, E, N, 1});
  ops::GlaResult r = mitigated_gla(q, k, v, g, Tensor(), ops::GlaReadout::post_update, c, state, key, impl,
                                    chunk_size);
  if (state) (*state)[key] = ops::reshape(state->at(key), {Bsz, E, N});
  return {ops::reshape(r.o, {Bsz, T, E}), ops::reshape(r.final_state, {Bsz, E, N})};
}

}  // namespace ssm
