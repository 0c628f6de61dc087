// train/data/corpus_cache.cpp — finding a source's files, reading their documents, and tokenizing them
// once into the cache (see corpus_cache.h for the rules).
#include "train/data/corpus_cache.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>  // defines: nlohmann::json

#include "absl/strings/str_format.h"  // defines: absl::StrFormat
#include "core/error.h"               // defines: UserError
#include "core/regular_file.h"        // defines: RegularFile, read_regular_file

namespace ssm {
namespace fs = std::filesystem;

namespace {

// ---- which files make up a source ----------------------------------------------------------

std::vector<fs::path> files_with_extension(const fs::path& dir, const std::string& extension, bool recursive) {
  std::vector<fs::path> files;
  auto consider = [&](const fs::directory_entry& entry) {
    if (entry.is_regular_file() && entry.path().extension() == extension) files.push_back(entry.path());
  };
  if (recursive) {
    for (const auto& entry : fs::recursive_directory_iterator(dir, fs::directory_options::follow_directory_symlink))
      consider(entry);
  } else {
    for (const auto& entry : fs::directory_iterator(dir)) consider(entry);
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<fs::path> source_files(const DataSource& source, const std::string& key) {
  const fs::path path(source.path);
  const std::string where = absl::StrCat(key, ".path: '", source.path, "'");
  std::error_code ec;  // a symlink loop or an unreadable parent is one line, not an exception
  const bool exists = fs::exists(path, ec);
  if (ec) throw UserError(absl::StrCat(where, ": ", ec.message()));
  if (!exists) {
    if (source.kind == "bible") {
      throw UserError(absl::StrCat(where, " does not exist; create the Bible corpus with `make corpus` (or ",
                                   "scripts/make_bible_corpus.sh ", source.path, ")"));
    }
    throw UserError(absl::StrCat(where, " does not exist"));
  }
  if (!fs::is_directory(path, ec)) {
    SSM_USER_CHECK(source.kind != "bible", where, " must be a directory of book files, as written by ",
                   "scripts/make_bible_corpus.sh");
    RegularFile::open(source.path, where);  // a FIFO or a device is refused here, before the cache
    return {path};
  }
  SSM_USER_CHECK(source.kind != "tokens", where, " is a directory; kind tokens reads one token file");
  const std::string extension = source.kind == "jsonl" ? ".jsonl" : ".txt";
  std::vector<fs::path> files;
  try {
    files = files_with_extension(path, extension, source.kind != "bible");
  } catch (const fs::filesystem_error& e) {  // e.g. a directory symlink that loops
    throw UserError(absl::StrCat(where, ": cannot list '", e.path1().string(), "': ", e.code().message()));
  }
  SSM_USER_CHECK(!files.empty(), where, " holds no ", extension, " files");
  return files;
}

std::string read_whole_file(const fs::path& path) {
  return read_regular_file(path.string(), absl::StrCat("cannot read '", path.string(), "'"));
}

// Calls `emit` with each document of `file`; returns the file's size in bytes (for progress).
void for_each_document(const DataSource& source, const std::string& key, const fs::path& file,
                       const std::function<void(std::string_view)>& emit) {
  const std::string text = read_whole_file(file);
  if (source.kind != "jsonl") {
    emit(text);
    return;
  }
  size_t line_start = 0;
  for (int64_t line_no = 1; line_start < text.size(); ++line_no) {
    size_t line_end = text.find('\n', line_start);
    if (line_end == std::string::npos) line_end = text.size();
    const std::string_view line(text.data() + line_start, line_end - line_start);
    line_start = line_end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const std::string where = absl::StrCat(key, ": '", file.string(), "' line ", line_no);
    const nlohmann::json row = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    SSM_USER_CHECK(!row.is_discarded(), where, ": not valid JSON (corrupt or truncated JSON Lines file?)");
    SSM_USER_CHECK(row.is_object(), where, ": expected a JSON object with a '", source.text_key, "' field");
    const auto field = row.find(source.text_key);
    SSM_USER_CHECK(field != row.end() && field->is_string(), where, ": no string field '", source.text_key,
                   "' (set data.sources[i].text_key to the field that holds the text)");
    emit(field->get_ref<const std::string&>());
  }
}

// ---- the cache key ---------------------------------------------------------------------------

uint64_t fnv1a(const std::string& text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string tokenizer_identity(const Tokenizer& tokenizer) {
  // The probe catches tokenizers that share a name but not a vocabulary (a re-trained BPE file).
  const std::vector<TokenId> probe = tokenizer.encode("The quick brown fox, 1234567890 \xc3\xa9t\xc3\xa9\n\tend.");
  std::string id = absl::StrCat(tokenizer.name(), "|", tokenizer.vocab_size(), "|", tokenizer.eos_id(), "|");
  for (TokenId t : probe) absl::StrAppend(&id, t, ",");
  return id;
}

std::string cache_key(const DataSource& source, const std::vector<fs::path>& files, const Tokenizer& tokenizer) {
  std::string text = absl::StrCat("ssmlab-corpus-v1|", source.kind, "|", source.kind == "jsonl" ? source.text_key : "",
                                  "|", tokenizer_identity(tokenizer));
  for (const fs::path& file : files) {
    std::error_code ec;
    const auto mtime = fs::last_write_time(file, ec).time_since_epoch().count();
    absl::StrAppend(&text, "|", fs::absolute(file).lexically_normal().string(), ":", fs::file_size(file, ec), ":",
                    mtime);
  }
  return absl::StrFormat("%016x", fnv1a(text));
}

// ---- progress --------------------------------------------------------------------------------

// A bar on stderr while tokenizing, only when stderr is a terminal (logs stay clean).
class TokenizeProgress {
 public:
  TokenizeProgress(std::string label, uint64_t total_bytes)
      : label_(std::move(label)), total_(std::max<uint64_t>(total_bytes, 1)), tty_(::isatty(STDERR_FILENO) != 0),
        start_(std::chrono::steady_clock::now()) {}
  void advance(uint64_t bytes, int64_t tokens) {
    done_ += bytes;
    tokens_ = tokens;
    if (!tty_) return;
    const auto now = std::chrono::steady_clock::now();
    if (done_ < total_ && now - last_draw_ < std::chrono::milliseconds(200)) return;
    last_draw_ = now;
    const double fraction = std::min(1.0, static_cast<double>(done_) / static_cast<double>(total_));
    const double seconds = std::chrono::duration<double>(now - start_).count();
    std::string bar(static_cast<size_t>(24 * fraction), '#');
    bar.resize(24, '.');
    std::fprintf(stderr, "\rtokenizing %s [%s] %3.0f%%  %lld tokens  %.1f MB/s   ", label_.c_str(), bar.c_str(),
                 100 * fraction, static_cast<long long>(tokens_),
                 static_cast<double>(done_) / 1e6 / std::max(seconds, 1e-9));
    std::fflush(stderr);
  }
  ~TokenizeProgress() {
    if (tty_) std::fprintf(stderr, "\n");
  }

 private:
  std::string label_;
  uint64_t total_, done_ = 0;
  int64_t tokens_ = 0;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

std::string entry_name(const DataSource& source) {
  std::string stem = fs::path(source.path).lexically_normal().filename().string();
  if (stem.empty()) stem = fs::path(source.path).lexically_normal().parent_path().filename().string();
  for (char& c : stem) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  }
  return stem.empty() ? "corpus" : stem;
}

}  // namespace

std::string resolve_cache_dir(const std::string& configured) {
  if (!configured.empty()) return configured;
  if (const char* dir = std::getenv("SSMLAB_CACHE_DIR"); dir && *dir) return dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return (fs::path(xdg) / "ssmlab").string();
  if (const char* home = std::getenv("HOME"); home && *home) return (fs::path(home) / ".cache" / "ssmlab").string();
  return (fs::temp_directory_path() / "ssmlab-cache").string();
}

TokenFile corpus_token_file(const DataSource& source, const std::string& key, const Tokenizer& tokenizer,
                            const std::string& cache_dir) {
  const std::vector<fs::path> files = source_files(source, key);
  if (source.kind == "tokens") {
    return TokenFile::open(files.front().string(), tokenizer.vocab_size(),
                           absl::StrCat(key, ".path: '", source.path, "'"));
  }

  const fs::path dir(resolve_cache_dir(cache_dir));
  const fs::path entry = dir / absl::StrCat(entry_name(source), "-", cache_key(source, files, tokenizer), ".tok");
  const std::string what = absl::StrCat("token cache '", entry.string(), "' of ", key);
  if (fs::exists(entry)) {
    try {
      return TokenFile::open(entry.string(), tokenizer.vocab_size(), what);
    } catch (const UserError&) {
      fs::remove(entry);  // a damaged cache entry is rebuilt, not fatal: the source is still there
    }
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  SSM_USER_CHECK(!ec, "cannot create the token cache directory '", dir.string(), "' (data.cache_dir): ", ec.message());

  uint64_t total_bytes = 0;
  for (const fs::path& file : files) total_bytes += fs::file_size(file, ec);
  TokenizeProgress progress(absl::StrCat(key, " (", source.path, ")"), total_bytes);
  TokenFileWriter writer(entry.string(), tokenizer.vocab_size(), static_cast<uint32_t>(tokenizer.eos_id()));
  for (const fs::path& file : files) {
    for_each_document(source, key, file, [&](std::string_view text) {
      std::vector<TokenId> ids = tokenizer.encode(text);
      if (ids.empty()) return;  // empty documents are no documents
      ids.push_back(tokenizer.eos_id());
      writer.append(ids);
    });
    progress.advance(fs::file_size(file, ec), writer.count());
  }
  SSM_USER_CHECK(writer.count() > 0, key, ".path: '", source.path, "' holds no text (empty corpus)");
  writer.finish();
  return TokenFile::open(entry.string(), tokenizer.vocab_size(), what);
}

}  // namespace ssm
