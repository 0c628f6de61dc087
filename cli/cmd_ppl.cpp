// cli/cmd_ppl.cpp — `ssmlab ppl --model DIR`: per-token loss against position on long documents
// or a synthetic prompt, streamed through the state (eval/position_loss.h), with the collapse
// verdict on the terminal and the files of eval/position_loss_report.h.
#include <cstdio>

#include "cli/args.h"                   // defines: Args
#include "cli/commands.h"               // defines: the cmd_* entry points
#include "cli/eval_flags.h"             // defines: model_options, text_from_args, ...
#include "core/error.h"                 // defines: SSM_USER_CHECK
#include "eval/position_loss.h"         // defines: measure_position_loss
#include "eval/position_loss_report.h"  // defines: write_position_loss_report

namespace ssm::cli {

int cmd_ppl(int argc, char** argv) {
  Args args("ppl",
            join({model_options(), text_options("the loss", "16x the training length", "4"),
                  {{"bucket", "positions per bucket of the loss curve", false, false, "128"},
                   {"smooth", "buckets in the trailing mean the collapse rule reads (1 = none)", false, false, "8"},
                   {"chunk", "tokens per forward call (memory is that of one chunk)", false, false, "2048"}},
                  mitigation_options(), output_options("ppl")}),
            argc, argv, 2);
  if (args.help_requested()) {
    std::fputs(args.usage("--model DIR [--data PATH | --prompt newlines] [options]").c_str(), stdout);
    return 0;
  }
  SSM_USER_CHECK(args.positionals().empty(), "ssmlab ppl takes no positional arguments, got '",
                 args.positionals().front(), "'");
  PositionLossOptions options;
  options.bucket = args.get_int("bucket");
  options.smooth = args.get_int("smooth");
  options.chunk = args.get_int("chunk");
  const int64_t docs = args.get_int("docs");
  SSM_USER_CHECK(docs > 0, "--docs must be positive, got ", docs);

  LoadedModel m = load_model(args);
  LanguageModel& model = *m.eval.model;
  options.train_length = m.eval.train_length;
  const int64_t length = args.has("length") ? get_length(args, "length") : 16 * m.eval.train_length;
  Mitigations mitigations = mitigations_from_args(args, model);
  std::string source;
  const EvalSequences text = text_from_args(args, m.eval, length, docs, "", &source);
  if (mitigations.state_norm) {
    prepare_state_norm(mitigations, model, norm_reference_from_args(args, m.eval, &text.sequences.front()), m.device);
  }

  const bool quiet = args.flag("quiet");
  int64_t next_report = 0;
  const PositionLossResult result =
      measure_position_loss(model, text.sequences, options, mitigations, m.device, [&](int64_t done, int64_t total) {
        if (!quiet && (done >= next_report || done == total)) {
          std::printf("%lld / %lld tokens\n", static_cast<long long>(done), static_cast<long long>(total));
          std::fflush(stdout);
          next_report = done + std::max<int64_t>(total / 10, 1);
        }
      });
  const ReportTarget target{out_dir(args, "ppl"), "", mitigations.describe() == "none" ? "" : mitigations.describe(),
                            m.eval.train_length};
  write_position_loss_report(target, result, options);
  if (!quiet) {
    std::printf("model: %s\ntext: %s, %lld sequence(s) of %lld tokens\nmitigations: %s\n"
                "loss within training length (%lld): %.4f\nloss beyond: %.4f\nstate collapse: %s\nreport: %s\n",
                m.eval.description.c_str(), source.c_str(), static_cast<long long>(result.sequences),
                static_cast<long long>(result.length), mitigations.describe().c_str(),
                static_cast<long long>(options.train_length), result.loss_within, result.loss_beyond,
                result.verdict().c_str(), target.dir.c_str());
  }
  return 0;
}

}  // namespace ssm::cli
