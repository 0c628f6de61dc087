// eval/state_stream.h — one sequence streamed through a model's recurrent state with the
// mitigations applied: the single place where evaluation calls forward() and step().
//
// Tokens go in forward calls of at most `chunk` tokens, with the state carried, so a 1M-token
// document costs the memory of one chunk. With the state norm on, calls also end at every
// multiple of norm_every (counted from the stream's first token) and the norm is applied there,
// so the schedule is a property of positions, not of how the caller split its input — which is
// what makes snapshots and restarts exact. Everything runs without autograd.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "eval/mitigations.h"       // defines: Mitigations
#include "models/language_model.h"  // defines: LanguageModel, RecurrentState, ForwardOptions

namespace ssm {

class StateStream {
 public:
  // The stream keeps its own copy of `mitigations` (callers pass temporaries, e.g.
  // Mitigations{}); with the state norm on, its thresholds must have been recorded
  // (prepare_state_norm) before the stream is made.
  StateStream(LanguageModel& model, Device device, const Mitigations& mitigations, int64_t chunk = 2048);

  // Called after each forward call with its logits (1, T, V) on the device and the positions
  // [begin, end) of the stream it covered.
  using ChunkFn = std::function<void(const Tensor& logits, int64_t begin, int64_t end)>;

  // Feeds tokens[begin, end) (appended at position()). Returns the last call's logits.
  Tensor feed(const std::vector<TokenId>& tokens, size_t begin, size_t end, const ChunkFn& on_chunk = {});
  Tensor feed(const std::vector<TokenId>& tokens) { return feed(tokens, 0, tokens.size()); }
  // One token through the recurrent step: logits (1, V).
  Tensor step(TokenId token);

  int64_t position() const { return position_; }
  RecurrentState& state() { return state_; }
  // The probe/observer hooks of every forward call (the scan mitigations come from `mitigations`).
  ForwardOptions& options() { return options_; }
  int64_t rescaled_heads() const { return rescaled_; }  // state-norm rescales so far

  // The state and position now (a deep copy), and a return to them.
  struct Snapshot {
    RecurrentState state;
    int64_t position = 0;
    int64_t rescaled = 0;
  };
  Snapshot snapshot() const;
  void restore(const Snapshot& snapshot);
  void reset();  // back to a zero state at position 0

 private:
  void after_tokens();  // applies the state norm when position() is on its schedule

  LanguageModel& model_;
  Device device_;
  const Mitigations mitigations_;  // a copy: a reference outlived the callers' temporaries
  int64_t chunk_;
  ForwardOptions options_;
  RecurrentState state_;
  int64_t position_ = 0;
  int64_t rescaled_ = 0;
};

}  // namespace ssm
