// tests/models/test_golden.cpp — parity with the public reference implementations. Each directory under
// tests/data/golden/ is a tiny model in its family's checkpoint layout plus what the reference
// (transformers' Mamba/Mamba2, RWKV-LM's x052/x060 checked against BlinkDL's rwkv package, fla's
// HGRN-2) computed in float64: logits, loss, every gradient, four SGD steps, the final states.
// The model is loaded exactly as a public checkpoint is (train/pretrained.h) and must agree to
// ~1e-10 in f64, and to f32 precision in f32. scripts/golden/make_golden.py makes the fixtures.
#include <filesystem>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "core/safetensors.h"
#include "ops/ops.h"
#include "tests/support/testing.h"
#include "train/pretrained.h"

using namespace ssm;
namespace fs = std::filesystem;

namespace {

const fs::path kGolden = fs::path(SSMLAB_SOURCE_DIR) / "tests" / "data" / "golden";
constexpr double kTolF64 = 1e-10;  // both sides compute in float64
constexpr double kTolF32 = 2e-5;   // our f32 model against the float64 reference

SafetensorsFile open_fixture(const std::string& arch) {
  SafetensorsFile golden = load_safetensors((kGolden / arch / "golden.safetensors").string());
  const auto& meta = golden.metadata();
  INFO("fixture ", arch, ": regenerate with scripts/golden/make_golden.py");
  REQUIRE(meta.count("magic") == 1);
  REQUIRE(meta.at("magic") == "ssmlab-golden");
  REQUIRE(meta.at("format_version") == "1");
  REQUIRE(meta.at("arch") == arch);
  return golden;
}

// Mean next-token cross-entropy, as the fixtures define the loss.
Tensor next_token_loss(const Tensor& logits, const Tensor& ids) {
  const int64_t B = ids.size(0), T = ids.size(1), V = logits.size(2);
  Tensor pred = ops::reshape(ops::slice(logits, 1, 0, T - 1), {B * (T - 1), V});
  Tensor target = ops::reshape(ops::slice(ids, 1, 1, T), {B * (T - 1)});
  return ops::cross_entropy(pred, target);
}

void check_fixture(const std::string& arch, ops::ScanImpl impl) {
  const SafetensorsFile golden = open_fixture(arch);
  PretrainedInfo info;
  std::unique_ptr<LanguageModel> model = load_pretrained((kGolden / arch).string(), &info, Dtype::f64);
  model->set_scan_impl(impl);
  CHECK(info.model.arch == arch);
  const Tensor ids = golden.get("input_ids");
  const int64_t B = ids.size(0);

  // Logits, loss and the final recurrent states of a forward pass from the zero state.
  RecurrentState state = model->init_state(B, Device::cpu());
  Tensor logits = model->forward(ids, &state);
  CHECK_CLOSE(arch + " logits", logits, golden.get("logits"), kTolF64);
  Tensor loss = next_token_loss(logits, ids);
  CHECK(loss.item() == doctest::Approx(golden.get("loss").item()).epsilon(1e-12));
  for (const std::string& name : golden.names()) {
    if (!name.starts_with("final_state.")) continue;
    const size_t dot = name.find('.', 12);
    const int64_t layer = std::stoll(name.substr(12, dot - 12));
    // The references name HGRN-2's state "recurrent" and keep the last W raw conv inputs as
    // (B, C, W) where ssmlab keeps the last W-1 as (B, W-1, C).
    const std::string kind = name.substr(dot + 1);
    const Tensor reference = golden.get(name);
    const std::string ours_kind = kind == "recurrent" ? model->recurrent_state_name() : kind;
    Tensor ours = state.layers[layer].at(ours_kind);
    if (kind == "conv") {  // compare our W-1 inputs with the reference's last W-1
      ours = ops::transpose(ours, 1, 2);
      CHECK_CLOSE(arch + " " + name, ours, ops::slice(reference, 2, 1, reference.size(2)), kTolF64);
    } else {
      CHECK_CLOSE(arch + " " + name, ours, reference, kTolF64);
    }
  }

  // Every parameter's gradient, under the checkpoint's own tensor names.
  autograd::backward(loss);
  for (const NamedParameter& p : model->named_parameters()) {
    const std::string stored = "grad." + pretrained_tensor_name(info.layout, p.name);
    REQUIRE_MESSAGE(golden.contains(stored), "fixture lacks ", stored);
    CHECK_CLOSE(arch + " " + stored, p.tensor.grad(), golden.get(stored), kTolF64);
  }

  // Four plain SGD steps on the same batch reproduce the reference's loss trajectory.
  const double lr = std::stod(golden.metadata().at("sgd_lr"));
  const std::vector<double> expected = golden.get("sgd_losses").to_vector<double>();
  for (size_t step = 0; step < expected.size(); ++step) {
    for (NamedParameter& p : model->named_parameters()) p.tensor.zero_grad();
    Tensor l = next_token_loss(model->forward(ids, nullptr), ids);
    CHECK(l.item() == doctest::Approx(expected[step]).epsilon(1e-10));
    autograd::backward(l);
    autograd::NoGradGuard no_grad;
    for (NamedParameter& p : model->named_parameters()) p.tensor.copy_from(p.tensor - p.tensor.grad() * lr);
  }

  // The same checkpoint in f32, chunked and recurrent: f32 accuracy against the f64 reference.
  std::unique_ptr<LanguageModel> model32 = load_pretrained((kGolden / arch).string(), nullptr, Dtype::f32);
  autograd::NoGradGuard no_grad;
  model32->set_scan_impl(ops::ScanImpl::chunked);
  CHECK_CLOSE(arch + " f32 logits (chunked)", model32->forward(ids, nullptr), golden.get("logits"), kTolF32);
  model32->set_scan_impl(ops::ScanImpl::recurrent);
  CHECK_CLOSE(arch + " f32 logits (recurrent)", model32->forward(ids, nullptr), golden.get("logits"), kTolF32);
}

}  // namespace

TEST_CASE("Mamba-1 matches transformers' MambaForCausalLM") {
  SUBCASE("chunked") { check_fixture("mamba1", ops::ScanImpl::chunked); }
  SUBCASE("recurrent") { check_fixture("mamba1", ops::ScanImpl::recurrent); }
}
TEST_CASE("Mamba-2 matches transformers' Mamba2ForCausalLM") {
  SUBCASE("chunked") { check_fixture("mamba2", ops::ScanImpl::chunked); }
  SUBCASE("recurrent") { check_fixture("mamba2", ops::ScanImpl::recurrent); }
}
TEST_CASE("RWKV-5 matches RWKV-LM x052 (checked against BlinkDL's rwkv package)") {
  SUBCASE("chunked") { check_fixture("rwkv5", ops::ScanImpl::chunked); }
  SUBCASE("recurrent") { check_fixture("rwkv5", ops::ScanImpl::recurrent); }
}
TEST_CASE("RWKV-6 matches RWKV-LM x060 (checked against BlinkDL's rwkv package)") {
  SUBCASE("chunked") { check_fixture("rwkv6", ops::ScanImpl::chunked); }
  SUBCASE("recurrent") { check_fixture("rwkv6", ops::ScanImpl::recurrent); }
}
TEST_CASE("HGRN-2 matches flash-linear-attention's HGRN2ForCausalLM") {
  SUBCASE("chunked") { check_fixture("hgrn2", ops::ScanImpl::chunked); }
  SUBCASE("recurrent") { check_fixture("hgrn2", ops::ScanImpl::recurrent); }
}
