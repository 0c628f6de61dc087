// train/tbptt.h — truncated backpropagation through time: one micro-batch of sequences of
// seq_len · segments tokens, trained as `segments` consecutive segments of seq_len tokens.
//
// Segment p starts from the recurrent state segment p − 1 ended with, detached: the forward pass
// sees the whole sequence (the state carries the context), the backward pass stops at each
// segment boundary (no gradient reaches an earlier segment), so memory holds one segment's graph
// at a time. This is the paper's "segment length × segments" (8K × 8 = a 64K context).
// Each segment's loss is backpropagated as soon as it is computed, weighted by its share of the
// micro-batch's scored targets: the value returned is the mean cross-entropy over every scored
// target of the whole sequence, the same number one forward over all seq_len · segments tokens
// gives. With segments = 1 this is the plain forward/backward of a batch.
#pragma once

#include <cstdint>

#include "core/dtype.h"             // defines: Device
#include "models/language_model.h"  // defines: LanguageModel
#include "train/data/dataset.h"          // defines: Batch

namespace ssm {

// Forward and backward over `batch` (B, seq_len · segments); gradients accumulate into the
// parameters, scaled by `grad_scale` (1 / micro-batches per step). Returns the batch's loss.
double train_segments(LanguageModel& model, const Batch& batch, int64_t segments, Device device, double grad_scale);

// The same loss without gradients (validation).
double evaluate_segments(LanguageModel& model, const Batch& batch, int64_t segments, Device device);

}  // namespace ssm
