// train/data/token_corpus.h — a token file seen as documents: which are kept, which are held out, and
// the stream the sampler draws windows from.
//
// Documents are the runs between separators (train/data/token_file.h). Those shorter than
// min_doc_tokens are dropped (the paper keeps only documents of 4K tokens or more). Of the n
// kept documents the last ceil(valid_fraction · n) are held out for validation (at least one
// when valid_fraction > 0 and n >= 2); a single document holds out its last
// ceil(valid_fraction · length) tokens instead, so one-file corpora can be validated too.
// A DocumentStream is its documents joined with an EOS after each, without copying: it indexes
// ranges of the token file (read as windows are drawn), so a corpus far larger than memory costs only its document table.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "train/data/token_file.h"  // defines: TokenFile
#include "train/text/tokenizer.h"   // defines: TokenId

namespace ssm {

struct DocumentRange {
  int64_t begin = 0, end = 0;  // the document's tokens [begin, end) in the file (no separator)
};

class DocumentStream {
 public:
  DocumentStream() = default;
  DocumentStream(TokenFile file, std::vector<DocumentRange> docs, TokenId eos);

  int64_t size() const { return starts_.empty() ? 0 : starts_.back(); }  // tokens, EOS included
  bool empty() const { return docs_.empty(); }
  size_t num_docs() const { return docs_.size(); }
  // Appends stream tokens [start, start + n) to `out`.
  void copy(int64_t start, int64_t n, std::vector<int64_t>& out) const;
  std::vector<TokenId> document(size_t i) const;  // without its EOS
  std::vector<TokenId> tokens() const;            // the whole stream (tests, small corpora)

 private:
  TokenFile file_;
  std::vector<DocumentRange> docs_;
  std::vector<int64_t> starts_;  // stream offset of each document; one more entry = size
  TokenId eos_ = 0;
};

struct TokenCorpus {
  std::string name;           // the source's path
  DocumentStream train, valid;
  int64_t dropped_docs = 0;   // shorter than min_doc_tokens
};

// Splits `file` into documents as described above. `key` names the source in errors (no
// documents at all, or none left after dropping the short ones).
TokenCorpus split_token_corpus(const TokenFile& file, TokenId eos, int64_t min_doc_tokens, double valid_fraction,
                               const std::string& key, const std::string& name);

}  // namespace ssm
