// train/tbptt.cpp — segment-by-segment forward/backward with a detached state hand-off.
#include "train/tbptt.h"

#include "autograd/engine.h"     // defines: backward
#include "autograd/grad_mode.h"  // defines: NoGradGuard
#include "core/error.h"          // defines: SSM_CHECK
#include "ops/ops.h"             // defines: cross_entropy, reshape, slice, mul_scalar

namespace ssm {

namespace {

int64_t scored_targets(const Tensor& targets) {
  int64_t n = 0;
  for (int64_t t : targets.to_vector<int64_t>()) n += t != kIgnoreTarget;
  return n;
}

// Runs every segment; `on_loss(loss, weight)` receives each segment's mean loss and its share of
// the scored targets. Segments with nothing scored contribute nothing (and are still run: the
// state must pass through them).
template <typename OnLoss>
void for_each_segment(LanguageModel& model, const Batch& batch, int64_t segments, Device device, OnLoss on_loss) {
  const int64_t B = batch.tokens.size(0), L = batch.tokens.size(1);
  SSM_CHECK(segments >= 1 && L % segments == 0, "a sequence of ", L, " tokens does not split into ", segments,
            " segments");
  const int64_t T = L / segments;
  if (segments == 1) {
    // The plain path, kept free of state handling (and bit-identical to what it always was).
    const int64_t total = scored_targets(batch.targets);
    Tensor logits = model.forward(ops::to_device(batch.tokens, device), nullptr);
    Tensor loss = ops::cross_entropy(ops::reshape(logits, {-1, model.vocab_size()}),
                                     ops::reshape(ops::to_device(batch.targets, device), {-1}));
    on_loss(loss, total > 0 ? 1.0 : 0.0);
    return;
  }
  const int64_t total = scored_targets(batch.targets);
  RecurrentState state = model.init_state(B, device);
  for (int64_t p = 0; p < segments; ++p) {
    const Tensor tokens = ops::contiguous(ops::slice(batch.tokens, 1, p * T, (p + 1) * T));
    const Tensor targets = ops::contiguous(ops::slice(batch.targets, 1, p * T, (p + 1) * T));
    const int64_t scored = scored_targets(targets);
    Tensor logits = model.forward(ops::to_device(tokens, device), &state);
    state = state.detached();  // the hand-off: the next segment sees the values, not the graph
    if (scored == 0) continue;
    Tensor loss = ops::cross_entropy(ops::reshape(logits, {-1, model.vocab_size()}),
                                     ops::reshape(ops::to_device(targets, device), {-1}));
    on_loss(loss, static_cast<double>(scored) / static_cast<double>(total));
  }
}

}  // namespace

double train_segments(LanguageModel& model, const Batch& batch, int64_t segments, Device device, double grad_scale) {
  double total = 0;
  for_each_segment(model, batch, segments, device, [&](const Tensor& loss, double weight) {
    total += weight * loss.item();
    autograd::backward(ops::mul_scalar(loss, grad_scale * weight));
  });
  return total;
}

double evaluate_segments(LanguageModel& model, const Batch& batch, int64_t segments, Device device) {
  autograd::NoGradGuard no_grad;
  double total = 0;
  for_each_segment(model, batch, segments, device,
                   [&](const Tensor& loss, double weight) { total += weight * loss.item(); });
  return total;
}

}  // namespace ssm
