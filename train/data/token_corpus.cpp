// train/data/token_corpus.cpp — document tables over a token file (see token_corpus.h).
#include "train/data/token_corpus.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"  // defines: UserError, SSM_CHECK

namespace ssm {

namespace {

// How many of n documents (or tokens) are held out: ceil(fraction · n), at least one when the
// fraction is positive, and never all of them.
int64_t held_out_count(double valid_fraction, int64_t n) {
  if (valid_fraction <= 0 || n < 2) return 0;
  const int64_t k = static_cast<int64_t>(std::ceil(valid_fraction * static_cast<double>(n)));
  return std::clamp<int64_t>(k, 1, n - 1);
}

}  // namespace

DocumentStream::DocumentStream(TokenFile file, std::vector<DocumentRange> docs, TokenId eos)
    : file_(std::move(file)), docs_(std::move(docs)), eos_(eos) {
  starts_.reserve(docs_.size() + 1);
  int64_t at = 0;
  for (const DocumentRange& d : docs_) {
    starts_.push_back(at);
    at += d.end - d.begin + 1;  // + its EOS
  }
  starts_.push_back(at);
}

void DocumentStream::copy(int64_t start, int64_t n, std::vector<int64_t>& out) const {
  SSM_CHECK(start >= 0 && n >= 0 && start + n <= size(), "DocumentStream::copy [", start, ", ", start + n,
            ") outside a stream of ", size());
  // The document holding `start`: the last one whose stream offset is <= start.
  size_t d = static_cast<size_t>(std::upper_bound(starts_.begin(), starts_.end(), start) - starts_.begin()) - 1;
  int64_t pos = start;
  std::vector<TokenId> piece;
  for (const int64_t stop = start + n; pos < stop; ++d) {
    const DocumentRange& doc = docs_[d];
    const int64_t doc_len = doc.end - doc.begin;
    const int64_t i = pos - starts_[d];
    // One read for the part of this document the window covers, then its EOS if covered too.
    const int64_t take = std::min(doc_len - i, stop - pos);
    if (take > 0) {
      piece.resize(static_cast<size_t>(take));
      file_.read(doc.begin + i, take, piece.data());
      out.insert(out.end(), piece.begin(), piece.end());
      pos += take;
    }
    if (pos < stop) {
      out.push_back(eos_);
      ++pos;
    }
  }
}

std::vector<TokenId> DocumentStream::document(size_t i) const {
  SSM_CHECK(i < docs_.size(), "DocumentStream::document(", i, ") of ", docs_.size());
  std::vector<TokenId> out(static_cast<size_t>(docs_[i].end - docs_[i].begin));
  file_.read(docs_[i].begin, static_cast<int64_t>(out.size()), out.data());
  return out;
}

std::vector<TokenId> DocumentStream::tokens() const {
  std::vector<int64_t> wide;
  copy(0, size(), wide);
  return std::vector<TokenId>(wide.begin(), wide.end());
}

TokenCorpus split_token_corpus(const TokenFile& file, TokenId eos, int64_t min_doc_tokens, double valid_fraction,
                               const std::string& key, const std::string& name) {
  TokenCorpus corpus;
  corpus.name = name;
  std::vector<DocumentRange> docs;
  const bool has_separator = file.separator() != kNoSeparator;
  const TokenId separator = static_cast<TokenId>(file.separator());
  int64_t begin = 0;
  int64_t all_docs = 0;
  auto close_document = [&](int64_t end) {
    if (end > begin) {
      ++all_docs;
      if (end - begin >= min_doc_tokens) {
        docs.push_back({begin, end});
      } else {
        ++corpus.dropped_docs;
      }
    }
  };
  if (has_separator) {
    file.scan([&](int64_t i, TokenId id) {
      if (id == separator) {
        close_document(i);
        begin = i + 1;
      }
    });
  }
  close_document(file.size());
  SSM_USER_CHECK(all_docs > 0, key, ".path: '", name, "' holds no text (empty corpus)");
  SSM_USER_CHECK(!docs.empty(), key, ": all ", all_docs, " documents of '", name, "' are shorter than min_doc_tokens (",
                 min_doc_tokens, ")");

  std::vector<DocumentRange> valid;
  if (docs.size() == 1) {
    // One document (one big file): hold out its tail instead.
    DocumentRange& doc = docs.front();
    const int64_t tail = held_out_count(valid_fraction, doc.end - doc.begin);
    if (tail > 0) {
      valid.push_back({doc.end - tail, doc.end});
      doc.end -= tail;
    }
  } else {
    const int64_t held_out = held_out_count(valid_fraction, static_cast<int64_t>(docs.size()));
    valid.assign(docs.end() - held_out, docs.end());
    docs.resize(docs.size() - static_cast<size_t>(held_out));
  }
  corpus.train = DocumentStream(file, std::move(docs), eos);
  corpus.valid = DocumentStream(file, std::move(valid), eos);
  return corpus;
}

}  // namespace ssm
