// eval/eval_model.cpp — one loader for both kinds of model directory.
#include "eval/eval_model.h"

#include <map>

#include "absl/strings/str_format.h"  // defines: absl::StrFormat
#include "core/error.h"               // defines: SSM_USER_CHECK
#include "train/checkpoint.h"         // defines: load_model
#include "train/pretrained.h"         // defines: is_pretrained_dir, load_pretrained

namespace ssm {

int64_t publisher_train_length(const std::string& arch) {
  // A fact about the released checkpoints, not the architecture, so it lives with their loader.
  static const std::map<std::string, int64_t> lengths = {
      {"mamba1", 2048}, {"mamba2", 8192}, {"rwkv5", 4096}, {"rwkv6", 4096}, {"hgrn2", 2048}};
  const auto it = lengths.find(arch);
  return it != lengths.end() ? it->second : 2048;  // an unlisted family: as the Mamba-1 and HGRN-2 releases
}

EvalModel load_eval_model(const std::string& dir, const EvalModelOptions& options) {
  EvalModel out;
  if (is_pretrained_dir(dir)) {
    PretrainedInfo info;
    out.model = load_pretrained(dir, &info);
    out.tokenizer = options.tokenizer.empty() ? find_tokenizer_in_dir(dir) : make_tokenizer(options.tokenizer);
    SSM_USER_CHECK(out.tokenizer != nullptr, "'", dir, "' ships no tokenizer (tokenizer.json or rwkv_vocab*.txt): ",
                   "pass --tokenizer FILE (or --tokenizer byte)");
    out.train_length = options.train_length > 0 ? options.train_length : publisher_train_length(info.model.arch);
    out.description = absl::StrFormat("%s (%s layout, %s, %d parameters)", dir, info.layout, info.model.arch,
                                      out.model->num_parameters());
  } else {
    Config config;
    out.model = load_model(dir, &config);
    out.tokenizer = make_tokenizer(options.tokenizer.empty() ? config.data.tokenizer : options.tokenizer);
    out.train_length = options.train_length > 0 ? options.train_length : config.data.seq_len;
    out.description = absl::StrFormat("%s (ssmlab checkpoint, %s, %d parameters)", dir, out.model->architecture(),
                                      out.model->num_parameters());
    out.config = std::move(config);
  }
  SSM_USER_CHECK(out.tokenizer->vocab_size() <= out.model->vocab_size(), "tokenizer ", out.tokenizer->name(),
                 " has ", out.tokenizer->vocab_size(), " ids but the model's vocabulary has ",
                 out.model->vocab_size(), " rows");
  return out;
}

}  // namespace ssm
