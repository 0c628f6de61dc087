// tests/train/test_export.cpp — train/export.h: every architecture and target that export takes
// (Mamba and Mamba-2 to hf and state-spaces, RWKV-5/6 to rwkv, HGRN-2 to fla) is loaded back by
// ssmlab with the same logits, bit for bit; the files each target needs are
// there with the keys its library reads; the byte tokenizer's tokenizer.json gives ssmlab's ids;
// and every combination a target cannot represent is refused by name, with nothing written.
// (scripts/check_exports.py opens the same exports in transformers and torch.)
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "autograd/grad_mode.h"          // defines: NoGradGuard
#include "core/safetensors.h"            // defines: load_safetensors, save_safetensors
#include "models/model_factory.h"        // defines: make_model
#include "tests/support/model_fixtures.h"  // defines: tiny_model_config, random_tokens, perturb
#include "tests/support/testing.h"
#include "train/checkpoint.h"            // defines: save_checkpoint
#include "train/config.h"                // defines: parse_config
#include "train/export.h"                // defines: export_checkpoint
#include "train/pretrained.h"            // defines: load_pretrained
#include "train/text/tokenizer.h"        // defines: make_tokenizer

using namespace ssm;
using namespace ssm::testing;
namespace fs = std::filesystem;

namespace {

const fs::path kWork = fs::temp_directory_path() / "ssmlab_test_export";

// An ssmlab checkpoint of the tiny `arch` model with perturbed weights, in kWork/<name>.
fs::path make_checkpoint(const std::string& arch, const std::string& name, double norm_eps = 1e-5,
                         double group_norm_eps = 64e-5) {
  const fs::path dir = kWork / name;
  fs::remove_all(dir);
  write_tiny_corpus(dir / "corpus", "the cat sat on the mat.\n", 4);
  Config cfg = parse_config("model: {arch: " + arch + ", d_model: 256, n_layer: 2}\n"
                            "data:\n  seq_len: 16\n  sources:\n    - {kind: text, path: " +
                                (dir / "corpus").string() + "}\ntrain: {steps: 1}\n",
                            "<test>");
  cfg.model = tiny_model_config(arch);
  cfg.model.norm_eps = norm_eps;
  cfg.model.group_norm_eps = group_norm_eps;
  std::unique_ptr<LanguageModel> model = make_model(cfg.model, 258, 11);
  perturb(*model, 21);
  save_checkpoint((dir / "ckpt").string(), *model, nullptr, cfg, {});
  return dir / "ckpt";
}

std::vector<float> logits_of(LanguageModel& model, const Tensor& tokens) {
  autograd::NoGradGuard no_grad;
  return model.forward(tokens, nullptr).to_vector<float>();
}

nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

}  // namespace

TEST_CASE("every export loads back with identical logits: Mamba, Mamba-2, RWKV-5, RWKV-6, HGRN-2") {
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"mamba1", {"hf", "state-spaces"}}, {"mamba2", {"hf", "state-spaces"}}, {"rwkv5", {"rwkv"}},
      {"rwkv6", {"rwkv"}},                {"hgrn2", {"fla"}},  {"rwkv6_fla", {"fla"}}};
  for (const auto& [name, targets] : cases) {
    // fla's RWKV-6 has one eps for the LayerNorms and ln_x (train/export.cpp): its model has them equal.
    const std::string arch = name == "rwkv6_fla" ? "rwkv6" : name;
    const fs::path ckpt = name == "rwkv6_fla" ? make_checkpoint(arch, name, 1e-5, 1e-5) : make_checkpoint(arch, arch);
    std::unique_ptr<LanguageModel> original = load_model(ckpt.string());
    const Tensor tokens = random_tokens(2, 11, 258, 5);
    const std::vector<float> expected = logits_of(*original, tokens);
    for (const std::string& target : targets) {
      INFO(arch, " --to ", target);
      const fs::path out = kWork / (name + "_" + target);
      fs::remove_all(out);
      const ExportResult r = export_checkpoint(ckpt.string(), target, out.string());
      for (const std::string& f : r.files) CHECK(fs::exists(out / f));
      CHECK(fs::exists(out / "README.md"));
      PretrainedInfo info;
      std::unique_ptr<LanguageModel> back = load_pretrained(out.string(), &info);
      CHECK(info.layout == (target == "hf" ? "hf-mamba" : name == "rwkv6_fla" ? "fla-rwkv6" : target));
      CHECK(info.model.arch == arch);
      CHECK(logits_of(*back, tokens) == expected);  // bit for bit

      const nlohmann::json cfg = read_json(out / "config.json");
      if (target == "hf") {
        CHECK(cfg["model_type"] == (arch == "mamba2" ? "mamba2" : "mamba"));
        CHECK(cfg["hidden_size"] == 8);
        CHECK(cfg["tie_word_embeddings"] == true);
        CHECK(cfg["eos_token_id"] == 256);
        if (arch == "mamba2") {
          CHECK(cfg["num_heads"] == 2 * 8 / 4);  // expand · d_model / headdim
          CHECK(cfg["n_groups"] == 2);
        }
        CHECK(fs::exists(out / "tokenizer_config.json"));
        CHECK(!fs::exists(out / "pytorch_model.bin"));
      } else if (target == "state-spaces") {
        CHECK(cfg["ssm_cfg"]["layer"] == (arch == "mamba2" ? "Mamba2" : "Mamba1"));
        CHECK(cfg["d_intermediate"] == 0);
        CHECK(fs::exists(out / "pytorch_model.bin"));
      } else if (target == "fla" && arch == "hgrn2") {
        CHECK(cfg["model_type"] == "hgrn2");
        CHECK(cfg["num_heads"] == 2);  // d_model 8 / headdim 4
        CHECK(cfg["expand_ratio"] == 4);
        CHECK(cfg["intermediate_size"] == 12);
        CHECK(fs::exists(out / "tokenizer_config.json"));
      } else if (target == "fla") {
        CHECK(cfg["model_type"] == "rwkv6");
        CHECK(cfg["num_heads"] == 2);
        CHECK(cfg["proj_low_rank_dim"] == 2);
        CHECK(cfg["gate_low_rank_dim"] == 3);
        CHECK(cfg["norm_eps"] == 1e-5);
      } else {
        CHECK(cfg["architecture"] == arch);
        CHECK(cfg["head_size"] == 4);
        CHECK(fs::exists(out / "model.pth"));
      }
    }
  }
}

TEST_CASE("an fla RWKV-6 checkpoint with a tensor the mapping does not use is refused by name") {
  const fs::path ckpt = make_checkpoint("rwkv6", "fla_extra", 1e-5, 1e-5);
  const fs::path out = kWork / "fla_extra_export";
  fs::remove_all(out);
  export_checkpoint(ckpt.string(), "fla", out.string());
  std::vector<std::pair<std::string, Tensor>> tensors;
  {
    const SafetensorsFile file = load_safetensors((out / "model.safetensors").string());
    for (const std::string& name : file.names()) tensors.emplace_back(name, file.get(name).clone_contiguous());
  }
  tensors.emplace_back("model.layers.1.attn.extra_proj.weight", Tensor::zeros({4, 4}));
  save_safetensors((out / "model.safetensors").string(), tensors);
  CHECK_THROWS_WITH_AS(load_pretrained(out.string()),
                       doctest::Contains("'model.layers.1.attn.extra_proj.weight' (4, 4) has no place in ssmlab's rwkv6"),
                       UserError);
}

TEST_CASE("the byte tokenizer's tokenizer.json gives ssmlab's byte ids") {
  const fs::path ckpt = make_checkpoint("mamba2", "tokenizer");
  const fs::path out = kWork / "tokenizer_hf";
  fs::remove_all(out);
  export_checkpoint(ckpt.string(), "hf", out.string());
  std::unique_ptr<Tokenizer> exported = make_tokenizer((out / "tokenizer.json").string());
  std::unique_ptr<Tokenizer> bytes = make_tokenizer("byte");
  // Every byte value, and multi-byte UTF-8. (The one difference: a tokenizer.json matches its
  // special tokens in the text, so the literal text "<|endoftext|>" becomes id 256 there.)
  std::string text = "Stuffed Mamba: état, ä \xF0\x9F\x90\x8D\n\t";
  for (int b = 0; b < 256; ++b) text += static_cast<char>(b);
  CHECK(exported->encode(text) == bytes->encode(text));
  CHECK(exported->eos_id() == 256);
}

TEST_CASE("what a target cannot represent is refused by name, and nothing is written") {
  const fs::path rwkv = make_checkpoint("rwkv6", "rwkv6");
  const fs::path out = kWork / "refused";
  fs::remove_all(out);
  CHECK_THROWS_WITH_AS(export_checkpoint(rwkv.string(), "hf", out.string()),
                       doctest::Contains("transformers has no rwkv6 model"), UserError);
  CHECK_THROWS_WITH_AS(export_checkpoint(rwkv.string(), "fla", out.string()),
                       doctest::Contains("fla's RWKV-6 has one eps for both"), UserError);
  CHECK_THROWS_WITH_AS(export_checkpoint(make_checkpoint("hgrn2", "hgrn2_refused").string(), "rwkv", out.string()),
                       doctest::Contains("--to rwkv takes rwkv5 and rwkv6 checkpoints, not hgrn2"), UserError);
  CHECK_THROWS_WITH_AS(export_checkpoint(make_checkpoint("rwkv5", "rwkv5_eps", 1e-6).string(), "rwkv", out.string()),
                       doctest::Contains("must be 1e-5 and 64e-5"), UserError);
  CHECK_THROWS_WITH_AS(export_checkpoint(rwkv.string(), "onnx", out.string()),
                       doctest::Contains("unknown target 'onnx'"), UserError);
  const fs::path eps = make_checkpoint("mamba2", "eps", 1e-6);
  CHECK_THROWS_WITH_AS(export_checkpoint(eps.string(), "state-spaces", out.string()),
                       doctest::Contains("norm_eps"), UserError);
  CHECK(!fs::exists(out));

  const fs::path mamba = make_checkpoint("mamba2", "occupied");
  fs::create_directories(out);
  std::ofstream(out / "keep.txt") << "mine";
  CHECK_THROWS_WITH_AS(export_checkpoint(mamba.string(), "hf", out.string()),
                       doctest::Contains("not an empty directory; nothing was written"), UserError);
  CHECK(fs::exists(out / "keep.txt"));
  CHECK(!fs::exists(out / "model.safetensors"));
  CHECK_THROWS_WITH_AS(export_checkpoint(out.string(), "hf", (kWork / "x").string()),
                       doctest::Contains("not an ssmlab checkpoint"), UserError);
}
