// train/text/bpe_pipeline.h — the text steps around a BPE model, as the reference library (Hugging Face
// tokenizers) defines them: normalizers, the two pre-tokenizers (ByteLevel with the GPT-2 split
// pattern; Metaspace), and the decoder chain. Pure functions of text; no files, no vocabulary.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "train/text/tokenizer_json.h"  // defines: NormalizerStep, PreTokenizerSpec, DecoderStep

namespace ssm::bpe {

// Applies the steps in order (NFC, Prepend to non-empty text, plain-string Replace).
std::string normalize(const std::vector<NormalizerStep>& steps, std::string_view text);

// The GPT-2 split pattern of the ByteLevel pre-tokenizer, with Unicode classes:
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// Returns consecutive pieces of `text` that together cover it.
std::vector<std::string_view> split_gpt2(std::string_view text);

// Byte-level alphabet (GPT-2's bytes_to_unicode): each byte becomes one printable character.
std::string to_byte_level(std::string_view bytes);

// The pre-tokenizer on one piece of normalized text; `at_text_start` says whether the piece starts
// the original text (Metaspace's "first" scheme). Words come back in the model's alphabet.
void pre_tokenize(const PreTokenizerSpec& spec, std::string_view piece, bool at_text_start,
                  std::vector<std::string>& words);

// Runs the decoder chain over token strings and joins the result; with no decoder (`has_decoder`
// false) tokens are joined with single spaces.
std::string decode_tokens(bool has_decoder, const std::vector<DecoderStep>& steps, std::vector<std::string> tokens);

}  // namespace ssm::bpe
