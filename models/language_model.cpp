// models/language_model.cpp — the shared parts of LanguageModel and RecurrentState.
#include "models/language_model.h"

#include "core/error.h"  // defines: SSM_USER_CHECK
#include "ops/ops.h"     // defines: unsqueeze, squeeze

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

namespace {

// Elements of a fresh one-sequence state: of the tensors named `only`, or of all of them ("").
int64_t count_state_elements(const LanguageModel& model, const std::string& only) {
  int64_t n = 0;
  for (const LayerState& layer : model.init_state(1, Device::cpu()).layers) {
    for (const auto& [name, tensor] : layer) {
      if (only.empty() || name == only) n += tensor.numel();
    }
  }
  return n;
}

}  // namespace

int64_t LanguageModel::main_state_elements() const { return count_state_elements(*this, recurrent_state_name()); }

int64_t LanguageModel::all_state_elements() const { return count_state_elements(*this, ""); }

int64_t LanguageModel::num_parameters() {
  int64_t n = 0;
  for (const NamedParameter& p : named_parameters()) n += p.tensor.numel();
  return n;
}

Tensor LanguageModel::step(const Tensor& tokens, RecurrentState& state, const ForwardOptions& options) {
  SSM_USER_CHECK(tokens.dim() == 1, architecture(), ".step: tokens must be (B), got ", tokens.str());
  const std::optional<ops::ScanImpl> saved = scan_choice_;
  scan_choice_ = ops::ScanImpl::recurrent;
  Tensor logits;
  try {
    logits = forward(ops::unsqueeze(tokens, 1), &state, options);
  } catch (...) {
    scan_choice_ = saved;
    throw;
  }
  scan_choice_ = saved;
  return ops::squeeze(logits, 1);
}

void LanguageModel::set_scan_choice(const std::string& choice) {
  if (choice == "auto") {
    scan_choice_.reset();
  } else if (choice == "chunked" || choice == "recurrent") {
    scan_choice_ = choice == "chunked" ? ops::ScanImpl::chunked : ops::ScanImpl::recurrent;
  } else {
    throw UserError(absl::StrCat("model.scan must be auto, chunked or recurrent, got '", choice, "'"));
  }
}

ops::ScanImpl LanguageModel::scan_impl_for(Device device) const {
  if (scan_choice_) return *scan_choice_;
  return device.is_cpu() ? ops::ScanImpl::recurrent : ops::ScanImpl::chunked;
}

void LanguageModel::check_forward_args(const Tensor& tokens, const RecurrentState* state,
                                       const ForwardOptions& options) {
  check_scan_mitigations(options.mitigations, *this);
  scan_impl_ = scan_impl_for(tokens.device());
  SSM_USER_CHECK(tokens.dim() == 2, architecture(), ".forward: tokens must be (B, T), got ", tokens.str());
  SSM_USER_CHECK(!state || static_cast<int64_t>(state->layers.size()) == num_layers(), architecture(),
                 ".forward: state has ", state ? state->layers.size() : 0, " layers, model has ", num_layers());
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
