// cli/cmd_sweep.cpp — `ssmlab sweep [SWEEP.yaml] [options]`: train a grid of state sizes x
// training lengths, measure every run's capacity, fit the two capacity laws and write the report
// (eval/sweep_*.h). The grid comes from a sweep file (configs/repro/*.yaml), from flags, or from
// both (flags win). Running it again skips finished runs and resumes interrupted ones.
// `--compare LABEL=SWEEP.yaml` (repeatable) instead reads finished sweeps back and writes them
// side by side (eval/sweep_compare.h); it trains and measures nothing.
// Exit codes: 0 done, 2 bad input, 3 a run diverged, 130 / 143 stopped by SIGINT / SIGTERM
// (rerun the same command to continue).
#include <cstdio>
#include <filesystem>
#include <set>

#include "absl/strings/numbers.h"    // defines: absl::SimpleAtod
#include "absl/strings/str_cat.h"    // defines: absl::StrCat
#include "absl/strings/str_join.h"   // defines: absl::StrJoin
#include "absl/strings/str_split.h"  // defines: absl::StrSplit
#include "cli/args.h"                // defines: Args
#include "cli/commands.h"            // defines: the cmd_* entry points
#include "cli/eval_flags.h"          // defines: get_length
#include "core/error.h"              // defines: SSM_USER_CHECK
#include "eval/passkey.h"            // defines: parse_lengths
#include "eval/sweep_analysis.h"     // defines: analyse_sweep
#include "eval/sweep_compare.h"      // defines: load_compared_sweep, write_sweep_comparison
#include "eval/sweep_report.h"       // defines: write_sweep_report, sweep_summary_table
#include "eval/sweep_run.h"          // defines: run_sweep, inspect_sweep_run, resolve_sweep_eval

namespace ssm::cli {
namespace {

std::vector<OptionSpec> sweep_options() {
  return {{"config", "the base training config (a sweep file's base:)", false, false, "from the sweep file"},
          {"state", "a state size as overrides, e.g. d_state=32 or N32:d_state=32,headdim=16 (keys without a "
                    "section are model keys; repeatable; replaces the file's states)", false, true},
          {"lengths", "training lengths T_train, e.g. 128,256,1K (replaces the file's)"},
          {"tokens-per-step", "batch_size = this / T_train, the same tokens per step for every run"},
          {"set", "override a config key of every run, e.g. --set train.steps=800 (repeatable)", false, true},
          {"out", "run directories go to <out>/runs/<run>", false, false, "runs/sweep"},
          {"report", "the report folder", false, false, "<out>/report"},
          {"length", "tokens per loss-by-position sequence (K suffix allowed)", false, false,
           "16x the longest training length"},
          {"docs", "loss-by-position sequences", false, false, "4"},
          {"data", "loss-by-position text: a corpus (.txt, .jsonl, folder)", false, false,
           "the base config's held-out documents"},
          {"prompt", "loss-by-position text: newlines or capital"},
          {"samples", "passkey prompts per length", false, false, "10"},
          {"depth-bins", "passkey heatmap rows", false, false, "10"},
          {"seed", "seed of the passkey keys", false, false, "0"},
          {"start-length", "first length of each T_recall search", false, false, "the run's training length"},
          {"max-length", "longest passkey length tried", false, false, "64x the start length"},
          {"resolution", "T_recall search resolution", false, false, "1/8 of the training length"},
          {"bucket", "positions per loss bucket", false, false, "min(128, shortest training length / 4)"},
          {"smooth", "buckets in the trailing mean the collapse rule reads", false, false, "8"},
          {"state-length", "tokens read for state statistics", false, false, "4x the training length"},
          {"window", "mitigated arm: sliding window of N tokens, or 'train' for each run's T_train"},
          {"rri", "mitigated arm: RRI α←λα, B←γB", false, false, "", "0.9999,0.75"},
          {"delta-scale", "mitigated arm: Δ←c·Δ (Mamba)"},
          {"state-norm", "mitigated arm: the state norm (thresholds from one training length of newlines)", true},
          {"fit-state", "N_S the fits use: main (main recurrent state) or all (every state tensor, + conv)", false,
           false, "main"},
          {"anchor", "add the paper's (0, 0) anchor point to both fits", true},
          {"collapse-factor", "a run collapses when its loss past T_train exceeds this x its maximum within", false,
           false, "2, the paper's rule"},
          {"dry-run", "list the runs and what would be done to each, then stop", true},
          {"compare", "LABEL=SWEEP.yaml: a finished sweep to set beside the others (repeatable; trains and measures "
                      "nothing; the report goes to --report)", false, true},
          {"compare-length", "the training length whose runs the comparison figure plots", false, false,
           "the shortest one all compared sweeps have finished runs at"},
          {"quiet", "no training progress bars", true}};
}

SweepStatePoint state_from_flag(const std::string& text) {
  SweepStatePoint p;
  std::string body = text;
  if (const size_t colon = text.find(':'); colon != std::string::npos) {
    p.name = text.substr(0, colon);
    body = text.substr(colon + 1);
  }
  for (absl::string_view part : absl::StrSplit(body, ',', absl::SkipEmpty())) {
    std::string o(part);
    SSM_USER_CHECK(o.find('=') != std::string::npos, "--state '", text, "': expected key=value[,key=value...]");
    if (o.find('.') > o.find('=')) o = "model." + o;  // no section before '=': a model key
    p.overrides.push_back(o);
  }
  SSM_USER_CHECK(!p.overrides.empty(), "--state '", text, "': no overrides");
  if (p.name.empty()) p.name = state_point_name(p.overrides);
  return p;
}

void apply_flags(const Args& args, SweepSpec& s) {
  if (args.has("config")) s.base = args.get("config");
  if (args.has("state")) {
    s.states.clear();
    for (const std::string& text : args.get_all("state")) s.states.push_back(state_from_flag(text));
  }
  if (args.has("lengths")) s.lengths = parse_lengths(args.get("lengths"), "--lengths");
  if (args.has("tokens-per-step")) s.tokens_per_step = get_length(args, "tokens-per-step");
  for (const std::string& o : args.get_all("set")) s.overrides.push_back(o);
  if (args.has("out")) s.out = args.get("out");
  SweepEvalSpec& e = s.eval;
  if (args.has("length")) e.length = get_length(args, "length");
  if (args.has("docs")) e.docs = args.get_int("docs");
  if (args.has("data")) e.data = args.get("data"), e.prompt.clear();
  if (args.has("prompt")) e.prompt = args.get("prompt"), e.data.clear();
  if (args.has("samples")) e.samples = args.get_int("samples");
  if (args.has("depth-bins")) e.depth_bins = args.get_int("depth-bins");
  if (args.has("seed")) e.seed = static_cast<uint64_t>(args.get_int("seed"));
  if (args.has("start-length")) e.start_length = get_length(args, "start-length");
  if (args.has("max-length")) e.max_length = get_length(args, "max-length");
  if (args.has("resolution")) e.resolution = get_length(args, "resolution");
  if (args.has("bucket")) e.bucket = args.get_int("bucket");
  if (args.has("smooth")) e.smooth = args.get_int("smooth");
  if (args.has("state-length")) e.state_length = get_length(args, "state-length");
  if (args.has("window")) {
    e.window_train_length = args.get("window") == "train";
    e.window = e.window_train_length ? 0 : get_length(args, "window");
  }
  if (args.has("rri")) {
    const std::vector<std::string> parts = absl::StrSplit(args.get("rri"), ',');
    e.rri = parts.size() == 2 && absl::SimpleAtod(parts[0], &e.rri_lambda) && absl::SimpleAtod(parts[1], &e.rri_gamma);
    SSM_USER_CHECK(e.rri, "--rri: expected LAMBDA,GAMMA (e.g. 0.9999,0.75), got '", args.get("rri"), "'");
  }
  if (args.has("delta-scale")) {
    SSM_USER_CHECK(absl::SimpleAtod(args.get("delta-scale"), &e.delta_scale) && e.delta_scale > 0,
                   "--delta-scale: expected a positive number, got '", args.get("delta-scale"), "'");
  }
  if (args.flag("state-norm")) e.state_norm = true;
  if (args.has("fit-state")) s.fit.state = args.get("fit-state");
  if (args.flag("anchor")) s.fit.anchor = true;
  if (args.has("collapse-factor")) {
    SSM_USER_CHECK(absl::SimpleAtod(args.get("collapse-factor"), &s.fit.collapse_factor),
                   "--collapse-factor: expected a number, got '", args.get("collapse-factor"), "'");
  }
  SSM_USER_CHECK(e.docs > 0 && e.samples > 0 && e.depth_bins > 0 && e.smooth > 0 && e.bucket >= 0,
                 "--docs, --samples, --depth-bins, --smooth and --bucket must be positive");
}

// --compare: every sweep file read as `ssmlab sweep FILE` would read it, its finished runs set
// side by side. Flags that would change a grid or a measurement are refused: they would compare
// runs other than the ones on disk.
int compare_sweeps(const Args& args) {
  SSM_USER_CHECK(args.positionals().empty(), "ssmlab sweep --compare takes its sweep files as LABEL=SWEEP.yaml, ",
                 "not as a positional argument");
  for (const OptionSpec& o : sweep_options()) {
    const bool allowed = o.name == "compare" || o.name == "compare-length" || o.name == "report" || o.name == "quiet";
    SSM_USER_CHECK(allowed || !args.has(o.name), "ssmlab sweep --compare: --", o.name,
                   " is not read with --compare (each sweep file says how its runs were trained and measured)");
  }
  std::vector<ComparedSweep> sweeps;
  std::set<std::string> labels;
  for (const std::string& item : args.get_all("compare")) {
    const size_t eq = item.find('=');
    SSM_USER_CHECK(eq != std::string::npos && eq > 0 && eq + 1 < item.size(), "--compare '", item,
                   "': expected LABEL=SWEEP.yaml, e.g. Mamba-2=configs/repro/forget_sweep.yaml");
    const std::string label = item.substr(0, eq), file = item.substr(eq + 1);
    SSM_USER_CHECK(labels.insert(label).second, "--compare: the label '", label, "' is given twice");
    SweepSpec spec = load_sweep_spec(file);
    check_sweep_spec(spec);
    sweeps.push_back(load_compared_sweep(label, spec, file));
  }
  const int64_t length = args.has("compare-length") ? get_length(args, "compare-length") : default_compare_length(sweeps);
  const std::string report = args.has("report") ? args.get("report") : "runs/sweep_compare";
  write_sweep_comparison(report, sweeps, length);
  if (!args.flag("quiet")) {
    for (const ComparedSweep& s : sweeps) {
      std::printf("%-10s %-8s %2zu finished runs%s\n", s.label.c_str(), s.arch.c_str(), s.records.size(),
                  s.unfinished.empty() ? "" : absl::StrCat(", not finished: ", absl::StrJoin(s.unfinished, " ")).c_str());
    }
    std::printf("report: %s/compare.md\n", report.c_str());
  }
  return 0;
}

}  // namespace

int cmd_sweep(int argc, char** argv) {
  Args args("sweep", sweep_options(), argc, argv, 2);
  if (args.help_requested()) {
    std::fputs(args.usage("[SWEEP.yaml] [options]").c_str(), stdout);
    return 0;
  }
  if (args.has("compare")) return compare_sweeps(args);
  SSM_USER_CHECK(args.positionals().size() <= 1, "ssmlab sweep takes at most one sweep file, got ",
                 args.positionals().size(), " (see ssmlab sweep --help)");
  const std::string source = args.positionals().empty() ? "command-line flags" : args.positionals()[0];
  SweepSpec spec = args.positionals().empty() ? SweepSpec{} : load_sweep_spec(source);
  apply_flags(args, spec);
  check_sweep_spec(spec);
  const SweepEvalSpec eval = resolve_sweep_eval(spec);
  const bool quiet = args.flag("quiet");

  if (args.flag("dry-run")) {
    const std::string key = sweep_eval_key(eval);
    for (const SweepRun& run : expand_sweep(spec)) {
      const SweepRunStatus status = inspect_sweep_run(spec, run, sweep_run_config(spec, run), key);
      std::printf("%-8s %s  (%s)\n", status_name(status), run.name.c_str(), sweep_run_dir(spec, run).c_str());
    }
    return 0;
  }

  SweepRunOptions options;
  options.quiet = quiet;
  options.log = [](const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  };
  const SweepOutcome outcome = run_sweep(spec, options);
  if (outcome.stop_signal) {
    std::printf("stopped by a signal; rerun the same command to continue (finished runs are kept)\n");
    return 128 + outcome.stop_signal;
  }
  const SweepAnalysis analysis = analyse_sweep(outcome.records, spec.fit);
  const std::string report =
      args.has("report") ? args.get("report") : (std::filesystem::path(spec.out) / "report").string();
  write_sweep_report(report, spec, eval, source, outcome.records, analysis);
  std::printf("\nruns: %lld skipped (finished), %lld trained, %lld resumed, %lld measured\n\n%s\nreport: %s/report.md\n",
              static_cast<long long>(outcome.skipped), static_cast<long long>(outcome.trained),
              static_cast<long long>(outcome.resumed), static_cast<long long>(outcome.measured),
              sweep_summary_table(analysis).c_str(), report.c_str());
  return 0;
}

}  // namespace ssm::cli
