// train/text/tokenizer.cpp — the byte-level tokenizer and the tokenizer factory (by spec, or by what a
// checkpoint directory ships).
#include "train/text/tokenizer.h"

#include <algorithm>
#include <filesystem>

#include "core/error.h"                   // defines: UserError, SSM_USER_CHECK
#include "train/text/bpe_tokenizer.h"          // defines: BpeTokenizer
#include "train/text/rwkv_world_tokenizer.h"   // defines: RwkvWorldTokenizer

namespace ssm {
namespace fs = std::filesystem;

std::vector<TokenId> ByteTokenizer::encode(std::string_view text) const {
  std::vector<TokenId> ids;
  ids.reserve(text.size());
  for (unsigned char c : text) ids.push_back(static_cast<TokenId>(c));
  return ids;
}

std::string ByteTokenizer::decode(const std::vector<TokenId>& ids) const {
  std::string text;
  text.reserve(ids.size());
  for (TokenId id : ids) {
    if (id >= 0 && id < 256) text.push_back(static_cast<char>(id));
  }
  return text;
}

std::unique_ptr<Tokenizer> make_tokenizer(const std::string& spec) {
  if (spec == "byte") return std::make_unique<ByteTokenizer>();
  const fs::path path(spec);
  SSM_USER_CHECK(!spec.empty() && fs::exists(path), "tokenizer '", spec, "': no such file or directory (expected ",
                 "'byte', a tokenizer.json, an RWKV vocabulary .txt, or a directory holding one)");
  if (fs::is_directory(path)) {
    std::unique_ptr<Tokenizer> found = find_tokenizer_in_dir(spec);
    SSM_USER_CHECK(found != nullptr, "tokenizer directory '", spec,
                   "' holds neither a tokenizer.json nor an rwkv_vocab*.txt");
    return found;
  }
  const std::string ext = path.extension().string();
  if (ext == ".json") return std::make_unique<BpeTokenizer>(spec);
  if (ext == ".txt") return std::make_unique<RwkvWorldTokenizer>(spec);
  throw UserError(absl::StrCat("tokenizer '", spec, "': unknown kind of file (expected a tokenizer.json or ",
                               "an RWKV vocabulary .txt)"));
}

std::string find_tokenizer_file(const std::string& dir) {
  const fs::path path(dir);
  SSM_USER_CHECK(fs::is_directory(path), "'", dir, "' is not a directory");
  if (fs::is_regular_file(path / "tokenizer.json")) return (path / "tokenizer.json").string();
  std::vector<fs::path> vocabularies;
  for (const fs::directory_entry& entry : fs::directory_iterator(path)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.rfind("rwkv_vocab", 0) == 0 && entry.path().extension() == ".txt") {
      vocabularies.push_back(entry.path());
    }
  }
  if (vocabularies.empty()) return "";
  return std::min_element(vocabularies.begin(), vocabularies.end())->string();
}

std::unique_ptr<Tokenizer> find_tokenizer_in_dir(const std::string& dir) {
  const std::string file = find_tokenizer_file(dir);
  if (file.empty()) return nullptr;
  if (fs::path(file).extension() == ".json") return std::make_unique<BpeTokenizer>(file);
  return std::make_unique<RwkvWorldTokenizer>(file);
}

std::string tokenizer_file(const std::string& spec) {
  if (spec == "byte") return "";
  SSM_USER_CHECK(!spec.empty() && fs::exists(spec), "tokenizer '", spec, "': no such file or directory");
  if (!fs::is_directory(spec)) return spec;
  const std::string file = find_tokenizer_file(spec);
  SSM_USER_CHECK(!file.empty(), "tokenizer directory '", spec, "' holds neither a tokenizer.json nor an rwkv_vocab*.txt");
  return file;
}

}  // namespace ssm
