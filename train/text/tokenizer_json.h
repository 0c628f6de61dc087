// train/text/tokenizer_json.h — reads a Hugging Face tokenizer.json into plain structs: the BPE model's
// vocabulary, merges and options, the added tokens, and the normalizer, pre-tokenizer, decoder and
// post-processor steps this project supports. Validation lives here, once: whatever the file holds
// that the project does not implement (another model type, an unknown normalizer, ...) is a
// UserError naming the file and the component. Running the steps is bpe_pipeline.h's job.
//
// Supported, which covers the GPT-2/GPT-NeoX byte-level and the Llama/Mistral SentencePiece-BPE
// files:
//   model          BPE (no dropout, no subword prefix/suffix), merges as "a b" or ["a", "b"]
//   normalizer     NFC, Prepend, Replace (plain string), Sequence of these
//   pre_tokenizer  ByteLevel, Metaspace (a Sequence holding one of them)
//   decoder        ByteLevel, Metaspace, Replace (plain string), ByteFallback, Fuse, Strip, Sequence
//   post_processor ByteLevel, TemplateProcessing, Sequence of these (read only for the BOS token)
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "train/text/bpe_model.h"  // defines: Vocab, BpeOptions
#include "train/text/tokenizer.h"  // defines: TokenId

namespace ssm {

// An added token's id is the file's "id" field. (The reference library re-derives it: the model's
// id when the content is in the model vocabulary, else the next id after the model's entries. The
// two agree on every consistent file; a content whose model id differs is rejected.)
struct AddedToken {
  TokenId id;
  std::string content;
  bool special;     // dropped when decoding
  bool normalized;  // matched in the normalized text (else in the raw text, before normalizing)
};

struct NormalizerStep {
  enum class Kind { kNfc, kPrepend, kReplace } kind;
  std::string text;  // Prepend: what to put in front of non-empty text; Replace: the pattern
  std::string with;  // Replace: the replacement
};

enum class PrependScheme { kAlways, kFirst, kNever };

struct PreTokenizerSpec {
  enum class Kind { kNone, kByteLevel, kMetaspace } kind = Kind::kNone;
  bool add_prefix_space = false;  // ByteLevel: a space in front of each piece not starting with one
  bool use_regex = true;          // ByteLevel: split with the GPT-2 pattern
  std::string replacement;        // Metaspace: the character that stands for a space ("▁")
  PrependScheme prepend = PrependScheme::kAlways;  // Metaspace
  bool split = true;                               // Metaspace: split before each replacement
};

struct DecoderStep {
  enum class Kind { kByteLevel, kMetaspace, kReplace, kByteFallback, kFuse, kStrip } kind;
  std::string pattern, content;  // Replace: pattern -> content; Strip: content (one character);
                                 // Metaspace: content is the replacement character
  int start = 0, stop = 0;       // Strip: how many leading / trailing `content` to remove
  PrependScheme prepend = PrependScheme::kAlways;  // Metaspace
};

struct TokenizerJson {
  std::string path;
  Vocab vocab;
  std::vector<std::pair<std::string, std::string>> merges;  // in rank order
  BpeOptions bpe;
  std::vector<AddedToken> added;
  std::vector<NormalizerStep> normalizer;
  PreTokenizerSpec pre_tokenizer;
  bool has_decoder = false;  // without one, tokens are joined with spaces (the reference's rule)
  std::vector<DecoderStep> decoder;
  TokenId template_bos = -1;  // the special token the post-processor puts first, -1 if none
};

// UserError naming `path` when it cannot be read, is not JSON, or holds anything unsupported.
TokenizerJson read_tokenizer_json(const std::string& path);

}  // namespace ssm
