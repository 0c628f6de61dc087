// cli/cmd_capacity.cpp — `ssmlab capacity --model DIR`: passkey retrieval, loss by position and
// state statistics of a checkpoint (ssmlab's or a public one), a terminal summary and a report
// folder.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/error.h"
#include "eval/capacity_report.h"  // defines: run_capacity, write_capacity_report
#include "eval/eval_model.h"       // defines: load_eval_model
#include "train/dataset.h"         // defines: load_corpus
#include "train/trainer.h"         // defines: resolve_device

namespace ssm::cli {
namespace {

// The long document for loss by position: --document FILE, or else the longest held-out
// document of the model's first text/bible training source (ssmlab checkpoints only).
std::vector<TokenId> long_document(const Args& args, const std::optional<Config>& maybe_config,
                                   const Tokenizer& tokenizer) {
  if (args.has("document")) {
    const std::string path = args.get("document");
    std::ifstream in(path, std::ios::binary);
    SSM_USER_CHECK(in.good(), "--document: cannot read '", path, "'");
    return tokenizer.encode(std::string(std::istreambuf_iterator<char>(in), {}));
  }
  SSM_USER_CHECK(maybe_config.has_value(), "a public checkpoint has no training data to take a long document from: ",
                 "pass --document FILE");
  const Config& config = *maybe_config;
  for (size_t i = 0; i < config.data.sources.size(); ++i) {
    const DataSource& src = config.data.sources[i];
    if (src.kind == "passkey") continue;
    const Corpus corpus = load_corpus(src, "data.sources[" + std::to_string(i) + "]", tokenizer,
                                      std::max(config.data.valid_fraction, 0.01));
    return corpus.longest_valid_doc();
  }
  throw UserError("no text source in the model's config to take a long document from: pass --document FILE");
}

}  // namespace

int cmd_capacity(int argc, char** argv) {
  Args args("capacity",
            {{"model", "checkpoint directory (runs/<run>/ckpt, or a public checkpoint)"},
             {"tokenizer", "tokenizer file, when the checkpoint ships none", false, false, "the checkpoint's"},
             {"train-length", "the model's training length in tokens", false, false,
              "data.seq_len, or the publisher's"},
             {"out", "report folder", false, false, "<model>/../capacity"},
             {"lengths", "passkey prompt lengths in tokens, comma-separated", false, false,
              "1x,2x,4x,8x,16x the training length"},
             {"samples", "passkey samples per length (depths (i+0.5)/n)", false, false, "10"},
             {"document", "text file for loss by position and state statistics", false, false,
              "longest held-out training document"},
             {"ppl-length", "tokens of the document to use (0 = all)", false, false, "0"},
             {"device", "auto | cpu | cuda", false, false, "auto"},
             {"seed", "passkey key seed", false, false, "0"},
             {"quiet", "print nothing but errors", true}},
            argc, argv, 2);
  if (args.help_requested()) {
    std::fputs(args.usage("--model DIR [options]").c_str(), stdout);
    return 0;
  }
  SSM_USER_CHECK(args.has("model"), "ssmlab capacity needs --model DIR");
  const std::string model_dir = args.get("model");
  EvalModelOptions load_options;
  if (args.has("tokenizer")) load_options.tokenizer = args.get("tokenizer");
  if (args.has("train-length")) load_options.train_length = args.get_int("train-length");
  EvalModel loaded = load_eval_model(model_dir, load_options);
  LanguageModel* model = loaded.model.get();
  const Tokenizer* tokenizer = loaded.tokenizer.get();
  const Device device = resolve_device(args.get("device"));
  model->to(device);

  CapacityOptions options;
  options.train_length = loaded.train_length;
  options.model_name = model_dir;
  options.out_dir = args.has("out") ? args.get("out")
                                    : (std::filesystem::path(model_dir).lexically_normal().parent_path() / "capacity").string();
  if (args.has("lengths")) {
    options.passkey.lengths = args.get_int_list("lengths");
  } else {
    options.passkey.lengths.clear();
    for (int64_t f : {1, 2, 4, 8, 16}) options.passkey.lengths.push_back(f * options.train_length);
  }
  options.passkey.samples_per_length = args.get_int("samples");
  SSM_USER_CHECK(options.passkey.samples_per_length > 0, "--samples must be positive");
  options.passkey.depth_bins = std::min<int64_t>(10, options.passkey.samples_per_length);
  options.passkey.seed = static_cast<uint64_t>(args.get_int("seed"));

  std::vector<TokenId> document = long_document(args, loaded.config, *tokenizer);
  const int64_t ppl_length = args.get_int("ppl-length");
  if (ppl_length > 0 && static_cast<int64_t>(document.size()) > ppl_length) document.resize(ppl_length);
  SSM_USER_CHECK(document.size() >= 2, "the long document has fewer than 2 tokens");

  const CapacityReport report = run_capacity(*model, *tokenizer, document, options, device);
  write_capacity_report(report, options);
  if (!args.flag("quiet")) {
    std::printf("%s\nreport: %s/report.md\n", capacity_summary_table(report, options).c_str(), options.out_dir.c_str());
  }
  return 0;
}

}  // namespace ssm::cli
