// bench/train_step.cpp — the training-step benchmarks of ssmlab bench: one optimizer step of a
// Mamba-2 on fixed tokens, as the trainer runs it (forward, cross-entropy, backward, gradient
// clipping, AdamW), for the demo model and a larger one at two context lengths.
#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"  // defines: absl::StrCat
#include "autograd/engine.h"       // defines: backward
#include "bench/suite.h"  // defines: Sizes, Benchmark, TrainSpec, TrainStep
#include "models/model_factory.h"  // defines: make_model
#include "ops/ops.h"               // defines: cross_entropy, reshape, slice
#include "train/optimizer.h"       // defines: AdamW

namespace ssm::bench {

std::vector<TrainSpec> train_benchmarks(const Sizes& s) {
  ModelConfig demo = default_model_config("mamba2");  // configs/mamba2_s128.yaml
  demo.d_model = s.demo_d_model;
  demo.n_layer = s.demo_layers;
  demo.d_state = s.demo_state;
  demo.headdim = s.demo_headdim;
  demo.chunk_size = 64;
  ModelConfig big = default_model_config("mamba2");  // configs/public/mamba2-130m.yaml at full size
  big.d_model = s.big_d_model;
  big.n_layer = s.big_layers;
  big.chunk_size = s.big_chunk;
  return {{"train step: demo model (mamba2_s128)", demo, 258, s.demo_batch, s.demo_seq},
          {absl::StrCat("train step: mamba2 (", s.big_label, "), 2K"), big, s.big_vocab, s.batch_2k, s.seq_2k},
          {absl::StrCat("train step: mamba2 (", s.big_label, "), 8K"), big, s.big_vocab, s.batch_8k, s.seq_8k}};
}

std::vector<ScalingSpec> scaling_benchmarks(const Sizes& s) {
  const std::vector<TrainSpec> train = train_benchmarks(s);
  const ModelConfig &demo = train[0].model, &big = train[1].model;
  ModelConfig m130 = default_model_config("mamba2");  // configs/public/mamba2-130m.yaml
  m130.d_model = 768;
  m130.n_layer = 24;
  m130.chunk_size = 256;
  const auto len = [](int64_t t) { return t >= 1024 ? absl::StrCat(t / 1024, "K") : absl::StrCat(t); };
  std::vector<ScalingSpec> out;
  for (int64_t T : s.scaling_lengths) {
    out.push_back({{absl::StrCat("scaling T: demo model, T", len(T)), demo, 258, 1, T}, "length"});
  }
  const int64_t T = s.scaling_model_length;
  out.push_back({{absl::StrCat("scaling model: demo model, T", len(T)), demo, 258, 1, T}, "model"});
  out.push_back({{absl::StrCat("scaling model: mamba2 (", s.big_label, "), T", len(T)), big, s.big_vocab, 1, T},
                 "model"});
  out.push_back({{absl::StrCat("scaling model: mamba2-130m shape, T", len(T)), m130, 50277, 1, T}, "model"});
  return out;
}

TrainStep prepare_train_step(const TrainSpec& spec, Device device) {
  const ModelConfig& cfg = spec.model;
  std::shared_ptr<LanguageModel> model = make_model(cfg, spec.vocab, /*seed=*/1);
  model->to(device);
  auto optimizer = std::make_shared<AdamW>(model->named_parameters(), OptimConfig());
  const int64_t V = model->vocab_size(), B = spec.batch, T = spec.seq;
  std::vector<int64_t> ids(B * (T + 1));
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int64_t>((i * 2654435761u) % spec.vocab);
  Tensor all = Tensor::from_vector<int64_t>(ids, {B, T + 1});
  Tensor inputs = ops::contiguous(ops::slice(all, 1, 0, T)).to(device);
  Tensor targets = ops::contiguous(ops::slice(all, 1, 1, T + 1)).to(device);

  TrainStep out;
  const int64_t params = model->num_parameters();
  out.shape = absl::StrCat("D", cfg.d_model, " L", cfg.n_layer, " N", cfg.d_state, " P", cfg.headdim, " B", B, " T", T,
                           ", ", params >= 1000000 ? params / 1000000 : params / 1000,
                           params >= 1000000 ? "M" : "K", " params");
  out.tokens = static_cast<double>(B * T);
  out.flops_6n = 6.0 * static_cast<double>(params) * out.tokens;
  // SSD forward per token and layer: 2E(Q + 2N) + 2QNG (docs/performance.md); training ≈ 3 x forward.
  const double E = static_cast<double>(cfg.expand * cfg.d_model), N = static_cast<double>(cfg.d_state);
  const double Q = static_cast<double>(std::min(cfg.chunk_size, T));
  out.flops_mixer = 3.0 * cfg.n_layer * out.tokens * (2.0 * E * (Q + 2 * N) + 2.0 * Q * N * cfg.ngroups);
  out.step = [model, optimizer, inputs, targets, V] {
    Tensor logits = model->forward(inputs, nullptr);
    Tensor loss = ops::cross_entropy(ops::reshape(logits, {-1, V}), ops::reshape(targets, {-1}));
    autograd::backward(loss);
    optimizer->clip_grad_norm(1.0);
    optimizer->step(1e-4);
    optimizer->zero_grad();
  };
  return out;
}

}  // namespace ssm::bench
