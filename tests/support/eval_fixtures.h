// tests/support/eval_fixtures.h — models and text the evaluation tests share: a tiny real Mamba-2, and a
// scripted fake language model whose next token is any chosen function of everything it has
// read, so passkey bookkeeping, scoring and searches can be tested against known answers.
//
// The fake model keeps its whole history in its recurrent state (an i64 tensor: length, then the
// tokens), so snapshots and restores of the state are exact, as they must be for a real model.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "models/language_model.h"
#include "models/mamba2.h"
#include "train/text/tokenizer.h"

namespace ssm::testing {

inline Mamba2Model tiny_mamba2(int64_t layers = 2, uint64_t seed = 5) {
  ModelConfig cfg;
  cfg.d_model = 16;
  cfg.n_layer = layers;
  cfg.d_state = 8;
  cfg.headdim = 8;
  cfg.chunk_size = 8;
  return Mamba2Model(cfg, 258, seed);
}

inline std::vector<TokenId> some_text(size_t n) {
  std::string text;
  while (text.size() < n) text += "The grass is green. The sky is blue. In the beginning was the word. ";
  text.resize(n);
  return ByteTokenizer().encode(text);
}

class ScriptedModel : public LanguageModel {
 public:
  using Policy = std::function<TokenId(const std::vector<TokenId>& history)>;
  explicit ScriptedModel(Policy policy, int64_t capacity = 1 << 15) : policy_(std::move(policy)), capacity_(capacity) {}

  std::string architecture() const override { return "scripted"; }
  int64_t vocab_size() const override { return 258; }
  int64_t num_layers() const override { return 1; }
  std::string recurrent_state_name() const override { return "history"; }
  std::vector<std::string> state_axis_names() const override { return {"i"}; }  // (B, 1, capacity + 1)
  bool has_delta() const override { return false; }
  RecurrentState init_state(int64_t batch, Device device) const override {
    RecurrentState state;
    state.layers.push_back(LayerState{{"history", Tensor::zeros({batch, 1, capacity_ + 1}, Dtype::i64, device)}});
    return state;
  }
  std::vector<NamedParameter> named_parameters() override { return {}; }
  int64_t forwards = 0;  // forward calls so far (steps included)
  int64_t tokens_read = 0;

  Tensor forward(const Tensor& tokens, RecurrentState* state, const ForwardOptions& options) override {
    ++forwards;
    std::vector<int64_t> h = state ? state->layers[0].at("history").to_vector<int64_t>()
                                   : std::vector<int64_t>(static_cast<size_t>(capacity_ + 1), 0);
    std::vector<TokenId> history(h.begin() + 1, h.begin() + 1 + h[0]);
    const std::vector<int64_t> ids = tokens.to_vector<int64_t>();
    const int64_t T = static_cast<int64_t>(ids.size()), V = vocab_size();
    std::vector<float> logits(static_cast<size_t>(T * V), 0.0f);
    for (int64_t t = 0; t < T; ++t) {
      history.push_back(static_cast<TokenId>(ids[t]));
      logits[static_cast<size_t>(t * V + policy_(history))] = 10.0f;
    }
    tokens_read += T;
    if (state) {
      h[0] = static_cast<int64_t>(history.size());
      for (size_t i = 0; i < history.size(); ++i) h[i + 1] = history[i];
      state->layers[0]["history"] = Tensor::from_vector(h, {1, 1, capacity_ + 1});
    }
    return Tensor::from_vector(logits, {1, T, V});
  }

 private:
  Policy policy_;
  int64_t capacity_;
};

// A policy that answers a passkey prompt perfectly when succeed(needle block, number of blocks)
// says so, else with "99999x": after the question it spells " <key>" (the 5 digits after the
// first "The passkey is "), then EOS; before the question it predicts a space.
inline ScriptedModel::Policy passkey_policy(std::function<bool(int64_t needle_block, int64_t blocks)> succeed) {
  return [succeed](const std::vector<TokenId>& h) -> TokenId {
    const std::string text(h.begin(), h.end());  // byte ids 0..255 are the bytes
    const std::string question = "What is the pass key? The passkey is";
    const size_t q = text.find(question);
    if (q == std::string::npos) return ' ';
    const size_t needle = text.find("The passkey is ");
    auto blocks_in = [&](size_t from, size_t to) {
      int64_t n = 0;
      for (size_t at = text.find("The grass is green.", from); at < to; at = text.find("The grass is green.", at + 1)) ++n;
      return n;
    };
    const int64_t before = blocks_in(0, needle), after = blocks_in(needle, q);
    const std::string key = text.substr(needle + 15, 5);
    const std::string answer = " " + (succeed(before, before + after + 1) ? key : std::string("99999x"));
    const size_t written = text.size() - (q + question.size());
    return written < answer.size() ? static_cast<TokenId>(static_cast<unsigned char>(answer[written]))
                                   : ByteTokenizer::kEos;
  };
}

}  // namespace ssm::testing
