// cli/cmd_ppl.cpp — `ssmlab ppl --model DIR`: per-token loss against position on long documents
// or a synthetic prompt, streamed through the state (eval/position_loss.h), with the collapse
// verdict on the terminal and the files of eval/position_loss_report.h. --per-token FILE also
// writes every scored position's loss unrounded and unbucketed (docs/loss_by_position.md), for
// comparing with another implementation token by token. Several --arm options measure the same
// text under each arm's mitigations and draw them on one figure with one table
// (write_position_loss_comparison; docs/mitigations.md).
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <set>

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
                   {"chunk", "tokens per forward call (memory is that of one chunk)", false, false, "2048"},
                   {"per-token",
                    "also write every scored position to FILE, as CSV: sequence,position,token,target,loss\n"
                    "(position t reads token, predicts target, the token at t+1; loss in nats, unrounded)"},
                   {"arm",
                    "one arm of a comparison (repeatable): none, or mitigations joined by + with values\n"
                    "after =: rri[=L,G], window=R, delta-scale=C, state-norm; e.g. --arm none --arm window=256\n"
                    "--arm rri --arm state-norm. All arms on one figure and one table",
                    false, true}},
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
  // Opened before the model loads, so a path that cannot be written fails at once.
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> per_token(nullptr, &std::fclose);
  const std::string per_token_path = args.has("per-token") ? args.get("per-token") : "";
  if (args.has("per-token")) {
    per_token.reset(std::fopen(per_token_path.c_str(), "w"));
    SSM_USER_CHECK(per_token != nullptr, "--per-token: cannot write '", per_token_path, "': ", std::strerror(errno));
    std::fputs("sequence,position,token,target,loss\n", per_token.get());
  }

  const std::vector<std::string> arm_specs = args.get_all("arm");
  for (const char* flag : {"rri", "window", "delta-scale", "state-norm"}) {
    SSM_USER_CHECK(arm_specs.empty() || !args.has(flag), "--arm and --", flag,
                   " exclude each other: give every arm its mitigations in its own --arm");
  }
  SSM_USER_CHECK(arm_specs.size() <= 1 || !args.has("per-token"), "--per-token writes the losses of one arm, but ",
                 arm_specs.size(), " --arm were given");

  LoadedModel m = load_model(args);
  LanguageModel& model = *m.eval.model;
  options.train_length = m.eval.train_length;
  const int64_t length = args.has("length") ? get_length(args, "length") : 16 * m.eval.train_length;
  // Every arm is parsed and checked before the long measurements start.
  std::vector<std::pair<std::string, Mitigations>> arms;
  std::set<std::string> names;
  for (const std::string& spec : arm_specs) {
    std::string name = spec;  // the arm's folder: the spec with only file-name-safe characters
    for (char& c : name) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-') c = '_';
    }
    SSM_USER_CHECK(names.insert(name).second, "--arm '", spec, "' is given twice");
    arms.emplace_back(name, mitigations_from_spec(spec, model));
  }
  if (arms.empty()) arms.emplace_back("", mitigations_from_args(args, model));
  std::string source;
  const EvalSequences text = text_from_args(args, m.eval, length, docs, "", &source);

  const bool quiet = args.flag("quiet");
  std::vector<PositionLossArm> results;
  for (auto& [name, mitigations] : arms) {
    if (mitigations.state_norm) {
      prepare_state_norm(mitigations, model, norm_reference_from_args(args, m.eval, &text.sequences.front()),
                         m.device);
    }
    int64_t next_report = 0;
    const PositionLossResult result = measure_position_loss(
        model, text.sequences, options, mitigations, m.device,
        [&, &name = name](int64_t done, int64_t total) {
          if (!quiet && (done >= next_report || done == total)) {
            std::printf("%s%lld / %lld tokens\n", name.empty() ? "" : (name + ": ").c_str(),
                        static_cast<long long>(done), static_cast<long long>(total));
            std::fflush(stdout);
            next_report = done + std::max<int64_t>(total / 10, 1);
          }
        },
        [&](int64_t sequence, int64_t position, TokenId token, TokenId target, double loss) {
          if (per_token) {
            std::fprintf(per_token.get(), "%lld,%lld,%lld,%lld,%.17g\n", static_cast<long long>(sequence),
                         static_cast<long long>(position), static_cast<long long>(token),
                         static_cast<long long>(target), loss);
          }
        });
    results.push_back({name, mitigations.describe(), result});
  }
  if (per_token) {  // a full disk shows up here, at the latest
    const bool written = std::ferror(per_token.get()) == 0;
    SSM_USER_CHECK(std::fclose(per_token.release()) == 0 && written, "--per-token: cannot write '", per_token_path,
                   "': ", std::strerror(errno));
  }
  const std::string dir = out_dir(args, "ppl");
  if (!arm_specs.empty()) {
    write_position_loss_comparison(dir, m.eval.description, results, options);
    if (!quiet) {
      std::printf("model: %s\ntext: %s, %lld sequence(s) of %lld tokens\ntraining length: %lld\n%sreport: %s\n",
                  m.eval.description.c_str(), source.c_str(), static_cast<long long>(results.front().result.sequences),
                  static_cast<long long>(results.front().result.length), static_cast<long long>(options.train_length),
                  aligned_table(position_loss_arms_header(), position_loss_arms_rows(results)).c_str(),
                  (dir + "/report.md").c_str());
    }
    return 0;
  }
  const PositionLossResult& result = results.front().result;
  const Mitigations& mitigations = arms.front().second;
  const ReportTarget target{dir, "", mitigations.describe() == "none" ? "" : mitigations.describe(),
                            m.eval.train_length};
  write_position_loss_report(target, result, options);
  if (!quiet) {
    std::printf("model: %s\ntext: %s, %lld sequence(s) of %lld tokens\nmitigations: %s\n"
                "loss within training length (%lld): %.4f\nloss beyond: %.4f\nstate collapse: %s\nreport: %s\n",
                m.eval.description.c_str(), source.c_str(), static_cast<long long>(result.sequences),
                static_cast<long long>(result.length), mitigations.describe().c_str(),
                static_cast<long long>(options.train_length), result.loss_within, result.loss_beyond,
                result.verdict().c_str(), target.dir.c_str());
    if (!per_token_path.empty()) std::printf("per-token losses: %s\n", per_token_path.c_str());
  }
  return 0;
}

}  // namespace ssm::cli
