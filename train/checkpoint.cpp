// train/checkpoint.cpp — atomic checkpoint directories.
#include "train/checkpoint.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <nlohmann/json.hpp>  // defines: nlohmann::json

#include "absl/strings/str_format.h"  // defines: absl::StrFormat
#include "core/error.h"
#include "core/json_read.h"    // defines: read_json_file, describe_json
#include "core/safetensors.h"  // defines: save_safetensors, load_safetensors
#include "models/model_factory.h"  // defines: make_model
#include "train/run_dir.h"         // defines: write_file_atomically
#include "train/text/tokenizer.h"   // defines: make_tokenizer, tokenizer_file, find_tokenizer_file

namespace ssm {
namespace fs = std::filesystem;

namespace {

constexpr int kFormatVersion = 1;

// Fsynced before the staged directory is swapped in, like the safetensors files beside it, so
// the swap never publishes a checkpoint whose small files are still only in the page cache.
void write_text(const fs::path& path, const std::string& text) { write_file_atomically(path.string(), text); }

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

// The step a checkpoint directory holds, or -1 when unreadable (it then is not kept by name).
int64_t step_of(const fs::path& dir) {
  try {
    return load_trainer_state(dir.string()).step;
  } catch (const UserError&) {
    return -1;
  }
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

// Steps and counters are exact integers in JSON readers (2^53); a larger step is no real run's
// and would overflow the step arithmetic that follows.
constexpr int64_t kMaxCount = int64_t{1} << 53;

// A non-negative integer of trainer_state.json, at most kMaxCount; `fallback` when absent (a
// required key has none). Every other case is a UserError naming the file and the key.
int64_t state_count(const nlohmann::json& meta, const std::string& file, const char* key,
                    std::optional<int64_t> fallback) {
  const auto it = meta.find(key);
  if (it == meta.end()) {
    SSM_USER_CHECK(fallback.has_value(), file, ": missing \"", key, "\"; without it the run cannot resume (and ",
                   "restarting at step 0 would discard its metrics)");
    return *fallback;
  }
  // Non-negative JSON integers parse as unsigned; negative ones, floats and strings do not.
  const bool ok = it->is_number_unsigned() && it->get<uint64_t>() <= static_cast<uint64_t>(kMaxCount);
  SSM_USER_CHECK(ok, file, ": \"", key, "\" must be an integer in [0, ", kMaxCount, "], got ", describe_json(*it));
  return it->get<int64_t>();
}

// Checks `stored` (read from `file`) against `targets` (the model's parameters or the optimizer's
// moments): every one must be there with the same shape, and every tensor of the file must be
// one of them — one left over means config.yaml describes a different model than the weights.
void check_matching(const SafetensorsFile& stored, const fs::path& file,
                    const std::vector<std::pair<std::string, Tensor>>& targets, const std::string& owner) {
  std::set<std::string> expected;
  for (const auto& [name, target] : targets) {
    SSM_USER_CHECK(stored.contains(name), file.string(), ": missing tensor '", name, "'");
    const Shape& shape = stored.shape(name);
    SSM_USER_CHECK(shape == target.shape(), file.string(), ": tensor '", name, "' has shape ", shape_str(shape), ", ",
                   owner, " expects ", shape_str(target.shape()));
    expected.insert(name);
  }
  for (const std::string& name : stored.names()) {
    SSM_USER_CHECK(expected.count(name) != 0, file.string(), ": tensor '", name, "' ", shape_str(stored.shape(name)),
                   " has no place in ", owner, "; the checkpoint's config.yaml does not describe these weights");
  }
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
  // The tokenizer travels with the weights: the path in config.yaml may not exist where the
  // checkpoint is read.
  const std::string tokenizer = tokenizer_file(config.data.tokenizer);
  if (!tokenizer.empty()) {
    const bool json = fs::path(tokenizer).extension() == ".json";
    fs::copy_file(tokenizer, staged / (json ? "tokenizer.json" : "rwkv_vocab.txt"));
  }
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
  // The tokenizer copy a checkpoint holds replaces the run's path (a JSON string is a YAML scalar,
  // whatever characters the path has). A checkpoint from before copies were kept has none.
  const std::string shipped = find_tokenizer_file(dir);
  if (shipped.empty()) return load_config((path / "config.yaml").string());
  return load_config((path / "config.yaml").string(), {"data.tokenizer=" + nlohmann::json(shipped).dump()});
}

TrainerState load_trainer_state(const std::string& dir) {
  const fs::path path(dir);
  require_file(path, "trainer_state.json");
  const std::string file = (path / "trainer_state.json").string();
  const nlohmann::json meta = read_json_file(file);
  SSM_USER_CHECK(meta.is_object(), file, ": must be a JSON object of the run's counters, got ", describe_json(meta));
  const auto version = meta.find("format_version");
  SSM_USER_CHECK(version != meta.end() && version->is_number_integer() && version->get<int64_t>() == kFormatVersion,
                 file, ": unsupported checkpoint format version ",
                 version == meta.end() ? std::string("(none)") : describe_json(*version));
  TrainerState state;
  state.step = state_count(meta, file, "step", std::nullopt);
  state.tokens_seen = state_count(meta, file, "tokens_seen", 0);
  state.micro_batches_per_step = state_count(meta, file, "micro_batches_per_step", 0);
  state.optimizer_step = state_count(meta, file, "optimizer_step", state.step);
  if (const auto elapsed = meta.find("elapsed_s"); elapsed != meta.end()) {
    SSM_USER_CHECK(elapsed->is_number() && std::isfinite(elapsed->get<double>()) && elapsed->get<double>() >= 0, file,
                   ": \"elapsed_s\" must be a finite number >= 0, got ", describe_json(*elapsed));
    state.elapsed_s = elapsed->get<double>();
  }
  return state;
}

TrainerState load_checkpoint(const std::string& dir, LanguageModel& model, AdamW* optimizer) {
  const fs::path path(dir);
  require_file(path, "model.safetensors");
  // The counters first: they are cheap to check, and a bad one must stop a resume before anything.
  const TrainerState state = load_trainer_state(dir);
  std::vector<std::pair<std::string, Tensor>> params;
  for (NamedParameter& p : model.named_parameters()) params.emplace_back(p.name, p.tensor);
  const SafetensorsFile weights = load_safetensors((path / "model.safetensors").string());
  // The writer records the architecture; a config.yaml of another one cannot describe the weights.
  const auto arch = weights.metadata().find("architecture");
  SSM_USER_CHECK(arch == weights.metadata().end() || arch->second == model.architecture(),
                 (path / "model.safetensors").string(), ": holds ", arch->second, " weights, but config.yaml describes ",
                 "a ", model.architecture(), " model");
  check_matching(weights, path / "model.safetensors", params,
                 absl::StrCat("the ", model.architecture(), " model of config.yaml"));
  for (auto& [name, tensor] : params) {
    const Tensor stored = weights.get(name);
    tensor.copy_from(stored.dtype() == tensor.dtype() ? stored : stored.to(tensor.dtype()));
  }
  if (optimizer) {
    require_file(path, "optimizer.safetensors");
    const SafetensorsFile moments = load_safetensors((path / "optimizer.safetensors").string());
    check_matching(moments, path / "optimizer.safetensors", optimizer->state_tensors(), "the optimizer for that model");
    optimizer->load_state([&](const std::string& name) { return moments.get(name); }, state.optimizer_step);
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
