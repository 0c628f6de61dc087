// bench/eval_step.cpp — the evaluation benchmarks of ssmlab bench: a long sequence streamed through
// the model in chunks with its state carried (forward only, no autograd: what `ppl` and
// `capacity` spend their time on), and one token at a time through step() (what `passkey` and
// `generate` spend it on), for the demo model and the larger Mamba-2 of the training rows.
#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"  // defines: absl::StrCat
#include "autograd/grad_mode.h"    // defines: NoGradGuard
#include "bench/suite.h"           // defines: Sizes, EvalSpec, EvalRun
#include "models/model_factory.h"  // defines: make_model
#include "ops/ops.h"               // defines: slice, contiguous

namespace ssm::bench {
namespace {

constexpr int64_t kStreamChunk = 2048;  // tokens per forward() call, as eval/state_stream.h uses

}  // namespace

std::vector<EvalSpec> eval_benchmarks(const Sizes& s) {
  const std::vector<TrainSpec> train = train_benchmarks(s);  // the same two models
  const ModelConfig& demo = train[0].model;
  const ModelConfig& big = train[1].model;
  const auto k = [](int64_t n) { return n >= 1024 ? absl::StrCat(n / 1024, "K") : absl::StrCat(n); };
  return {{absl::StrCat("eval stream: demo model, ", k(s.stream_short)), demo, 258, s.stream_short, false},
          {absl::StrCat("eval stream: demo model, ", k(s.stream_long)), demo, 258, s.stream_long, false},
          {"eval decode step: demo model", demo, 258, s.decode_steps, true},
          {absl::StrCat("eval stream: mamba2 (", s.big_label, "), ", k(s.stream_big)), big, s.big_vocab, s.stream_big,
           false},
          {absl::StrCat("eval decode step: mamba2 (", s.big_label, ")"), big, s.big_vocab, s.decode_steps_big, true}};
}

EvalRun prepare_eval(const EvalSpec& spec, Device device) {
  std::shared_ptr<LanguageModel> model = make_model(spec.model, spec.vocab, /*seed=*/1);
  model->to(device);
  std::vector<int64_t> ids(static_cast<size_t>(spec.tokens));
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int64_t>((i * 2654435761u) % spec.vocab);
  const Tensor all = Tensor::from_vector<int64_t>(ids, {1, spec.tokens}).to(device);

  EvalRun out;
  const int64_t params = model->num_parameters();
  out.shape = absl::StrCat("D", spec.model.d_model, " L", spec.model.n_layer, " N", spec.model.d_state, " ",
                           spec.decode ? "1 token/step" : absl::StrCat("chunks of ", kStreamChunk), ", ",
                           params >= 1000000 ? params / 1000000 : params / 1000, params >= 1000000 ? "M" : "K");
  out.tokens = static_cast<double>(spec.tokens);
  const int64_t T = spec.tokens;
  if (spec.decode) {
    out.run = [model, all, T, device] {
      autograd::NoGradGuard no_grad;
      RecurrentState state = model->init_state(1, device);
      for (int64_t t = 0; t < T; ++t) model->step(ops::reshape(ops::contiguous(ops::slice(all, 1, t, t + 1)), {1}), state);
    };
  } else {
    out.run = [model, all, T, device] {
      autograd::NoGradGuard no_grad;
      RecurrentState state = model->init_state(1, device);
      for (int64_t t = 0; t < T; t += kStreamChunk) {
        model->forward(ops::contiguous(ops::slice(all, 1, t, std::min(T, t + kStreamChunk))), &state);
      }
    };
  }
  return out;
}

}  // namespace ssm::bench
