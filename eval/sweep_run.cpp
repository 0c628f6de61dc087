// eval/sweep_run.cpp — the sweep loop: inspect, train or resume, measure, record.
#include "eval/sweep_run.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <sstream>

#include "absl/strings/str_format.h"  // defines: absl::StrFormat
#include "core/error.h"               // defines: SSM_USER_CHECK
#include "core/json_read.h"           // defines: read_json_file
#include "core/regular_file.h"        // defines: read_regular_file, kMaxConfigFileBytes
#include "eval/capacity.h"            // defines: measure_capacity, CapacityOptions
#include "eval/capacity_report.h"     // defines: write_capacity_report
#include "eval/eval_model.h"          // defines: load_eval_model
#include "eval/eval_text.h"           // defines: build_eval_sequences, held_out_documents, read_documents
#include "eval/report_io.h"           // defines: write_text_file
#include "train/checkpoint.h"         // defines: load_trainer_state
#include "train/text/tokenizer.h"          // defines: make_tokenizer
#include "train/trainer.h"            // defines: train_model, resolve_device

namespace ssm {
namespace fs = std::filesystem;
namespace {

fs::path result_path(const SweepSpec& spec, const SweepRun& run) {
  return fs::path(sweep_run_dir(spec, run)) / "sweep_result.json";
}

// A file the sweep itself wrote (config.yaml, sweep_result.json), read as any file a user could
// have replaced: regular files only, of a config's size at most.
std::string slurp(const fs::path& path) {
  return read_regular_file(path.string(), absl::StrCat("sweep: cannot read '", path.string(), "'"),
                           kMaxConfigFileBytes, "a sweep's file");
}

// The run directory must hold this very config (or none yet). Both are compared as config_to_yaml
// writes them today, so a file from a version that wrote numbers differently (1e-05 before
// 1.0e-05) still matches.
void check_same_config(const fs::path& dir, const Config& config) {
  const fs::path file = dir / "config.yaml";
  if (!fs::exists(file)) return;
  std::istringstream have(config_to_yaml(parse_config(slurp(file), file.string()))), want(config_to_yaml(config));
  std::string a, b;
  for (int line = 1;; ++line) {
    const bool more_a = static_cast<bool>(std::getline(have, a)), more_b = static_cast<bool>(std::getline(want, b));
    if (!more_a && !more_b) return;
    SSM_USER_CHECK(more_a && more_b && a == b, "sweep: ", dir.string(), " was trained with another config (line ", line,
                   ": '", more_a ? a : "", "' there, '", more_b ? b : "", "' now); move it away or choose another --out");
  }
}

// The loss-by-position text every run is measured on, tokenized once.
std::vector<std::vector<TokenId>> shared_text(const SweepEvalSpec& ev, const Config& config, const Tokenizer& tok,
                                              std::string* source) {
  if (!ev.prompt.empty()) {
    *source = "the \"" + ev.prompt + "\" prompt";
    return {fit_to_length(tok, synthetic_prompt(ev.prompt), ev.length)};
  }
  std::vector<std::vector<TokenId>> docs;
  if (!ev.data.empty()) {
    for (const std::string& text : read_documents(ev.data)) docs.push_back(tok.encode(text));
    *source = "corpus " + ev.data;
  } else {
    docs = held_out_documents(config, tok);
    *source = "the base config's held-out documents";
  }
  EvalSequences seqs = build_eval_sequences(docs, ev.length, ev.docs, tok.eos_id());
  *source += absl::StrFormat(" (%d sequences of %d tokens%s)", seqs.sequences.size(), ev.length,
                             seqs.repeated ? ", repeated" : "");
  return std::move(seqs.sequences);
}

Mitigations sweep_mitigations(const SweepEvalSpec& ev, int64_t train_length) {
  Mitigations m;
  m.scan.window = ev.window_train_length ? train_length : ev.window;
  if (ev.rri) m.scan.retention_scale = ev.rri_lambda, m.scan.insertion_scale = ev.rri_gamma;
  if (ev.delta_scale > 0) m.scan.delta_scale = ev.delta_scale;
  m.state_norm = ev.state_norm;
  return m;
}

CapacityOptions capacity_options(const SweepEvalSpec& ev, const std::vector<std::vector<TokenId>>& text,
                                 LanguageModel& model, int64_t train_length, Device device) {
  CapacityOptions o;
  o.device = device;
  o.recall.start = ev.start_length;
  o.recall.max_length = ev.max_length;
  o.recall.resolution = ev.resolution;
  o.passkey.samples = ev.samples;
  o.passkey.depth_bins = ev.depth_bins;
  o.passkey.seed = ev.seed;
  o.passkey.bos = ev.bos;
  o.loss.bucket = ev.bucket;
  o.loss.smooth = ev.smooth;
  o.state_length = ev.state_length;
  const int64_t H = model.init_state(1, Device::cpu()).layers.at(0).at(model.recurrent_state_name()).size(1);
  for (int64_t h = 0; h < std::min<int64_t>(H, 8); ++h) o.states.heads.push_back(h);
  o.loss_sequences = text;
  o.mitigations = sweep_mitigations(ev, train_length);
  check_mitigations(o.mitigations, model);
  return o;
}

SweepRunRecord measure_run(const SweepSpec& spec, const SweepRun& run, const SweepEvalSpec& ev,
                           const std::vector<std::vector<TokenId>>& text, const std::string& eval_key,
                           const SweepRunOptions& options) {
  const fs::path dir = sweep_run_dir(spec, run), ckpt = dir / "ckpt";
  EvalModelOptions load;
  load.train_length = run.train_length;
  EvalModel m = load_eval_model(ckpt.string(), load);
  const Device device = resolve_device(m.config->run.device);
  CapacityOptions o = capacity_options(ev, text, *m.model, run.train_length, device);
  if (options.log) o.log = [&](const std::string& line) { options.log("  " + run.name + " " + line); };
  const auto start = std::chrono::steady_clock::now();
  const CapacityResult result = measure_capacity(m, o);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  write_capacity_report((dir / "capacity").string(), result);

  const TrainerState state = load_trainer_state(ckpt.string());
  SweepRunRecord r;
  r.name = run.name;
  r.state = run.state;
  r.train_length = run.train_length;
  r.state_main = m.model->main_state_elements();
  r.state_all = m.model->all_state_elements();
  r.parameters = m.model->num_parameters();
  r.steps = state.step;
  r.tokens_seen = state.tokens_seen;
  r.train_seconds = state.elapsed_s;
  r.eval_seconds = seconds;
  read_final_losses((dir / "metrics.jsonl").string(), 20, &r.final_loss, &r.val_loss);
  r.bucket = ev.bucket;
  r.eval_key = eval_key;
  r.arms = arms_from_capacity(result);
  write_text_file(result_path(spec, run).string(), record_to_json(r).dump(1) + "\n");
  return r;
}

}  // namespace

const char* status_name(SweepRunStatus status) {
  switch (status) {
    case SweepRunStatus::done: return "done";
    case SweepRunStatus::measure: return "measure";
    case SweepRunStatus::resume: return "resume";
    case SweepRunStatus::train: return "train";
  }
  return "?";
}

SweepEvalSpec resolve_sweep_eval(const SweepSpec& spec) {
  SweepEvalSpec ev = spec.eval;
  const auto [lo, hi] = std::minmax_element(spec.lengths.begin(), spec.lengths.end());
  SSM_USER_CHECK(lo != spec.lengths.end(), "sweep: no training lengths");
  if (ev.length == 0) ev.length = 16 * *hi;
  if (ev.bucket == 0) ev.bucket = std::clamp<int64_t>(*lo / 4, 1, 128);
  SSM_USER_CHECK(2 * ev.bucket <= *lo, "sweep: eval.bucket (", ev.bucket, ") must be at most half the shortest ",
                 "training length (", *lo, "): the collapse rule needs full buckets within every training length");
  SSM_USER_CHECK(ev.length > *hi, "sweep: eval.length (", ev.length, ") must exceed the longest training length (",
                 *hi, ")");
  return ev;
}

std::string sweep_eval_key(const SweepEvalSpec& e) {
  nlohmann::json j = {{"length", e.length},   {"docs", e.docs},
                      {"data", e.data},       {"prompt", e.prompt},
                      {"samples", e.samples}, {"depth_bins", e.depth_bins},
                      {"seed", e.seed},       {"bos", e.bos},
                      {"start_length", e.start_length}, {"max_length", e.max_length},
                      {"resolution", e.resolution},     {"bucket", e.bucket},
                      {"smooth", e.smooth},   {"state_length", e.state_length},
                      {"window", e.window_train_length ? nlohmann::json("train") : nlohmann::json(e.window)},
                      {"rri", e.rri ? nlohmann::json({e.rri_lambda, e.rri_gamma}) : nlohmann::json(false)},
                      {"delta_scale", e.delta_scale}, {"state_norm", e.state_norm}};
  return j.dump();
}

SweepRunStatus inspect_sweep_run(const SweepSpec& spec, const SweepRun& run, const Config& config,
                                 const std::string& eval_key) {
  const fs::path dir = sweep_run_dir(spec, run), ckpt = dir / "ckpt";
  check_same_config(dir, config);
  if (!fs::exists(ckpt / "trainer_state.json")) return SweepRunStatus::train;
  if (load_trainer_state(ckpt.string()).step < config.train.steps) return SweepRunStatus::resume;
  const fs::path result = result_path(spec, run);
  if (!fs::exists(result)) return SweepRunStatus::measure;
  const nlohmann::json j = nlohmann::json::parse(slurp(result), nullptr, false);
  const bool same = j.is_object() && j.contains("eval_key") && j["eval_key"] == eval_key;
  return same ? SweepRunStatus::done : SweepRunStatus::measure;
}

std::optional<SweepRunRecord> read_finished_run(const SweepSpec& spec, const SweepRun& run,
                                                const std::string& eval_key) {
  if (inspect_sweep_run(spec, run, sweep_run_config(spec, run), eval_key) != SweepRunStatus::done) return std::nullopt;
  const std::string path = result_path(spec, run).string();
  return record_from_json(read_json_file(path), path);
}

SweepOutcome run_sweep(const SweepSpec& spec, const SweepRunOptions& options) {
  const std::vector<SweepRun> runs = expand_sweep(spec);
  const SweepEvalSpec ev = resolve_sweep_eval(spec);
  const std::string eval_key = sweep_eval_key(ev);
  auto log = [&](const std::string& line) {
    if (options.log) options.log(line);
  };

  SweepOutcome out;
  std::vector<std::vector<TokenId>> text;  // built at the first measurement, then shared
  for (size_t i = 0; i < runs.size(); ++i) {
    const SweepRun& run = runs[i];
    const Config config = sweep_run_config(spec, run);
    const std::string dir = sweep_run_dir(spec, run);
    const SweepRunStatus status = inspect_sweep_run(spec, run, config, eval_key);
    log(absl::StrFormat("[%d/%d] %s: %s", i + 1, runs.size(), run.name, status_name(status)));
    if (status == SweepRunStatus::done) {
      out.records.push_back(record_from_json(read_json_file(result_path(spec, run).string()),
                                             result_path(spec, run).string()));
      ++out.skipped;
      continue;
    }
    if (status == SweepRunStatus::train || status == SweepRunStatus::resume) {
      TrainOptions t;
      t.run_dir = dir;
      t.resume = true;
      t.quiet = options.quiet;
      const TrainSummary summary = train_model(config, t);
      if (summary.stop_signal) {
        out.stop_signal = summary.stop_signal;
        return out;
      }
      ++(status == SweepRunStatus::train ? out.trained : out.resumed);
    }
    if (text.empty()) {
      std::string source;
      text = shared_text(ev, config, *make_tokenizer(config.data.tokenizer), &source);
      log("  loss-by-position text: " + source);
    }
    out.records.push_back(measure_run(spec, run, ev, text, eval_key, options));
    ++out.measured;
  }
  return out;
}

}  // namespace ssm
