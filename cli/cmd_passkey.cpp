// cli/cmd_passkey.cpp — `ssmlab passkey --model DIR`: the paper's passkey-retrieval grid
// (eval/passkey.h) with optional mitigations; an accuracy table on the terminal and the files of
// eval/passkey_report.h.
#include <cstdio>

#include "cli/args.h"             // defines: Args
#include "cli/commands.h"         // defines: the cmd_* entry points
#include "cli/eval_flags.h"       // defines: model_options, load_model, mitigations_from_args, ...
#include "core/error.h"           // defines: SSM_USER_CHECK
#include "eval/passkey.h"         // defines: run_passkey, parse_lengths
#include "eval/passkey_report.h"  // defines: write_passkey_report, passkey_table

namespace ssm::cli {

int cmd_passkey(int argc, char** argv) {
  Args args("passkey",
            join({model_options(),
                  {{"lengths", "prompt lengths: 1K,2K,8K, or a range 1K:16K[:STEP] (K = 1024)", false, false,
                    "1K:16K"},
                   {"samples", "prompts per length; sample i has its needle at depth (i+0.5)/n", false, false, "20"},
                   {"depth-bins", "heatmap rows (the paper's figures: 20, with 200 samples)", false, false, "10"},
                   {"max-new-tokens", "greedy tokens per answer (more when the key needs more)", false, false, "5"},
                   {"last-r", "r of the last-r curves (needles within the last r tokens)", false, false,
                    "1K,2K,4K,8K"},
                   {"seed", "seed of the random 5-digit keys", false, false, "0"},
                   {"bos", "prepend the tokenizer's BOS token (the authors' use_bos)", true}},
                  mitigation_options(), output_options("passkey")}),
            argc, argv, 2);
  if (args.help_requested()) {
    std::fputs(args.usage("--model DIR [options]").c_str(), stdout);
    return 0;
  }
  SSM_USER_CHECK(args.positionals().empty(), "ssmlab passkey takes no positional arguments, got '",
                 args.positionals().front(), "'");
  PasskeyOptions options;
  options.lengths = parse_lengths(args.get("lengths"), "--lengths");
  options.samples = args.get_int("samples");
  options.depth_bins = args.get_int("depth-bins");
  options.max_new_tokens = args.get_int("max-new-tokens");
  options.last_r = parse_lengths(args.get("last-r"), "--last-r");
  options.seed = static_cast<uint64_t>(args.get_int("seed"));
  options.bos = args.flag("bos");

  LoadedModel m = load_model(args);
  LanguageModel& model = *m.eval.model;
  Mitigations mitigations = mitigations_from_args(args, model);
  if (mitigations.state_norm) {
    prepare_state_norm(mitigations, model, norm_reference_from_args(args, m.eval, nullptr), m.device);
  }
  const bool quiet = args.flag("quiet");
  int64_t done = 0, correct = 0;
  const PasskeyResult result =
      run_passkey(model, *m.eval.tokenizer, options, mitigations, m.device, [&](const PasskeySample& s) {
        correct += s.correct;
        if (!quiet && ++done % options.samples == 0) {  // the last sample of a length
          std::printf("length %lld: accuracy %.3f\n", static_cast<long long>(s.length),
                      static_cast<double>(correct) / static_cast<double>(options.samples));
          std::fflush(stdout);
          correct = 0;
        }
      });
  const ReportTarget target{out_dir(args, "passkey"), "", mitigations.describe() == "none" ? "" : mitigations.describe(),
                            m.eval.train_length};
  write_passkey_report(target, result, options);
  if (!quiet) {
    std::printf("%s\nmodel: %s\nmitigations: %s\nreport: %s\n", passkey_table(result).c_str(),
                m.eval.description.c_str(), mitigations.describe().c_str(), target.dir.c_str());
  }
  return 0;
}

}  // namespace ssm::cli
