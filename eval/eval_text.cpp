// eval/eval_text.cpp — reading corpora, the synthetic prompts, fitting and sequence building.
#include "eval/eval_text.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>  // defines: nlohmann::json
#include <sstream>

#include "core/error.h"     // defines: SSM_USER_CHECK
#include "core/regular_file.h"  // defines: read_regular_file
#include "train/data/dataset.h"  // defines: load_corpus

namespace ssm {
namespace fs = std::filesystem;

namespace {

// Regular files only: a FIFO given as --data would block (core/regular_file.h).
std::string slurp(const fs::path& path) {
  return read_regular_file(path.string(), absl::StrCat("cannot read '", path.string(), "'"));
}

bool has_extension(const fs::path& p, const char* ext) { return p.extension() == ext; }

void read_jsonl(const fs::path& path, std::vector<std::string>& out) {
  std::istringstream in(slurp(path));
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception&) {
      throw UserError(absl::StrCat("'", path.string(), "' line ", number, ": not valid JSON"));
    }
    bool found = false;
    for (const char* field : {"text", "raw_content", "content"}) {
      if (j.is_object() && j.contains(field) && j[field].is_string()) {
        out.push_back(j[field].get<std::string>());
        found = true;
        break;
      }
    }
    SSM_USER_CHECK(found, "'", path.string(), "' line ", number, ": no string field \"text\" (or \"raw_content\", ",
                   "\"content\")");
  }
}

void read_file(const fs::path& path, std::vector<std::string>& out) {
  if (has_extension(path, ".jsonl")) {
    read_jsonl(path, out);
  } else {
    out.push_back(slurp(path));
  }
}

}  // namespace

std::vector<std::string> read_documents(const std::string& path) {
  std::error_code ec;  // a symlink loop is a message, not an exception
  SSM_USER_CHECK(fs::exists(path, ec), "corpus '", path, "'", ec ? ": " + ec.message() : " does not exist");
  std::vector<std::string> docs;
  if (fs::is_directory(path, ec)) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(path)) {
      if (entry.is_regular_file() && (has_extension(entry.path(), ".txt") || has_extension(entry.path(), ".jsonl"))) {
        files.push_back(entry.path());
      }
    }
    std::sort(files.begin(), files.end());
    for (const fs::path& f : files) read_file(f, docs);
  } else {
    read_file(path, docs);
  }
  docs.erase(std::remove_if(docs.begin(), docs.end(), [](const std::string& d) { return d.empty(); }), docs.end());
  SSM_USER_CHECK(!docs.empty(), "corpus '", path, "' holds no documents (.txt files or .jsonl lines with text)");
  return docs;
}

bool is_synthetic_prompt(const std::string& name) { return name == "newlines" || name == "capital"; }

std::string synthetic_prompt(const std::string& name) {
  if (name == "newlines") return std::string(300000, '\n');
  if (name == "capital") {
    std::string text;
    for (int i = 0; i < 2000; ++i) {
      text += "The capital of China is Beijing. The capital of USA is Washington. The capital of Norway is Oslo. ";
    }
    return text;
  }
  throw UserError(absl::StrCat("unknown prompt '", name, "' (allowed: newlines, capital)"));
}

std::vector<TokenId> fit_to_length(const Tokenizer& tokenizer, const std::string& text, int64_t length) {
  SSM_USER_CHECK(length > 0, "the evaluation length must be positive, got ", length);
  std::vector<TokenId> ids = tokenizer.encode(text);
  SSM_USER_CHECK(!ids.empty(), "the evaluation text is empty after tokenization");
  if (static_cast<int64_t>(ids.size()) < length) {
    // Repeat the string, not the ids, so the seams tokenize as the text would.
    const int64_t copies = length / static_cast<int64_t>(ids.size()) + 2;
    std::string repeated;
    repeated.reserve(text.size() * static_cast<size_t>(copies));
    for (int64_t i = 0; i < copies; ++i) repeated += text;
    ids = tokenizer.encode(repeated);
  }
  ids.resize(static_cast<size_t>(std::min<int64_t>(length, static_cast<int64_t>(ids.size()))));
  return ids;
}

EvalSequences build_eval_sequences(const std::vector<std::vector<TokenId>>& docs, int64_t length, int64_t count,
                                   TokenId eos) {
  SSM_USER_CHECK(!docs.empty(), "no documents to evaluate on");
  SSM_USER_CHECK(length > 0 && count > 0, "evaluation sequences need a positive length and count, got ", length,
                 " and ", count);
  EvalSequences out;
  std::vector<TokenId> current;
  size_t next_doc = 0;
  auto append = [&](size_t d) {
    if (!current.empty()) current.push_back(eos);
    current.insert(current.end(), docs[d].begin(), docs[d].end());
    out.documents_used = std::max<int64_t>(out.documents_used, static_cast<int64_t>(d) + 1);
  };
  while (static_cast<int64_t>(out.sequences.size()) < count && next_doc < docs.size()) {
    append(next_doc++);
    if (static_cast<int64_t>(current.size()) >= length) {
      current.resize(static_cast<size_t>(length));
      out.sequences.push_back(std::move(current));
      current.clear();
    }
  }
  if (out.sequences.empty()) {
    // The whole corpus is shorter than one sequence: repeat it (EOS between copies).
    out.repeated = true;
    for (size_t d = 0; static_cast<int64_t>(current.size()) < length; d = (d + 1) % docs.size()) append(d);
    current.resize(static_cast<size_t>(length));
    out.sequences.push_back(std::move(current));
  }
  return out;
}

std::vector<std::vector<TokenId>> held_out_documents(const Config& config, const Tokenizer& tokenizer) {
  std::vector<std::vector<TokenId>> docs;
  bool any_text = false;
  for (size_t i = 0; i < config.data.sources.size(); ++i) {
    const DataSource& src = config.data.sources[i];
    if (src.kind == "passkey") continue;
    any_text = true;
    Corpus corpus = load_corpus(src, "data.sources[" + std::to_string(i) + "]", tokenizer,
                                std::max(config.data.valid_fraction, 0.01));
    for (auto& d : corpus.valid_docs) docs.push_back(std::move(d));
  }
  SSM_USER_CHECK(any_text, "the model's config has no text source to take held-out documents from: pass --data PATH ",
                 "or --prompt newlines");
  std::stable_sort(docs.begin(), docs.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  return docs;
}

}  // namespace ssm
