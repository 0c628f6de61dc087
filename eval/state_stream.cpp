// eval/state_stream.cpp — chunked, mitigated streaming through the recurrent state.
#include "eval/state_stream.h"

#include "autograd/grad_mode.h"  // defines: NoGradGuard
#include "core/error.h"          // defines: SSM_CHECK, SSM_USER_CHECK
#include "eval/inference.h"      // defines: token_batch, clone_state

namespace ssm {

StateStream::StateStream(LanguageModel& model, Device device, const Mitigations& mitigations, int64_t chunk)
    : model_(model), device_(device), mitigations_(mitigations), chunk_(chunk) {
  SSM_USER_CHECK(chunk > 0, "streaming: the chunk size must be positive, got ", chunk);
  check_mitigations(mitigations, model);
  SSM_CHECK(!mitigations.state_norm || !mitigations.thresholds.empty(),
            "state norm requested but its thresholds were never recorded (prepare_state_norm)");
  options_.mitigations = mitigations.scan;
  reset();
}

void StateStream::reset() {
  state_ = model_.init_state(1, device_);
  position_ = 0;
  rescaled_ = 0;
}

void StateStream::after_tokens() {
  if (mitigations_.state_norm && position_ % mitigations_.norm_every == 0) {
    rescaled_ += apply_state_norm(state_, model_.recurrent_state_name(), mitigations_.thresholds);
  }
}

Tensor StateStream::feed(const std::vector<TokenId>& tokens, size_t begin, size_t end, const ChunkFn& on_chunk) {
  autograd::NoGradGuard no_grad;
  SSM_CHECK(begin < end && end <= tokens.size(), "StateStream::feed: bad range [", begin, ", ", end, ") of ",
            tokens.size());
  Tensor logits;
  for (size_t s = begin; s < end;) {
    int64_t n = std::min<int64_t>(chunk_, static_cast<int64_t>(end - s));
    if (mitigations_.state_norm) {  // stop at the next multiple of norm_every
      n = std::min(n, mitigations_.norm_every - position_ % mitigations_.norm_every);
    }
    logits = model_.forward(token_batch(tokens, s, s + static_cast<size_t>(n), device_), &state_, options_);
    if (on_chunk) on_chunk(logits, position_, position_ + n);
    position_ += n;
    s += static_cast<size_t>(n);
    after_tokens();
  }
  return logits;
}

Tensor StateStream::step(TokenId token) {
  autograd::NoGradGuard no_grad;
  Tensor logits = model_.step(Tensor::from_vector<int64_t>({token}, {1}).to(device_), state_, options_);
  position_ += 1;
  after_tokens();
  return logits;
}

StateStream::Snapshot StateStream::snapshot() const { return {clone_state(state_), position_, rescaled_}; }

void StateStream::restore(const Snapshot& snapshot) {
  state_ = clone_state(snapshot.state);
  position_ = snapshot.position;
  rescaled_ = snapshot.rescaled;
}

}  // namespace ssm
