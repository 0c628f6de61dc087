// cli/cmd_states.cpp — `ssmlab states --model DIR`: per layer and head over time, the recurrent
// state's moments, retention, Δ/B/x (or k/v) statistics and outlier elements
// (eval/state_stats.h), written as eval/state_report.h describes.
#include <cstdio>

#include "cli/args.h"           // defines: Args
#include "cli/commands.h"       // defines: the cmd_* entry points
#include "cli/eval_flags.h"     // defines: model_options, text_from_args, get_index_list, ...
#include "core/checked_size.h"  // defines: check_allocation
#include "core/error.h"         // defines: SSM_USER_CHECK
#include "eval/state_report.h"  // defines: write_state_report
#include "eval/state_stats.h"   // defines: measure_state_statistics

namespace ssm::cli {

int cmd_states(int argc, char** argv) {
  Args args("states",
            join({model_options(), text_options("the input", "4x the training length", "1"),
                  {{"layers", "layers to record: 0,2,5, a range 0:7, or all", false, false, "all"},
                   {"heads", "heads (Mamba-1: channels) to record: 0,2,5, a range 0:7, or all", false, false,
                    "the first 8"},
                   {"chunk", "tokens between readings (the paper's 128)", false, false, "128"},
                   {"top-k", "outlier elements reported per head", false, false, "8"},
                   {"bins", "histogram bins", false, false, "40"}},
                  mitigation_options(), output_options("states")}),
            argc, argv, 2);
  if (args.help_requested()) {
    std::fputs(args.usage("--model DIR [--prompt newlines | --data PATH] [options]").c_str(), stdout);
    return 0;
  }
  SSM_USER_CHECK(args.positionals().empty(), "ssmlab states takes no positional arguments, got '",
                 args.positionals().front(), "'");
  StateStatsOptions options;
  options.chunk = args.get_int("chunk");
  options.top_k = args.get_int("top-k");
  options.histogram_bins = args.get_int("bins");
  // Each head's histogram holds its edges and two counts per bin (eval/state_stats.h).
  check_allocation(static_cast<double>(options.histogram_bins) * 3 * sizeof(double),
                   absl::StrCat("--bins ", options.histogram_bins));

  LoadedModel m = load_model(args);
  LanguageModel& model = *m.eval.model;
  options.train_length = m.eval.train_length;
  // Indices are checked against the model before a range is expanded (cli/eval_flags.h).
  options.layers = get_index_list(args, "layers", model.num_layers(), "layer");
  const int64_t H = model.init_state(1, Device::cpu()).layers.at(0).at(model.recurrent_state_name()).size(1);
  if (args.has("heads")) {
    options.heads = get_index_list(args, "heads", H, "head");
  } else {
    for (int64_t h = 0; h < std::min<int64_t>(H, 8); ++h) options.heads.push_back(h);
  }
  const int64_t length = args.has("length") ? get_length(args, "length") : 4 * m.eval.train_length;
  SSM_USER_CHECK(args.get_int("docs") == 1, "ssmlab states reads one sequence: --docs must be 1");
  Mitigations mitigations = mitigations_from_args(args, model);
  std::string source;
  // The paper reads its state statistics on the newlines prompt, so that is the default here.
  const EvalSequences text = text_from_args(args, m.eval, length, 1, args.has("data") ? "" : "newlines", &source);
  if (mitigations.state_norm) {
    prepare_state_norm(mitigations, model, norm_reference_from_args(args, m.eval, &text.sequences.front()), m.device);
  }
  const StateStatsResult result = measure_state_statistics(model, text.sequences.front(), options, mitigations, m.device);
  const ReportTarget target{out_dir(args, "states"), "",
                            mitigations.describe() == "none" ? "" : mitigations.describe(), m.eval.train_length};
  write_state_report(target, result);
  if (!args.flag("quiet")) {
    std::printf("model: %s\ninput: %s, %lld tokens\nmitigations: %s\nstate '%s': %zu layer(s) x %zu head(s), "
                "read every %lld tokens; outliers between t=%lld and t=%lld\nreport: %s\n",
                m.eval.description.c_str(), source.c_str(), static_cast<long long>(result.tokens),
                mitigations.describe().c_str(), result.state_name.c_str(), result.layers.size(), result.heads.size(),
                static_cast<long long>(options.chunk), static_cast<long long>(result.before_position),
                static_cast<long long>(result.after_position), target.dir.c_str());
  }
  return 0;
}

}  // namespace ssm::cli
