// models/language_model.cpp — the shared parts of LanguageModel and RecurrentState.
#include "models/language_model.h"

namespace ssm {

RecurrentState RecurrentState::detached() const {
  RecurrentState out;
  for (const LayerState& layer : layers) {
    LayerState copy;
    for (const auto& [name, t] : layer) copy[name] = t.defined() ? t.detach() : t;
    out.layers.push_back(std::move(copy));
  }
  return out;
}

int64_t LanguageModel::num_parameters() {
  int64_t n = 0;
  for (const NamedParameter& p : named_parameters()) n += p.tensor.numel();
  return n;
}

void LanguageModel::to(Device device) {
  for (NamedParameter& p : named_parameters()) {
    if (p.tensor.device() == device) continue;
    Tensor moved = p.tensor.to(device);
    // Keep the same leaf object (the optimizer and the model hold it) and swap its storage.
    p.tensor.impl()->storage = moved.impl()->storage;
    p.tensor.impl()->offset = 0;
    p.tensor.impl()->strides = moved.strides();
  }
}

}  // namespace ssm
