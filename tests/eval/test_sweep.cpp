// tests/eval/test_sweep.cpp — the sweep's logic without the CLI: sweep files and their errors, grid
// expansion and run naming, what a second invocation does with each run directory (train,
// resume, measure, done; a changed config is refused), resuming an interrupted run in place, the
// run record's JSON, the analysis from records to T_forget, T_recall and the fits, and the
// titles and legends of the per-state loss figures.
#include <sys/stat.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "eval/sweep_analysis.h"
#include "eval/sweep_figures.h"
#include "eval/sweep_record.h"
#include "eval/sweep_run.h"
#include "eval/sweep_spec.h"
#include "tests/support/testing.h"
#include "train/trainer.h"

using namespace ssm;
namespace fs = std::filesystem;

namespace {

const fs::path kWork = fs::temp_directory_path() / "ssmlab_test_sweep";

// A tiny base config over a small text corpus (seq_len is set by the sweep).
std::string base_config() {
  static const std::string path = [] {
    fs::remove_all(kWork);
    ssm::testing::write_tiny_corpus(kWork / "corpus", "And the evening and the morning were the first day. ", 120);
    std::ofstream(kWork / "base.yaml")
        << "run: {device: cpu}\nmodel: {d_model: 16, n_layer: 1, d_state: 8, headdim: 8, chunk_size: 16}\n"
           "data:\n  seq_len: 64\n  batch_size: 2\n  valid_fraction: 0.34\n  sources:\n    - {kind: text, path: "
        << (kWork / "corpus").string() << "}\ntrain: {steps: 3, eval_every: 0, log_every: 1, ckpt_every: 10}\n";
    return (kWork / "base.yaml").string();
  }();
  return path;
}

SweepSpec tiny_spec(const std::string& out) {
  SweepSpec s;
  s.base = base_config();
  s.states = {{"N8", {"model.d_state=8"}}, {"N16", {"model.d_state=16"}}};
  s.lengths = {64, 32};
  s.out = (kWork / out).string();
  s.eval.length = 256;
  s.eval.docs = 1;
  s.eval.samples = 1;
  s.eval.state_length = 128;
  return s;
}

SweepRunRecord record(const std::string& state, int64_t elements, int64_t t_train, std::optional<int64_t> onset,
                      int64_t t_recall, bool determined = true) {
  SweepRunRecord r;
  r.name = state + "_T" + std::to_string(t_train);
  r.state = state;
  r.train_length = t_train;
  r.state_main = elements;
  r.state_all = elements + 100;
  SweepArmRecord a;
  a.collapse_determined = determined;
  a.collapse_onset = onset;
  a.t_recall = t_recall;
  a.loss_length = 16 * t_train;
  r.arms.push_back(a);
  return r;
}

}  // namespace

TEST_CASE("sweep file: every key read, names derived, defaults kept") {
  const SweepSpec s = parse_sweep_spec(
      "base: configs/x.yaml\nset: [train.steps=50]\nstates:\n  - {name: small, model: {d_state: 16}}\n"
      "  - {model: {d_state: 64, headdim: 16}}\n  - {set: [model.n_layer=4]}\nlengths: [128, 1K]\n"
      "tokens_per_step: 8K\nout: runs/s\neval: {length: 16K, docs: 2, prompt: newlines, window: train, rri: [0.99, 0.5]}\n"
      "fit: {state: all, anchor: true}\n",
      "s.yaml");
  CHECK(s.base == "configs/x.yaml");
  CHECK(s.overrides == std::vector<std::string>{"train.steps=50"});
  REQUIRE(s.states.size() == 3);
  CHECK(s.states[0].name == "small");
  CHECK(s.states[0].overrides == std::vector<std::string>{"model.d_state=16"});
  CHECK(s.states[1].name == "d_state64-headdim16");
  CHECK(s.states[2].name == "n_layer4");
  CHECK(s.lengths == std::vector<int64_t>{128, 1024});
  CHECK(s.tokens_per_step == 8192);
  CHECK(s.eval.length == 16384);
  CHECK(s.eval.docs == 2);
  CHECK(s.eval.prompt == "newlines");
  CHECK(s.eval.window_train_length);
  CHECK(s.eval.rri);
  CHECK(s.eval.rri_lambda == 0.99);
  CHECK(s.eval.rri_gamma == 0.5);
  CHECK(s.eval.samples == 10);
  CHECK(s.fit.state == "all");
  CHECK(s.fit.anchor);
}

TEST_CASE("sweep file and spec errors name the file and the key, in one line") {
  CHECK_THROWS_WITH_AS(parse_sweep_spec("base: a\nstate: []\n", "s.yaml"),
                       doctest::Contains("s.yaml: unknown key 'state'"), UserError);
  CHECK_THROWS_WITH_AS(parse_sweep_spec("eval: {lenght: 4}\n", "s.yaml"),
                       doctest::Contains("unknown key 'eval.lenght'"), UserError);
  CHECK_THROWS_WITH_AS(parse_sweep_spec("states: [{name: a}]\n", "s.yaml"), doctest::Contains("changes nothing"),
                       UserError);
  CHECK_THROWS_WITH_AS(parse_sweep_spec("lengths: [12x]\n", "s.yaml"), doctest::Contains("lengths"), UserError);
  CHECK_THROWS_WITH_AS(parse_sweep_spec("eval: {rri: maybe}\n", "s.yaml"), doctest::Contains("eval.rri"), UserError);
  CHECK_THROWS_WITH_AS(parse_sweep_spec("fit: {collapse_factor: x}\n", "s.yaml"),
                       doctest::Contains("'fit.collapse_factor' must be a number"), UserError);
  CHECK_THROWS_WITH_AS(parse_sweep_spec("base: [", "s.yaml"), doctest::Contains("s.yaml: not valid YAML"), UserError);
  // Keys that are lists or mappings (found by tests/fuzz/fuzz_sweep.cpp; yaml-cpp's BadConversion before).
  CHECK_THROWS_WITH_AS(parse_sweep_spec("base: x\n? [a]\n: 1\n", "s.yaml"),
                       "s.yaml: a key of the sweep file is not a plain name", UserError);
  CHECK_THROWS_WITH_AS(parse_sweep_spec("states:\n  - {model: {? [a] : 1}}\n", "s.yaml"),
                       "s.yaml: a key of 'states[0].model' is not a plain name", UserError);
  SweepSpec s = tiny_spec("errors");
  s.states[1].name = "N8";
  CHECK_THROWS_WITH_AS(check_sweep_spec(s), "sweep: two state points are named 'N8'", UserError);
  s = tiny_spec("errors");
  s.lengths = {32, 32};
  CHECK_THROWS_WITH_AS(check_sweep_spec(s), "sweep: training length 32 is listed twice", UserError);
  s = tiny_spec("errors");
  s.fit.state = "conv";
  CHECK_THROWS_WITH_AS(check_sweep_spec(s), doctest::Contains("fit.state must be main or all"), UserError);
  s = tiny_spec("errors");
  s.eval.state_norm = true;
  s.eval.window = 16;
  CHECK_THROWS_WITH_AS(check_sweep_spec(s), doctest::Contains("do not combine"), UserError);
  s = tiny_spec("errors");
  s.fit.collapse_factor = 1.0;
  CHECK_THROWS_WITH_AS(check_sweep_spec(s), "sweep: fit.collapse_factor must exceed 1, got 1", UserError);
  s = tiny_spec("errors");
  s.eval.bucket = 32;
  CHECK_THROWS_WITH_AS(resolve_sweep_eval(s), doctest::Contains("eval.bucket (32) must be at most half"), UserError);
}

TEST_CASE("grid expansion: state-major, lengths ascending, names <state>_T<len>, seq_len and batch set") {
  SweepSpec s = tiny_spec("expand");
  s.overrides = {"train.steps=2"};
  s.tokens_per_step = 256;
  const std::vector<SweepRun> runs = expand_sweep(s);
  REQUIRE(runs.size() == 4);
  CHECK(runs[0].name == "N8_T32");
  CHECK(runs[1].name == "N8_T64");
  CHECK(runs[2].name == "N16_T32");
  CHECK(runs[3].name == "N16_T64");
  CHECK(runs[3].overrides ==
        std::vector<std::string>{"train.steps=2", "model.d_state=16", "data.seq_len=64", "data.batch_size=4"});
  const Config c = sweep_run_config(s, runs[2]);
  CHECK(c.model.d_state == 16);
  CHECK(c.data.seq_len == 32);
  CHECK(c.data.batch_size == 8);
  CHECK(c.train.steps == 2);
  CHECK(sweep_run_dir(s, runs[2]) == (kWork / "expand" / "runs" / "N16_T32").string());

  s.overrides.push_back("data.segments=2");
  const std::vector<SweepRun> segmented = expand_sweep(s);
  CHECK(sweep_run_config(s, segmented[0]).data.seq_len == 16);  // T_train 32 = 2 segments of 16
  s.lengths = {33};
  CHECK_THROWS_WITH_AS(expand_sweep(s), doctest::Contains("not a multiple of data.segments (2)"), UserError);
  s = tiny_spec("expand");
  s.tokens_per_step = 100;
  CHECK_THROWS_WITH_AS(expand_sweep(s), doctest::Contains("tokens_per_step (100) is not a multiple"), UserError);
  CHECK(state_point_name({"model.d_state=64", "model.headdim=16"}) == "d_state64-headdim16");
  CHECK(state_point_name({"model.d_model=128", "model.n_layer=4"}) == "d_model128-n_layer4");
}

TEST_CASE("the eval settings resolve to sweep-wide defaults and a key that changes with them") {
  SweepSpec s = tiny_spec("resolve");
  s.eval.length = 0;
  const SweepEvalSpec e = resolve_sweep_eval(s);
  CHECK(e.length == 16 * 64);
  CHECK(e.bucket == 8);  // the shortest length (32) / 4
  SweepSpec other = s;
  other.eval.samples = 2;
  CHECK(sweep_eval_key(e) != sweep_eval_key(resolve_sweep_eval(other)));
  CHECK(sweep_eval_key(e) == sweep_eval_key(resolve_sweep_eval(s)));
}

TEST_CASE("a run directory's status: train, resume, measure, done; a changed config is refused") {
  SweepSpec s = tiny_spec("status");
  s.states.resize(1);
  s.lengths = {32};
  const SweepRun run = expand_sweep(s).front();
  const Config config = sweep_run_config(s, run);
  const std::string key = sweep_eval_key(resolve_sweep_eval(s));
  CHECK(inspect_sweep_run(s, run, config, key) == SweepRunStatus::train);

  TrainOptions t;
  t.run_dir = sweep_run_dir(s, run);
  t.quiet = true;
  t.stop_after_steps = 1;  // an interrupted run: a checkpoint at step 1 of 3
  train_model(config, t);
  CHECK(inspect_sweep_run(s, run, config, key) == SweepRunStatus::resume);

  // The sweep resumes it in place (2 more steps), then measures it.
  const SweepOutcome first = run_sweep(s, {true, nullptr});
  CHECK(first.resumed == 1);
  CHECK(first.trained == 0);
  CHECK(first.measured == 1);
  REQUIRE(first.records.size() == 1);
  CHECK(first.records[0].steps == 3);
  CHECK(first.records[0].state_main == 1 * 4 * 8 * 8);  // layers x H (E/P = 32/8) x P x N
  CHECK(first.records[0].state_all == 4 * 8 * 8 + 3 * (32 + 2 * 8));  // + the (W−1) x (E + 2N) conv state
  CHECK(fs::exists(fs::path(t.run_dir) / "capacity" / "report.md"));
  CHECK(inspect_sweep_run(s, run, config, key) == SweepRunStatus::done);

  const SweepOutcome second = run_sweep(s, {true, nullptr});
  CHECK(second.skipped == 1);
  CHECK(second.measured == 0);
  CHECK(record_to_json(second.records[0]) == record_to_json(first.records[0]));

  SweepSpec other_eval = s;
  other_eval.eval.samples = 2;
  CHECK(inspect_sweep_run(other_eval, run, config, sweep_eval_key(resolve_sweep_eval(other_eval))) ==
        SweepRunStatus::measure);

  SweepSpec changed = s;
  changed.overrides = {"optim.lr=0.01"};
  const SweepRun changed_run = expand_sweep(changed).front();
  CHECK_THROWS_WITH_AS(inspect_sweep_run(changed, changed_run, sweep_run_config(changed, changed_run), key),
                       doctest::Contains("was trained with another config"), UserError);
}

TEST_CASE("final losses: a missing metrics log gives NaN, a FIFO is refused without waiting") {
  const fs::path dir = fs::temp_directory_path() / "ssmlab_test_sweep_metrics";
  fs::remove_all(dir);
  fs::create_directories(dir);
  double train = 0, val = 0;
  read_final_losses((dir / "absent.jsonl").string(), 2, &train, &val);
  CHECK(std::isnan(train));
  CHECK(std::isnan(val));
  std::ofstream(dir / "metrics.jsonl") << "{\"step\": 1, \"loss\": 3}\n{\"step\": 2, \"loss\": 1, \"val_loss\": 2}\n";
  read_final_losses((dir / "metrics.jsonl").string(), 2, &train, &val);
  CHECK(train == doctest::Approx(2.0));
  CHECK(val == doctest::Approx(2.0));
  const fs::path fifo = dir / "fifo.jsonl";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THROWS_WITH_AS(read_final_losses(fifo.string(), 2, &train, &val),
                       doctest::Contains("it is a FIFO (named pipe)"), UserError);
}

TEST_CASE("run records survive JSON, NaN and missing onsets included") {
  SweepRunRecord r = record("N8", 256, 64, 1234, 512);
  r.final_loss = std::nan("");
  r.arms[0].curve = {1.5, std::nan(""), 2.0};
  SweepArmRecord m;
  m.mitigations = "window 64";
  r.arms.push_back(m);
  const SweepRunRecord back = record_from_json(record_to_json(r), "r.json");
  CHECK(back.name == "N8_T64");
  CHECK(std::isnan(back.final_loss));
  CHECK(back.arms.size() == 2);
  CHECK(back.arms[0].collapse_onset == std::optional<int64_t>(1234));
  CHECK_FALSE(back.arms[1].collapse_onset.has_value());
  CHECK(std::isnan(back.arms[0].curve[1]));
  CHECK(back.arms[0].curve[2] == 2.0);
  CHECK_THROWS_WITH_AS(record_from_json(nlohmann::json{{"name", "x"}}, "r.json"),
                       doctest::Contains("r.json: not a sweep run record"), UserError);
}

TEST_CASE("analysis: T_forget is the smallest passing length, T_recall the best; censored and odd states flagged") {
  const std::vector<SweepRunRecord> records = {
      // 0.1M: collapses at 64, passes from 128.
      record("A", 100000, 64, 300, 128), record("A", 100000, 128, std::nullopt, 256),
      record("A", 100000, 256, std::nullopt, 200),
      // 0.2M: passes only at 256 (T_forget 256).
      record("B", 200000, 64, 200, 256), record("B", 200000, 128, 500, 512), record("B", 200000, 256, std::nullopt, 512),
      // 0.4M: collapses everywhere (censored), one undetermined run.
      record("C", 400000, 64, 100, 1024, true), record("C", 400000, 128, std::nullopt, 0, false),
      record("C", 400000, 256, 900, 2048),
      // 0.3M: passes at 64, collapses at 128 (non-monotone).
      record("D", 300000, 64, std::nullopt, 0), record("D", 300000, 128, 700, 0)};
  const SweepAnalysis a = analyse_sweep(records, SweepFitSpec{});
  REQUIRE(a.states.size() == 4);
  CHECK(a.states[0].t_forget == std::optional<int64_t>(128));
  CHECK(a.states[0].t_recall == 256);
  CHECK(a.states[0].recall_run == "A_T128");
  CHECK(a.states[0].collapsed == std::vector<int>{1, 0, 0});
  CHECK(a.states[1].t_forget == std::optional<int64_t>(256));
  CHECK(a.states[1].t_recall == 512);
  CHECK_FALSE(a.states[2].t_forget.has_value());
  CHECK(a.states[2].forget_censored);
  CHECK(a.states[2].collapsed == std::vector<int>{1, -1, 1});
  CHECK(a.states[2].t_recall == 2048);
  CHECK(a.states[3].t_forget == std::optional<int64_t>(64));
  CHECK_FALSE(a.states[3].forget_monotone);
  CHECK(a.states[3].forget_upper_bound);  // passed at the shortest tested length
  CHECK_FALSE(a.states[0].forget_upper_bound);
  CHECK(a.states[3].t_recall == 0);

  // Fits: T_forget over A, B, D (C censored); T_recall over A, B, C (D never passed).
  REQUIRE(a.forget.linear.has_value());
  CHECK(a.forget.points.size() == 3);
  CHECK(a.forget.points[0] == std::pair<double, double>{0.1, 0.125});
  CHECK(a.forget.note.find("1 state size(s) left out") != std::string::npos);
  CHECK(a.forget.note.find("1 point(s) passed at the shortest tested length") != std::string::npos);
  REQUIRE(a.recall.exponential.has_value());
  CHECK(a.recall.points.size() == 3);
  CHECK(a.recall.note.find("R² = 1 says nothing") != std::string::npos);

  SweepFitSpec anchored;
  anchored.anchor = true;
  anchored.state = "all";
  const SweepAnalysis b = analyse_sweep(records, anchored);
  CHECK(b.forget.points.size() == 4);
  CHECK(b.forget.points[0] == std::pair<double, double>{0.0, 0.0});
  CHECK(b.forget.points[1].first == doctest::Approx(0.1001));

  // A looser criterion reads the peak ratios: A_T128 peaks at 1.4x, so at 1.3 it collapses too.
  std::vector<SweepRunRecord> ratios = {records[0], records[1], records[2]};
  ratios[0].arms[0].peak_ratio = 3.0;
  ratios[1].arms[0].peak_ratio = 1.4;
  ratios[2].arms[0].peak_ratio = 1.1;
  SweepFitSpec loose;
  loose.collapse_factor = 1.3;
  const SweepAnalysis l = analyse_sweep(ratios, loose);
  CHECK(l.states[0].collapsed == std::vector<int>{1, 1, 0});
  CHECK(l.states[0].t_forget == std::optional<int64_t>(256));

  const SweepAnalysis one = analyse_sweep({records[0], records[1]}, SweepFitSpec{});
  CHECK_FALSE(one.forget.linear.has_value());
  CHECK(one.forget.note.find("not fitted: 1 distinct state size(s)") != std::string::npos);
  CHECK_FALSE(one.recall.exponential.has_value());

  std::vector<SweepRunRecord> clash = {record("A", 100, 64, std::nullopt, 0), record("A", 200, 128, std::nullopt, 0)};
  CHECK_THROWS_WITH_AS(analyse_sweep(clash, SweepFitSpec{}), doctest::Contains("different state sizes"), UserError);
}

TEST_CASE("loss figures: a mitigation that differs per run is named in each legend entry, not the title") {
  std::vector<SweepRunRecord> records;
  for (int64_t t : {64, 256}) {
    SweepRunRecord r = record("N8", 256, t, std::nullopt, 0);
    r.bucket = 16;
    r.arms[0].curve = {1.0, 1.1};
    SweepArmRecord m = r.arms[0];
    m.mitigations = "window " + std::to_string(t);
    r.arms.push_back(m);
    records.push_back(r);
  }
  records.push_back(record("N32", 1024, 64, 100, 0));  // another state: not drawn
  const LinePlot base = state_loss_plot(records, "N8", 0);
  CHECK(base.title == "N8: loss by position (no mitigation)");
  REQUIRE(base.series.size() == 2);
  CHECK(base.series[0].name == "T_train 64: no collapse");
  CHECK(base.series[0].points.size() == 2);
  CHECK(base.series[0].points[1].first == doctest::Approx(24.0));  // bucket centre

  const LinePlot mitigated = state_loss_plot(records, "N8", 1);
  CHECK(mitigated.title == "N8: loss by position (mitigated)");
  REQUIRE(mitigated.series.size() == 2);
  CHECK(mitigated.series[1].name == "T_train 256, window 256: no collapse");

  records[1].arms[1].mitigations = "window 64";  // the same for every run: the title names it
  const LinePlot shared = state_loss_plot(records, "N8", 1);
  CHECK(shared.title == "N8: loss by position (window 64)");
  CHECK(shared.series[1].name == "T_train 256: no collapse");
}
