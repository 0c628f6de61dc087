// train/checkpoint.cpp — atomic checkpoint directories.
#include "train/checkpoint.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>  // defines: nlohmann::json

#include "absl/strings/str_format.h"  // defines: absl::StrFormat
#include "core/error.h"
#include "core/regular_file.h"  // defines: read_regular_file
#include "core/safetensors.h"  // defines: save_safetensors, load_safetensors
#include "models/model_factory.h"  // defines: make_model
#include "train/text/tokenizer.h"   // defines: make_tokenizer

namespace ssm {
namespace fs = std::filesystem;

namespace {

constexpr int kFormatVersion = 1;

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.flush();
  SSM_USER_CHECK(out.good(), "cannot write '", path.string(), "'");
}

std::string read_text(const fs::path& path) {
  return read_regular_file(path.string(), absl::StrCat("cannot read '", path.string(), "'"));
}

// Flushes a directory's entries to disk so the rename that follows is durable.
void sync_dir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// "<dir>-<step>": where a replaced checkpoint goes when older ones are kept.
fs::path kept_name(const fs::path& target, int64_t step) {
  return target.string() + absl::StrFormat("-%08d", step);
}

// The step a checkpoint directory holds, or -1 when unreadable.
int64_t step_of(const fs::path& dir) {
  std::ifstream in(dir / "trainer_state.json");
  const nlohmann::json meta = nlohmann::json::parse(in, nullptr, false);
  return meta.is_object() ? meta.value("step", int64_t{-1}) : -1;
}

// Moves `staged` to `target`, atomically replacing an existing `target` directory. The replaced
// one is deleted, or renamed to `keep_as` when that is non-empty.
void swap_into_place(const fs::path& staged, const fs::path& target, const fs::path& keep_as) {
  sync_dir(staged);
  if (!keep_as.empty()) fs::remove_all(keep_as);
  if (!fs::exists(target)) {
    fs::rename(staged, target);
  } else if (::renameat2(AT_FDCWD, staged.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) == 0) {
    // `staged` now holds the previous checkpoint.
    if (keep_as.empty()) {
      fs::remove_all(staged);
    } else {
      fs::rename(staged, keep_as);
    }
  } else {
    // Filesystems without RENAME_EXCHANGE: keep the old one under .old until the new one is in.
    const fs::path old = keep_as.empty() ? fs::path(target.string() + ".old") : keep_as;
    if (keep_as.empty()) fs::remove_all(old);
    fs::rename(target, old);
    fs::rename(staged, target);
    if (keep_as.empty()) fs::remove_all(old);
  }
  sync_dir(target.parent_path().empty() ? fs::path(".") : target.parent_path());
}

void require_file(const fs::path& dir, const char* name) {
  SSM_USER_CHECK(fs::exists(dir / name), "checkpoint '", dir.string(), "' is incomplete: missing ", name);
}

}  // namespace

std::vector<std::string> previous_checkpoints(const std::string& dir) {
  const fs::path target(dir);
  const fs::path parent = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  const std::string prefix = target.filename().string() + "-";
  std::vector<std::pair<int64_t, std::string>> found;
  if (!fs::is_directory(parent)) return {};
  for (const fs::directory_entry& entry : fs::directory_iterator(parent)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory() || !name.starts_with(prefix) || name.size() == prefix.size()) continue;
    const std::string digits = name.substr(prefix.size());
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) continue;
    found.emplace_back(std::stoll(digits), entry.path().string());
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& [step, path] : found) out.push_back(path);
  return out;
}

void save_checkpoint(const std::string& dir, LanguageModel& model, const AdamW* optimizer, const Config& config,
                     const TrainerState& state, int64_t keep) {
  const fs::path target(dir);
  const fs::path staged = target.string() + ".tmp";
  fs::remove_all(staged);
  fs::create_directories(staged);

  std::vector<std::pair<std::string, Tensor>> weights;
  for (const NamedParameter& p : model.named_parameters()) weights.emplace_back(p.name, p.tensor.to(Device::cpu()));
  save_safetensors((staged / "model.safetensors").string(), weights,
                   {{"format", "pt"}, {"architecture", model.architecture()}});
  if (optimizer) {
    std::vector<std::pair<std::string, Tensor>> moments;
    for (auto& [name, t] : optimizer->state_tensors()) moments.emplace_back(name, t.to(Device::cpu()));
    save_safetensors((staged / "optimizer.safetensors").string(), moments);
  }
  write_text(staged / "config.yaml", config_to_yaml(config));
  nlohmann::json meta = {{"format_version", kFormatVersion},
                         {"step", state.step},
                         {"tokens_seen", state.tokens_seen},
                         {"elapsed_s", state.elapsed_s},
                         {"micro_batches_per_step", state.micro_batches_per_step},
                         {"architecture", model.architecture()},
                         {"optimizer_step", optimizer ? optimizer->steps_taken() : 0}};
  write_text(staged / "trainer_state.json", meta.dump(2) + "\n");

  fs::path keep_as;
  if (keep > 1 && fs::exists(target)) {
    const int64_t old_step = step_of(target);
    if (old_step >= 0 && old_step != state.step) keep_as = kept_name(target, old_step);
  }
  swap_into_place(staged, target, keep_as);
  // Prune: the newest K − 1 previous checkpoints stay (none when K = 1).
  const std::vector<std::string> previous = previous_checkpoints(dir);
  const size_t allowed = static_cast<size_t>(std::max<int64_t>(keep - 1, 0));
  for (size_t i = 0; i + allowed < previous.size(); ++i) fs::remove_all(previous[i]);
}

Config read_checkpoint_config(const std::string& dir) {
  const fs::path path(dir);
  SSM_USER_CHECK(fs::is_directory(path), "checkpoint '", dir, "' does not exist (expected a directory with ",
                 "model.safetensors and config.yaml)");
  require_file(path, "config.yaml");
  return load_config((path / "config.yaml").string());
}

TrainerState load_trainer_state(const std::string& dir) {
  const fs::path path(dir);
  require_file(path, "trainer_state.json");
  nlohmann::json meta;
  try {
    meta = nlohmann::json::parse(read_text(path / "trainer_state.json"));
  } catch (const nlohmann::json::exception& e) {
    throw UserError(absl::StrCat((path / "trainer_state.json").string(), ": not valid JSON (", e.what(), ")"));
  }
  SSM_USER_CHECK(meta.value("format_version", 0) == kFormatVersion, (path / "trainer_state.json").string(),
                 ": unsupported checkpoint format version ", meta.value("format_version", 0));
  TrainerState state;
  state.step = meta.value("step", int64_t{0});
  state.tokens_seen = meta.value("tokens_seen", int64_t{0});
  state.elapsed_s = meta.value("elapsed_s", 0.0);
  state.micro_batches_per_step = meta.value("micro_batches_per_step", int64_t{0});

  state.optimizer_step = meta.value("optimizer_step", state.step);
  return state;
}

TrainerState load_checkpoint(const std::string& dir, LanguageModel& model, AdamW* optimizer) {
  const fs::path path(dir);
  require_file(path, "model.safetensors");
  require_file(path, "trainer_state.json");
  SafetensorsFile weights = load_safetensors((path / "model.safetensors").string());
  for (NamedParameter& p : model.named_parameters()) {
    SSM_USER_CHECK(weights.contains(p.name), (path / "model.safetensors").string(), ": missing tensor '", p.name, "'");
    Tensor stored = weights.get(p.name);
    SSM_USER_CHECK(stored.shape() == p.tensor.shape(), (path / "model.safetensors").string(), ": tensor '", p.name,
                   "' has shape ", shape_str(stored.shape()), ", the model expects ", shape_str(p.tensor.shape()));
    p.tensor.copy_from(stored.dtype() == p.tensor.dtype() ? stored : stored.to(p.tensor.dtype()));
  }

  const TrainerState state = load_trainer_state(dir);
  if (optimizer) {
    require_file(path, "optimizer.safetensors");
    SafetensorsFile moments = load_safetensors((path / "optimizer.safetensors").string());
    optimizer->load_state(
        [&](const std::string& name) {
          SSM_USER_CHECK(moments.contains(name), (path / "optimizer.safetensors").string(), ": missing tensor '",
                         name, "'");
          return moments.get(name);
        },
        state.optimizer_step);
  }
  return state;
}

std::unique_ptr<LanguageModel> load_model(const std::string& dir, Config* config_out) {
  Config config = read_checkpoint_config(dir);
  const int64_t vocab = make_tokenizer(config.data.tokenizer)->vocab_size();
  std::unique_ptr<LanguageModel> model = make_model(config.model, vocab, config.run.seed);
  load_checkpoint(dir, *model, nullptr);
  if (config_out) *config_out = config;
  return model;
}

}  // namespace ssm
