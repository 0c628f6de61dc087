// eval/eval_text.h — the long inputs evaluations read (docs/paper_protocols.md): documents from a text or
// JSON Lines corpus, the paper's synthetic prompts, and their fitting to a token length.
//
//   corpus      a .txt file (one document), a .jsonl file (one document per line: its "text"
//               field, else "raw_content" or "content"), or a directory of such files (sorted by
//               name; each .txt is one document)
//   synthetic   "newlines": 300,000 newline characters; "capital": "The capital of China is
//               Beijing. The capital of USA is Washington. The capital of Norway is Oslo. " 2000
//               times — the authors' literal prompts
//   fitting     a text is tokenized with the model's tokenizer, repeated when too short (the
//               authors repeat the string) and cut to the length in tokens
//   sequences   evaluation sequences of exactly L tokens: documents in order; one of at least L
//               tokens is its own sequence (its first L tokens), shorter ones are concatenated
//               with EOS between them until L is reached (the paper's App. F). Every sequence
//               starts at a document start; a corpus shorter than L in total is repeated.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "train/config.h"     // defines: Config
#include "train/text/tokenizer.h"  // defines: Tokenizer, TokenId

namespace ssm {

// UserError naming `path` (and the line) when it cannot be read or holds no documents.
std::vector<std::string> read_documents(const std::string& path);

bool is_synthetic_prompt(const std::string& name);  // "newlines" or "capital"
// UserError listing the names for anything else.
std::string synthetic_prompt(const std::string& name);

// `text` tokenized, repeated as a string until long enough, and cut to exactly `length` tokens.
std::vector<TokenId> fit_to_length(const Tokenizer& tokenizer, const std::string& text, int64_t length);

struct EvalSequences {
  std::vector<std::vector<TokenId>> sequences;  // each exactly `length` tokens
  int64_t documents_used = 0;
  bool repeated = false;  // the corpus was shorter than one sequence and was repeated
};
// At most `count` sequences of `length` tokens (see above). UserError if `docs` is empty.
EvalSequences build_eval_sequences(const std::vector<std::vector<TokenId>>& docs, int64_t length, int64_t count,
                                   TokenId eos);

// The held-out documents of an ssmlab checkpoint's text and bible sources (its data.valid_fraction,
// at least 1%), longest first. UserError when the config has no text source.
std::vector<std::vector<TokenId>> held_out_documents(const Config& config, const Tokenizer& tokenizer);

}  // namespace ssm
