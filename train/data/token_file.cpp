// train/data/token_file.cpp — reading (pread + validation) and writing ssmlab token files.
#include "train/data/token_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/error.h"         // defines: UserError, SSM_CHECK
#include "core/regular_file.h"  // defines: RegularFile

namespace ssm {

namespace {

constexpr char kMagic[8] = {'S', 'S', 'M', 'L', 'T', 'O', 'K', '1'};
constexpr uint32_t kVersion = 1;

uint32_t read_u32(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}
uint64_t read_u64(const unsigned char* p) { return read_u32(p) | static_cast<uint64_t>(read_u32(p + 4)) << 32; }

void put_u32(unsigned char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
void put_u64(unsigned char* p, uint64_t v) {
  put_u32(p, static_cast<uint32_t>(v));
  put_u32(p + 4, static_cast<uint32_t>(v >> 32));
}

void encode_header(unsigned char* h, int token_bytes, uint64_t count, uint32_t separator, uint32_t vocab) {
  std::memcpy(h, kMagic, 8);
  put_u32(h + 8, kVersion);
  put_u32(h + 12, static_cast<uint32_t>(token_bytes));
  put_u64(h + 16, count);
  put_u32(h + 24, separator);
  put_u32(h + 28, vocab);
}

}  // namespace

// The open file lives as long as any TokenFile copy refers to it.
struct TokenFile::Source {
  RegularFile file;
};

TokenFile TokenFile::open(const std::string& path, int64_t vocab_size, const std::string& what) {
  auto source = std::make_shared<Source>();
  source->file = RegularFile::open(path, absl::StrCat(what, ": cannot open token file"));
  source->file.set_what(what);
  const int64_t bytes = source->file.size();
  if (bytes < static_cast<int64_t>(kTokenFileHeaderBytes)) {
    throw UserError(absl::StrCat(what, ": truncated token file: ", bytes, " bytes, shorter than its ",
                                 kTokenFileHeaderBytes, "-byte header"));
  }
  unsigned char h[kTokenFileHeaderBytes];
  source->file.read_at(0, h, sizeof h);

  SSM_USER_CHECK(std::memcmp(h, kMagic, 8) == 0, what, ": not an ssmlab token file (bad magic; expected ",
                 "\"SSMLTOK1\", see train/data/token_file.h)");
  const uint32_t version = read_u32(h + 8);
  SSM_USER_CHECK(version == kVersion, what, ": unsupported token file version ", version, " (this ssmlab reads ",
                 kVersion, ")");
  const uint32_t width = read_u32(h + 12);
  SSM_USER_CHECK(width == 2 || width == 4, what, ": bad token width ", width,
                 " bytes in the header (allowed: 2 = uint16, 4 = uint32)");
  const uint64_t count = read_u64(h + 16);
  const uint64_t payload = static_cast<uint64_t>(bytes) - kTokenFileHeaderBytes;
  SSM_USER_CHECK(count <= payload / width && count * width == payload, what, ": truncated or corrupt token file: ",
                 "the header says ", count, " tokens of ", width, " bytes (", count * width, " bytes) but the file ",
                 "holds ", payload, " bytes after the header");

  TokenFile file;
  file.source_ = std::move(source);
  file.count_ = static_cast<int64_t>(count);
  file.token_bytes_ = static_cast<int>(width);
  file.separator_ = read_u32(h + 24);
  file.vocab_size_ = read_u32(h + 28);
  file.path_ = path;
  if (vocab_size > 0) {
    SSM_USER_CHECK(file.vocab_size_ <= vocab_size, what, ": the token file was made for a vocabulary of ",
                   file.vocab_size_, " ids, the tokenizer has ", vocab_size, " (data.tokenizer does not match)");
    SSM_USER_CHECK(file.separator_ == kNoSeparator || file.separator_ < vocab_size, what,
                   ": the document separator id ", file.separator_, " is outside the tokenizer's vocabulary of ",
                   vocab_size);
    file.scan([&](int64_t i, TokenId id) {
      if (id < 0 || id >= vocab_size) {
        throw UserError(absl::StrCat(what, ": token ", i, " has id ", static_cast<uint32_t>(id),
                                     ", outside the tokenizer's vocabulary of ", vocab_size, " (corrupt file?)"));
      }
    });
  }
  return file;
}

void TokenFile::read(int64_t begin, int64_t n, TokenId* out) const {
  SSM_CHECK(begin >= 0 && n >= 0 && n <= count_ - begin, "TokenFile::read [", begin, ", ", begin + n,
            ") outside a file of ", count_, " tokens");
  if (n == 0) return;
  const size_t width = static_cast<size_t>(token_bytes_);
  std::vector<unsigned char> bytes(static_cast<size_t>(n) * width);
  source_->file.read_at(static_cast<int64_t>(kTokenFileHeaderBytes) + begin * token_bytes_, bytes.data(),
                        bytes.size());
  const unsigned char* p = bytes.data();
  for (int64_t i = 0; i < n; ++i, p += width) {
    out[i] = static_cast<TokenId>(width == 2 ? static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8
                                             : read_u32(p));
  }
}

TokenId TokenFile::at(int64_t i) const {
  TokenId id = 0;
  read(i, 1, &id);
  return id;
}

TokenFileWriter::TokenFileWriter(const std::string& path, int64_t vocab_size, uint32_t separator)
    : path_(path), temp_path_(absl::StrCat(path, ".tmp.", ::getpid())), token_bytes_(vocab_size <= 65536 ? 2 : 4),
      vocab_size_(vocab_size), separator_(separator) {
  SSM_CHECK(vocab_size > 0 && vocab_size <= 0xFFFFFFFFll, "token file vocabulary ", vocab_size, " out of range");
  file_ = std::fopen(temp_path_.c_str(), "wb");
  SSM_USER_CHECK(file_ != nullptr, "cannot write token file '", temp_path_, "': ", std::strerror(errno));
  unsigned char header[kTokenFileHeaderBytes] = {};
  encode_header(header, token_bytes_, 0, separator_, static_cast<uint32_t>(vocab_size_));
  std::fwrite(header, 1, sizeof header, file_);
}

TokenFileWriter::~TokenFileWriter() {
  if (file_) {
    std::fclose(file_);
    std::remove(temp_path_.c_str());
  }
}

void TokenFileWriter::append(const std::vector<TokenId>& ids) {
  SSM_CHECK(file_ != nullptr, "TokenFileWriter::append after finish");
  std::vector<unsigned char> bytes(ids.size() * static_cast<size_t>(token_bytes_));
  for (size_t i = 0; i < ids.size(); ++i) {
    SSM_CHECK(ids[i] >= 0 && ids[i] < vocab_size_, "token id ", ids[i], " outside the vocabulary of ", vocab_size_);
    const uint32_t v = static_cast<uint32_t>(ids[i]);
    for (int b = 0; b < token_bytes_; ++b) bytes[i * token_bytes_ + b] = static_cast<unsigned char>(v >> (8 * b));
  }
  SSM_USER_CHECK(std::fwrite(bytes.data(), 1, bytes.size(), file_) == bytes.size(), "cannot write token file '",
                 temp_path_, "': ", std::strerror(errno));
  count_ += static_cast<int64_t>(ids.size());
}

void TokenFileWriter::finish() {
  SSM_CHECK(file_ != nullptr, "TokenFileWriter::finish called twice");
  unsigned char header[kTokenFileHeaderBytes] = {};
  encode_header(header, token_bytes_, static_cast<uint64_t>(count_), separator_, static_cast<uint32_t>(vocab_size_));
  const bool ok = std::fseek(file_, 0, SEEK_SET) == 0 &&
                  std::fwrite(header, 1, sizeof header, file_) == sizeof header && std::fflush(file_) == 0 &&
                  ::fsync(::fileno(file_)) == 0;
  std::fclose(file_);
  file_ = nullptr;
  if (!ok) {
    std::remove(temp_path_.c_str());
    throw UserError(absl::StrCat("cannot write token file '", temp_path_, "': ", std::strerror(errno)));
  }
  std::error_code ec;
  std::filesystem::rename(temp_path_, path_, ec);
  SSM_USER_CHECK(!ec, "cannot move token file into place at '", path_, "': ", ec.message());
}

void write_token_file(const std::string& path, const std::vector<TokenId>& ids, int64_t vocab_size,
                      uint32_t separator) {
  TokenFileWriter writer(path, vocab_size, separator);
  writer.append(ids);
  writer.finish();
}

}  // namespace ssm
