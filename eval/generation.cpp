// eval/generation.cpp — prompt continuation on the recurrent path (eval/generation.h).
#include "eval/generation.h"

#include <chrono>

#include "core/error.h"          // defines: SSM_USER_CHECK
#include "eval/state_stream.h"   // defines: StateStream (which runs without autograd)

namespace ssm {
namespace {

// Bytes at the end of `text` that cannot be printed yet: an incomplete UTF-8 sequence, or
// replacement characters (U+FFFD, EF BF BD) a decoder wrote for bytes that may still complete.
size_t held_back_bytes(const std::string& text) {
  size_t end = text.size();
  while (end >= 3 && text.compare(end - 3, 3, "\xEF\xBF\xBD") == 0) end -= 3;
  // The last lead byte within the last 4 bytes, and how many bytes its character needs.
  for (size_t back = 1; back <= 4 && back <= end; ++back) {
    const auto byte = static_cast<unsigned char>(text[end - back]);
    if ((byte & 0xC0) == 0x80) continue;  // a continuation byte: look further back
    const size_t need = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1;
    if (back < need) end -= back;
    break;
  }
  return text.size() - end;
}

constexpr size_t kContextTokens = 4;  // printed tokens kept in front of the window
constexpr size_t kMaxWindow = 64;     // tokens decoded per push, at most (then the window slides)

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

std::string IncrementalDecoder::push(TokenId id) {
  window_.push_back(id);
  const std::string text = tokenizer_.decode(window_);
  const size_t ready = text.size() - held_back_bytes(text);
  std::string out = ready > printed_ ? text.substr(printed_, ready - printed_) : "";
  printed_ = std::max(printed_, ready);
  // Everything printed and the window long: keep only a little context, whose decode is what has
  // been printed of it.
  if (printed_ == text.size() && window_.size() >= kMaxWindow) {
    window_.erase(window_.begin(), window_.end() - kContextTokens);
    printed_ = tokenizer_.decode(window_).size();
  }
  return out;
}

std::string IncrementalDecoder::flush() {
  const std::string text = tokenizer_.decode(window_);
  std::string out = text.size() > printed_ ? text.substr(printed_) : "";
  printed_ = text.size();
  return out;
}

GenerateResult generate(LanguageModel& model, const Tokenizer& tokenizer, Device device,
                        const Mitigations& mitigations, const std::vector<TokenId>& prompt,
                        const GenerateOptions& options, const std::function<void(const std::string&)>& on_text) {
  SSM_USER_CHECK(!prompt.empty(), "generate: the prompt has no tokens");
  SSM_USER_CHECK(options.max_new_tokens >= 0, "--max-new-tokens must be >= 0, got ", options.max_new_tokens);
  TokenSampler sampler(options.sampling, tokenizer.vocab_size());
  StateStream stream(model, device, mitigations, options.prefill_chunk);
  GenerateResult result;
  result.prompt_tokens = static_cast<int64_t>(prompt.size());

  auto start = std::chrono::steady_clock::now();
  Tensor logits = stream.feed(prompt);
  TokenId next = options.max_new_tokens > 0 ? sampler.next(logits) : 0;  // reads the logits: the work is done
  result.prefill_seconds = seconds_since(start);

  start = std::chrono::steady_clock::now();
  IncrementalDecoder decoder(tokenizer);
  for (int64_t i = 0; i < options.max_new_tokens; ++i) {
    result.tokens.push_back(next);
    if (options.stop_at_eos && next == tokenizer.eos_id()) {
      result.stopped_at_eos = true;
      break;
    }
    if (on_text) on_text(decoder.push(next));
    if (i + 1 == options.max_new_tokens) break;  // no step for a token nobody will read
    next = sampler.next(stream.step(next));
  }
  if (on_text) on_text(decoder.flush());
  result.decode_seconds = seconds_since(start);
  return result;
}

}  // namespace ssm
