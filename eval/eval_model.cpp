// eval/eval_model.cpp — one loader for both kinds of model directory.
#include "eval/eval_model.h"

#include "absl/strings/str_format.h"  // defines: absl::StrFormat
#include "core/error.h"               // defines: SSM_USER_CHECK
#include "train/checkpoint.h"         // defines: load_model
#include "train/pretrained.h"         // defines: is_pretrained_dir, load_pretrained

namespace ssm {

int64_t publisher_train_length(const std::string& arch) {
  if (arch == "mamba2") return 8192;
  if (arch == "rwkv5" || arch == "rwkv6") return 4096;
  return 2048;
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
