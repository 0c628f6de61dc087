// train/data/token_file.h — the ssmlab token file: a pre-tokenized corpus on disk, read with pread.
//
// It is both an input format (data.sources[i].kind: tokens) and the format of the tokenization
// cache (train/data/corpus_cache.h). Layout, all integers little-endian:
//
//   offset  size  field
//        0     8  magic "SSMLTOK1"
//        8     4  version (uint32) = 1
//       12     4  token width in bytes (uint32): 2 = uint16 ids, 4 = uint32 ids
//       16     8  count (uint64): number of tokens after the header
//       24     4  document separator id (uint32); 0xFFFFFFFF = none (the file is one document)
//       28     4  vocabulary size the ids were made for (uint32); 0 = not recorded
//       32     -  count tokens of the given width
//
// The file size must be exactly 32 + count · width. Documents are the runs of tokens between
// separators (each separator ends a document; empty runs are no documents). The ids must be
// below the tokenizer's vocabulary size; opening checks every one of them, so a corrupt or
// truncated file is a one-line UserError naming the path and what is wrong, never a crash later.
// Tokens are read with pread, not through a mapping: a file truncated while training reads it
// is then a UserError ("the file changed while it was read"), where a mapping would die of
// SIGBUS. Training reads one window per sequence, so the system call costs nothing measurable.
//
// Writing from Python (numpy), for a list of documents `docs` of ids and separator `eos`:
//   ids = np.concatenate([np.append(d, eos) for d in docs]).astype(np.uint16)
//   header = b"SSMLTOK1" + struct.pack("<IIQII", 1, 2, len(ids), eos, vocab_size)
//   open("corpus.tok", "wb").write(header + ids.tobytes())
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "train/text/tokenizer.h"  // defines: TokenId

namespace ssm {

constexpr uint32_t kNoSeparator = 0xFFFFFFFFu;
constexpr size_t kTokenFileHeaderBytes = 32;

// A read-only token file. Cheap to copy (the open descriptor is shared).
class TokenFile {
 public:
  // Opens and validates `path` (a regular file only: core/regular_file.h). `vocab_size` > 0:
  // every id must be below it. `what` names the file in messages (e.g. "data.sources[0].path
  // 'x.tok'").
  static TokenFile open(const std::string& path, int64_t vocab_size, const std::string& what);

  int64_t size() const { return count_; }
  int token_bytes() const { return token_bytes_; }
  uint32_t separator() const { return separator_; }
  uint32_t vocab_size() const { return vocab_size_; }
  const std::string& path() const { return path_; }
  // Tokens [begin, begin + n) into out[0, n); UserError when the file lost them since opening.
  void read(int64_t begin, int64_t n, TokenId* out) const;
  TokenId at(int64_t i) const;  // one token (tests; loops read blocks)
  // Calls fn(i, id) for every token in order, reading blocks of kScanBlock tokens.
  template <typename Fn>
  void scan(Fn fn) const {
    std::vector<TokenId> block;
    for (int64_t begin = 0; begin < count_; begin += kScanBlock) {
      const int64_t n = count_ - begin < kScanBlock ? count_ - begin : kScanBlock;
      block.resize(static_cast<size_t>(n));
      read(begin, n, block.data());
      for (int64_t i = 0; i < n; ++i) fn(begin + i, block[static_cast<size_t>(i)]);
    }
  }
  static constexpr int64_t kScanBlock = 1 << 20;

 private:
  struct Source;
  std::shared_ptr<Source> source_;
  int64_t count_ = 0;
  int token_bytes_ = 4;
  uint32_t separator_ = kNoSeparator;
  uint32_t vocab_size_ = 0;
  std::string path_;
};

// Streams documents into a token file: written to "<path>.tmp.<pid>" and renamed into place by
// finish(), so readers never see a half-written file. Width: uint16 when vocab_size <= 65536.
class TokenFileWriter {
 public:
  TokenFileWriter(const std::string& path, int64_t vocab_size, uint32_t separator);
  ~TokenFileWriter();  // removes the temporary file unless finish() ran
  TokenFileWriter(const TokenFileWriter&) = delete;
  TokenFileWriter& operator=(const TokenFileWriter&) = delete;

  void append(const std::vector<TokenId>& ids);  // appended as they are (no separator added)
  void finish();                                 // writes the count, renames into place
  int64_t count() const { return count_; }

 private:
  std::string path_, temp_path_;
  std::FILE* file_ = nullptr;
  int token_bytes_;
  int64_t count_ = 0;
  int64_t vocab_size_;
  uint32_t separator_;
};

// Writes `ids` as a token file in one go (tests, small corpora).
void write_token_file(const std::string& path, const std::vector<TokenId>& ids, int64_t vocab_size,
                      uint32_t separator);

}  // namespace ssm
