// cli/cmd_capacity.cpp — `ssmlab capacity --model DIR`: T_recall (passkey, searched over
// lengths), the T_forget verdict (loss by position and the collapse rule) and state statistics of
// a checkpoint, with and without the selected mitigations (eval/capacity.h); a summary table on
// the terminal and the report folder of eval/capacity_report.h.
#include <cstdio>

#include "cli/args.h"              // defines: Args
#include "cli/commands.h"          // defines: the cmd_* entry points
#include "cli/eval_flags.h"        // defines: model_options, text_from_args, ...
#include "core/error.h"            // defines: SSM_USER_CHECK
#include "eval/capacity.h"         // defines: measure_capacity, CapacityOptions
#include "eval/capacity_report.h"  // defines: write_capacity_report, capacity_summary_table

namespace ssm::cli {

int cmd_capacity(int argc, char** argv) {
  Args args("capacity",
            join({model_options(),
                  {{"start-length", "first passkey length of the T_recall search (K suffix allowed)", false, false,
                    "the training length"},
                   {"max-length", "longest passkey length tried", false, false, "64x the start length"},
                   {"resolution", "the search refines until pass and fail are this close", false, false,
                    "1/8 of the training length"},
                   {"samples", "passkey prompts per length (depths (i+0.5)/n)", false, false, "10"},
                   {"depth-bins", "heatmap rows", false, false, "10"},
                   {"seed", "seed of the passkey keys", false, false, "0"},
                   {"bos", "prepend the tokenizer's BOS token to passkey prompts", true}},
                  text_options("loss by position", "16x the training length", "4"),
                  {{"bucket", "positions per loss bucket", false, false, "128"},
                   {"smooth", "buckets in the trailing mean the collapse rule reads", false, false, "8"},
                   {"state-length", "tokens of the first sequence read for state statistics", false, false,
                    "4x the training length"},
                   {"layers", "layers for state statistics: 0,2,5, 0:7 or all", false, false, "all"},
                   {"heads", "heads for state statistics: 0,2,5, 0:7 or all", false, false, "the first 8"}},
                  mitigation_options(), output_options("capacity")}),
            argc, argv, 2);
  if (args.help_requested()) {
    std::fputs(args.usage("--model DIR [options]").c_str(), stdout);
    return 0;
  }
  SSM_USER_CHECK(args.positionals().empty(), "ssmlab capacity takes no positional arguments, got '",
                 args.positionals().front(), "'");
  LoadedModel m = load_model(args);
  LanguageModel& model = *m.eval.model;
  const int64_t T = m.eval.train_length;

  CapacityOptions options;
  options.device = m.device;
  if (args.has("start-length")) options.recall.start = get_length(args, "start-length");
  if (args.has("max-length")) options.recall.max_length = get_length(args, "max-length");
  if (args.has("resolution")) options.recall.resolution = get_length(args, "resolution");
  options.passkey.samples = args.get_int("samples");
  options.passkey.depth_bins = args.get_int("depth-bins");
  options.passkey.seed = static_cast<uint64_t>(args.get_int("seed"));
  options.passkey.bos = args.flag("bos");
  options.loss.bucket = args.get_int("bucket");
  options.loss.smooth = args.get_int("smooth");
  if (args.has("state-length")) options.state_length = get_length(args, "state-length");
  options.states.layers = get_index_list(args, "layers", model.num_layers(), "layer");
  const int64_t H = model.init_state(1, Device::cpu()).layers.at(0).at(model.recurrent_state_name()).size(1);
  if (args.has("heads")) {
    options.states.heads = get_index_list(args, "heads", H, "head");
  } else {
    for (int64_t h = 0; h < std::min<int64_t>(H, 8); ++h) options.states.heads.push_back(h);
  }
  options.mitigations = mitigations_from_args(args, model);
  const int64_t docs = args.get_int("docs");
  SSM_USER_CHECK(docs > 0, "--docs must be positive, got ", docs);
  const int64_t length = args.has("length") ? get_length(args, "length") : 16 * T;
  std::string source;
  options.loss_sequences = text_from_args(args, m.eval, length, docs, "", &source).sequences;
  if (options.mitigations.state_norm) {
    options.norm_reference = norm_reference_from_args(args, m.eval, &options.loss_sequences.front());
  }
  const bool quiet = args.flag("quiet");
  if (!quiet) {
    std::printf("model: %s\nloss text: %s\n", m.eval.description.c_str(), source.c_str());
    options.log = [](const std::string& line) {
      std::printf("%s\n", line.c_str());
      std::fflush(stdout);
    };
  }

  const CapacityResult result = measure_capacity(m.eval, options);
  const std::string dir = out_dir(args, "capacity");
  write_capacity_report(dir, result);
  if (!quiet) std::printf("\n%s\nreport: %s/report.md\n", capacity_summary_table(result).c_str(), dir.c_str());
  return 0;
}

}  // namespace ssm::cli
