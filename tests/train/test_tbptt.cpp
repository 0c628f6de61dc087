// tests/train/test_tbptt.cpp — truncated BPTT over segments: the loss equals one forward over the
// whole sequence (the state carries the context), and the gradient is exactly the sum of each
// segment's gradient from a constant start state — no gradient crosses a segment boundary —
// which differs from full backpropagation through the whole sequence.
#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "models/model_factory.h"
#include "ops/ops.h"
#include "tests/support/testing.h"
#include "train/tbptt.h"

using namespace ssm;
using namespace ssm::testing;

namespace {

constexpr int64_t kB = 2, kT = 8, kP = 3, kVocab = 258;

ModelConfig tiny_config(const std::string& arch) {
  ModelConfig m = default_model_config(arch);
  m.d_model = 16;
  m.n_layer = 2;
  if (arch == "mamba2") {
    m.d_state = 8;
    m.headdim = 8;
    m.chunk_size = 4;
  } else if (arch == "mamba1") {
    m.d_state = 4;
  } else {
    m.headdim = 8;  // RWKV / HGRN-2 heads
    m.chunk_size = 4;
  }
  return m;
}

// Random tokens; targets are the next tokens with a few ignored, and segment 1 of row 0 entirely
// ignored (so a segment can have nothing to score in one row).
Batch random_batch() {
  const int64_t L = kP * kT;
  std::vector<int64_t> tokens(kB * (L + 1)), ids, targets;
  Rng rng(42);
  for (auto& t : tokens) t = static_cast<int64_t>(rng.below(kVocab));
  for (int64_t b = 0; b < kB; ++b) {
    for (int64_t t = 0; t < L; ++t) {
      ids.push_back(tokens[b * (L + 1) + t]);
      const bool ignored = (t % 5 == 3) || (b == 0 && t >= kT && t < 2 * kT);
      targets.push_back(ignored ? kIgnoreTarget : tokens[b * (L + 1) + t + 1]);
    }
  }
  return {Tensor::from_vector<int64_t>(ids, {kB, L}), Tensor::from_vector<int64_t>(targets, {kB, L})};
}

Tensor segment(const Tensor& x, int64_t p) { return ops::contiguous(ops::slice(x, 1, p * kT, (p + 1) * kT)); }

double loss_of(LanguageModel& model, const Tensor& logits, const Tensor& targets) {
  return ops::cross_entropy(ops::reshape(logits, {-1, model.vocab_size()}), ops::reshape(targets, {-1})).item();
}

// All parameter gradients, concatenated (zeros for missing ones); clears them.
Tensor take_grads(LanguageModel& model) {
  std::vector<double> all;
  for (NamedParameter& p : model.named_parameters()) {
    const Tensor g = p.tensor.grad();
    const std::vector<double> v = g.defined() ? g.to_vector<double>() : std::vector<double>(p.tensor.numel(), 0.0);
    all.insert(all.end(), v.begin(), v.end());
    p.tensor.zero_grad();
  }
  return Tensor::from_vector<double>(all, {static_cast<int64_t>(all.size())});
}

// Some reference inits zero a layer's output projection (RWKV), which would hide the state's
// effect on the loss; jitter every parameter so each path carries gradient.
std::unique_ptr<LanguageModel> jittered_model(const std::string& arch, uint64_t seed) {
  std::unique_ptr<LanguageModel> model = make_model(tiny_config(arch), kVocab, seed, Dtype::f64);
  uint64_t k = 0;
  for (NamedParameter& p : model->named_parameters()) {
    const Tensor noise = Tensor::randn(p.tensor.shape(), seed * 1000 + k++, Dtype::f64, Device::cpu(), 0.05);
    double* w = p.tensor.data<double>();
    const std::vector<double> n = noise.to_vector<double>();
    for (int64_t i = 0; i < p.tensor.numel(); ++i) w[i] += n[static_cast<size_t>(i)];
  }
  return model;
}

int64_t scored(const Tensor& targets) {
  int64_t n = 0;
  for (int64_t t : targets.to_vector<int64_t>()) n += t != kIgnoreTarget;
  return n;
}

}  // namespace

TEST_CASE("truncated BPTT: loss of the whole sequence, gradients cut at every segment boundary") {
  for (const std::string arch : {"mamba2", "mamba1", "rwkv6", "hgrn2"}) {
    SUBCASE((arch + " B2 T8 P3").c_str()) {
      std::unique_ptr<LanguageModel> model = jittered_model(arch, 7);
      const Batch batch = random_batch();
      const double scale = 0.25;

      // The trainer's path.
      const double loss = train_segments(*model, batch, kP, Device::cpu(), scale);
      const Tensor grads = take_grads(*model);
      CHECK(evaluate_segments(*model, batch, kP, Device::cpu()) == doctest::Approx(loss).epsilon(1e-13));

      // Loss: one forward over all P·T tokens scores the same targets with the same context.
      {
        autograd::NoGradGuard no_grad;
        const double whole = loss_of(*model, model->forward(batch.tokens, nullptr), batch.targets);
        CHECK(loss == doctest::Approx(whole).epsilon(1e-12));
      }

      // Gradient: a manual loop where segment p starts from a constant state (the state after
      // tokens [0, pT), computed without a graph) and contributes its share of the loss.
      const int64_t total = scored(batch.targets);
      double manual_loss = 0;
      for (int64_t p = 0; p < kP; ++p) {
        RecurrentState state = model->init_state(kB, Device::cpu());
        if (p > 0) {
          autograd::NoGradGuard no_grad;
          model->forward(ops::contiguous(ops::slice(batch.tokens, 1, 0, p * kT)), &state);
        }
        const Tensor targets = segment(batch.targets, p);
        const double weight = static_cast<double>(scored(targets)) / static_cast<double>(total);
        Tensor seg_loss = ops::cross_entropy(
            ops::reshape(model->forward(segment(batch.tokens, p), &state), {-1, model->vocab_size()}),
            ops::reshape(targets, {-1}));
        manual_loss += weight * seg_loss.item();
        autograd::backward(ops::mul_scalar(seg_loss, scale * weight));
      }
      const Tensor manual_grads = take_grads(*model);
      CHECK(manual_loss == doctest::Approx(loss).epsilon(1e-12));
      CHECK_CLOSE(arch + " TBPTT gradient vs per-segment gradients", grads, manual_grads, 1e-10);

      // Full backpropagation through the whole sequence differs: the cut is real.
      Tensor full = ops::cross_entropy(ops::reshape(model->forward(batch.tokens, nullptr), {-1, model->vocab_size()}),
                                       ops::reshape(batch.targets, {-1}));
      autograd::backward(ops::mul_scalar(full, scale));
      const Tensor full_grads = take_grads(*model);
      const double cut = rel_error(grads, full_grads);
      MESSAGE(arch << ": TBPTT vs full BPTT gradient rel diff " << cut);
      CHECK(cut > 1e-4);
    }
  }
}

TEST_CASE("one segment is the plain forward/backward") {
  std::unique_ptr<LanguageModel> model = jittered_model("mamba2", 3);
  const Batch batch = random_batch();
  const double loss = train_segments(*model, batch, 1, Device::cpu(), 1.0);
  const Tensor grads = take_grads(*model);
  Tensor plain = ops::cross_entropy(ops::reshape(model->forward(batch.tokens, nullptr), {-1, model->vocab_size()}),
                                    ops::reshape(batch.targets, {-1}));
  CHECK(plain.item() == loss);
  autograd::backward(plain);
  CHECK(rel_error(grads, take_grads(*model)) == 0.0);
  CHECK_THROWS_AS(train_segments(*model, batch, 5, Device::cpu(), 1.0), Error);  // 24 tokens are not 5 segments
}
