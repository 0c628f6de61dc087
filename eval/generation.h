// eval/generation.h — continuing a prompt token by token on the recurrent path (what `ssmlab
// generate` runs), with the mitigations of the evaluation commands, and the text as it becomes
// printable.
//
// The prompt is read in chunks (StateStream::feed), then every new token is one recurrent step:
// the cost per token is constant however long the text grows, which is the point of a recurrent
// model and what lets a user watch a generation run far past the training length.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "eval/mitigations.h"       // defines: Mitigations
#include "eval/sampling.h"          // defines: SamplingOptions
#include "models/language_model.h"  // defines: LanguageModel, Device
#include "train/text/tokenizer.h"   // defines: Tokenizer, TokenId

namespace ssm {

// Turns tokens into text as soon as it is final. A token may end inside a UTF-8 character (a
// byte tokenizer, byte-level BPE), so an incomplete character at the end, or a trailing U+FFFD a
// decoder wrote for one, is held back until the next token completes it. Decoding is done over a
// short window of recent tokens, with a few already-printed ones kept in front as context, so
// the cost per token stays constant and decoders that treat a text's first token specially
// (SentencePiece's leading space) see the same context as a full decode.
class IncrementalDecoder {
 public:
  explicit IncrementalDecoder(const Tokenizer& tokenizer) : tokenizer_(tokenizer) {}
  std::string push(TokenId id);  // the text that became final with `id` (often "", sometimes more)
  std::string flush();           // whatever is still held back

 private:
  const Tokenizer& tokenizer_;
  std::vector<TokenId> window_;  // context tokens, then the tokens not yet fully printed
  size_t printed_ = 0;           // bytes of decode(window_) already returned
};

struct GenerateOptions {
  SamplingOptions sampling;
  int64_t max_new_tokens = 256;
  bool stop_at_eos = true;      // the tokenizer's EOS (the document separator) ends the text
  int64_t prefill_chunk = 2048; // prompt tokens per forward call
};

struct GenerateResult {
  std::vector<TokenId> tokens;  // the new tokens, EOS included when it ended the text
  int64_t prompt_tokens = 0;
  bool stopped_at_eos = false;
  double prefill_seconds = 0, decode_seconds = 0;
};

// Feeds `prompt` (at least one token) and generates up to max_new_tokens; `on_text` receives the
// text as it becomes final (IncrementalDecoder), the EOS token's text excluded.
GenerateResult generate(LanguageModel& model, const Tokenizer& tokenizer, Device device,
                        const Mitigations& mitigations, const std::vector<TokenId>& prompt,
                        const GenerateOptions& options, const std::function<void(const std::string&)>& on_text);

}  // namespace ssm
