// ops/conv_activation.h — what the causal conv (ops::causal_conv1d) applies to its output: nothing,
// or SiLU in the same pass. Mamba-1 and Mamba-2 follow their conv with SiLU; fused, the forward
// writes the activation once instead of writing the conv's output and then reading it back, and
// nothing (B, T, C) is kept for the backward, which recomputes the pre-activation from the conv's
// inputs (W taps per element).
#pragma once

namespace ssm {

enum class ConvActivation { none, silu };

}  // namespace ssm
