// tests/fuzz/fuzz_pretrained.cpp — libFuzzer harness: a public checkpoint directory
// (train/pretrained.h): its config.json and the names, dtypes and shapes of its tensors. The input
// is the config.json text, a line "--tensors--", then one tensor a line: "<name> <dtype> <dims...>"
// (e.g. "backbone.embeddings.weight F32 64 32"); the harness writes model.safetensors with those
// tensors (small constant values) and loads the directory as `ssmlab capacity --model` does.
// An empty config part means no config.json (the RWKV .pth layout). A checkpoint that loads must
// run: one forward pass of a few tokens, whose logits have the vocabulary it reported.
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/safetensors.h"          // defines: save_safetensors
#include "tests/fuzz/fuzz_support.h"   // defines: refuse_only_with_errors, write_scratch, property_failed
#include "train/pretrained.h"          // defines: load_pretrained

namespace {

constexpr int64_t kMaxElements = int64_t{1} << 20;  // per input: keeps every execution fast
constexpr std::string_view kSeparator = "\n--tensors--\n";

// The tensors of the input, or false when the list is not one the harness can write (a bad
// dtype, a negative or huge dimension): such inputs are the harness's, not ssmlab's, concern.
bool parse_tensors(const std::string& text, std::vector<std::pair<std::string, ssm::Tensor>>& out) {
  using namespace ssm;
  static const std::map<std::string, Dtype> dtypes = {{"F32", Dtype::f32}, {"F64", Dtype::f64},
                                                     {"BF16", Dtype::bf16}, {"F16", Dtype::f16},
                                                     {"I32", Dtype::i32}, {"I64", Dtype::i64}};
  std::istringstream lines(text);
  std::string line;
  int64_t total = 0;
  std::map<std::string, bool> seen;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string name, dtype;
    if (!(fields >> name)) continue;
    // Names in printable ASCII: the safetensors writer (JSON) needs valid UTF-8, and no ssmlab
    // or published tensor name is anything else.
    for (char c : name) if (c < 0x21 || c > 0x7e) return false;
    if (!(fields >> dtype) || !dtypes.count(dtype) || seen[name] || name == "__metadata__") return false;
    seen[name] = true;
    Shape shape;
    int64_t d = 0;
    while (fields >> d) {
      if (d < 0 || d > kMaxElements || shape.size() >= 8) return false;
      shape.push_back(d);
    }
    if (!fields.eof()) return false;
    int64_t n = 1;
    for (int64_t v : shape) n = v == 0 ? 0 : (n > kMaxElements / v ? kMaxElements + 1 : n * v);
    total += n;
    if (n > kMaxElements || total > kMaxElements) return false;
    out.emplace_back(name, Tensor::full(shape, 0.015625, dtypes.at(dtype)));
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ssm;
  const std::string text(fuzz::as_text(data, size));
  const size_t cut = text.find(kSeparator);
  const std::string config = text.substr(0, cut);
  std::vector<std::pair<std::string, Tensor>> tensors;
  if (cut != std::string::npos && !parse_tensors(text.substr(cut + kSeparator.size()), tensors)) return 0;

  const std::filesystem::path dir = fuzz::scratch_dir() / "pretrained";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  if (config.find_first_not_of(" \t\r\n") != std::string::npos) fuzz::write_scratch("pretrained/config.json", config);
  if (cut != std::string::npos) save_safetensors((dir / "model.safetensors").string(), tensors);

  fuzz::refuse_only_with_errors([&] {
    PretrainedInfo info;
    const std::unique_ptr<LanguageModel> model = load_pretrained(dir.string(), &info);
    const int64_t v = model->vocab_size();
    if (v <= 0) fuzz::property_failed("a model with no vocabulary loaded");
    const Tensor tokens = Tensor::from_vector<int64_t>({0, 1 % v, 2 % v}, {1, 3});
    const Tensor logits = model->forward(tokens, nullptr);
    if (logits.shape() != Shape{1, 3, model->vocab_size()}) {
      fuzz::property_failed("logits of shape " + shape_str(logits.shape()) + " from a model that loaded");
    }
  });
  return 0;
}
