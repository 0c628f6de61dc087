// train/weight_index.cpp — opening a public checkpoint's safetensors files and checking tensor
// shapes before any size is read off them.
#include "train/weight_index.h"

#include <filesystem>

#include "core/error.h"      // defines: UserError
#include "core/json_read.h"  // defines: read_json_file, describe_json

namespace ssm {
namespace fs = std::filesystem;
using json = nlohmann::json;

WeightIndex::WeightIndex(const std::string& dir) : dir_(dir) {
  const fs::path root(dir);
  const fs::path single = root / "model.safetensors", index = root / "model.safetensors.index.json";
  if (fs::exists(index)) {
    const json doc = read_json_file(index.string());
    SSM_USER_CHECK(doc.is_object() && doc.contains("weight_map") && doc["weight_map"].is_object() &&
                       !doc["weight_map"].empty(),
                   index.string(), ": no \"weight_map\" object");
    for (const auto& [name, file] : doc["weight_map"].items()) {
      SSM_USER_CHECK(file.is_string(), index.string(), ": weight_map[\"", name, "\"] is not a file name, got ",
                     describe_json(file));
      const std::string shard = file.get<std::string>();
      // Shards lie beside the index; a path would read files outside the checkpoint.
      SSM_USER_CHECK(!shard.empty() && shard.find('/') == std::string::npos && shard != "." && shard != "..",
                     index.string(), ": weight_map[\"", name, "\"] = \"", shard,
                     "\" is not a file name in the checkpoint directory");
      files_.try_emplace(shard);
      where_[name] = shard;
    }
    for (auto& [file, st] : files_) st = load_safetensors((root / file).string());
    for (const auto& [name, file] : where_) {
      SSM_USER_CHECK(files_.at(file).contains(name), (root / file).string(), ": the index lists '", name,
                     "' but the file does not hold it");
    }
    // A tensor the index does not list would never be loaded: refuse it like any unused tensor.
    for (const auto& [file, st] : files_) {
      for (const std::string& name : st.names()) {
        const auto it = where_.find(name);
        SSM_USER_CHECK(it != where_.end() && it->second == file, (root / file).string(), ": holds tensor '", name,
                       "', which ", index.string(), " does not give to this file");
      }
    }
  } else {
    SSM_USER_CHECK(fs::exists(single), "'", dir, "' has no model.safetensors (convert .bin/.pth ",
                   "checkpoints with scripts/convert_checkpoint.py)");
    files_["model.safetensors"] = load_safetensors(single.string());
    for (const std::string& name : files_["model.safetensors"].names()) where_[name] = "model.safetensors";
  }
}

Tensor WeightIndex::get(const std::string& name) const {
  const auto it = where_.find(name);
  SSM_USER_CHECK(it != where_.end(), dir_, ": missing tensor '", name, "'");
  return files_.at(it->second).get(name);
}

std::string WeightIndex::file_of(const std::string& name) const {
  const auto it = where_.find(name);
  return it == where_.end() ? dir_ : files_.at(it->second).path();
}

std::vector<std::string> WeightIndex::names() const {
  std::vector<std::string> out;
  for (const auto& [name, file] : where_) out.push_back(name);
  return out;
}

const Shape& WeightIndex::shape(const std::string& name) const {
  const auto it = where_.find(name);
  SSM_USER_CHECK(it != where_.end(), dir_, ": missing tensor '", name, "'");
  return files_.at(it->second).shape(name);
}

const Shape& WeightIndex::require_shape(const std::string& name, size_t rank) const {
  const Shape& shape = this->shape(name);
  bool ok = shape.size() == rank;
  for (int64_t d : shape) ok = ok && d >= 1;
  SSM_USER_CHECK(ok, file_of(name), ": tensor '", name, "' has shape ", shape_str(shape), "; ssmlab reads it as ",
                 rank, rank == 1 ? " dimension" : " dimensions", " of at least 1 each");
  return shape;
}

int64_t WeightIndex::count_prefix(const std::string& prefix, const std::string& suffix) const {
  int64_t n = 0;
  while (contains(absl::StrCat(prefix, n, suffix))) ++n;
  return n;
}

}  // namespace ssm
