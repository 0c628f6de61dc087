// cli/eval_flags.cpp — shared options of the evaluation commands.
#include "cli/eval_flags.h"

#include <cmath>
#include <filesystem>

#include "absl/strings/numbers.h"    // defines: absl::SimpleAtoi, absl::SimpleAtod
#include "absl/strings/str_split.h"  // defines: absl::StrSplit
#include "core/checked_size.h"       // defines: check_allocation
#include "core/error.h"              // defines: SSM_USER_CHECK
#include "eval/passkey.h"            // defines: parse_lengths
#include "train/trainer.h"           // defines: resolve_device

namespace ssm::cli {

OptionSpec tokenizer_option() {
  // make_tokenizer's specs (train/text/tokenizer.h): not only files.
  return {"tokenizer",
          "byte (one id per byte, 0-255), or a tokenizer file: a tokenizer.json,\n"
          "an rwkv_vocab*.txt, or a folder holding one",
          false, false, "the checkpoint's"};
}

std::vector<OptionSpec> model_options() {
  return {{"model", "checkpoint directory (runs/<run>/ckpt, or a public checkpoint)"},
          tokenizer_option(),
          {"train-length", "the model's training length in tokens (the red line, the collapse baseline)", false,
           false, "data.seq_len, or the publisher's"},
          {"device", "auto | cpu | cuda", false, false, "auto"}};
}

std::vector<OptionSpec> mitigation_options() {
  return {{"rri",
           "RRI (Method 1): h_t = λ·α_t·h_{t-1} + γ·B̄_t·x_t (RWKV/HGRN-2: decay·λ, key·γ);\n"
           "LAMBDA,GAMMA, or alone for the paper's 0.9999,0.75",
           false, false, "", "0.9999,0.75"},
          {"delta-scale", "Δ-scaling (LongMamba's baseline, Mamba only): Δ_t <- C·Δ_t"},
          {"window",
           "sliding window (Method 3): read out h_t - α_{t-R+1:t}·h_{t-R}, the last R tokens\n"
           "only; R in tokens (K suffix allowed)"},
          {"state-norm",
           "state norm (ours, after v1's Method 2): per layer and head τ = ‖h‖_F after one\n"
           "training length of the reference; then every 128 tokens h <- h·τ/‖h‖_F where ‖h‖_F > τ",
           true},
          {"norm-reference", "the state norm's reference input: newlines | document | FILE", false, false,
           "newlines"}};
}

std::vector<OptionSpec> text_options(const std::string& what, const std::string& length_default,
                                     const std::string& docs_default) {
  return {{"data", "corpus for " + what + ": a .txt file, a .jsonl file (\"text\" per line) or a directory", false,
           false, "the checkpoint's held-out documents"},
          {"prompt", "a synthetic prompt instead of a corpus: newlines | capital"},
          {"length", "tokens per evaluation sequence (K suffix allowed)", false, false, length_default},
          {"docs", "evaluation sequences (shorter documents are concatenated)", false, false, docs_default}};
}

std::vector<OptionSpec> output_options(const std::string& command) {
  return {{"out", "report folder", false, false, "<model>/../" + command},
          {"quiet", "print nothing but errors", true}};
}

std::vector<OptionSpec> join(std::vector<std::vector<OptionSpec>> lists) {
  std::vector<OptionSpec> out;
  for (auto& list : lists) out.insert(out.end(), list.begin(), list.end());
  return out;
}

LoadedModel load_model(const Args& args) {
  SSM_USER_CHECK(args.has("model"), "--model DIR is required");
  EvalModelOptions options;
  if (args.has("tokenizer")) options.tokenizer = args.get("tokenizer");
  if (args.has("train-length")) options.train_length = get_length(args, "train-length");
  LoadedModel m{load_eval_model(args.get("model"), options), resolve_device(args.get("device"))};
  m.eval.model->to(m.device);
  return m;
}

Mitigations mitigations_from_args(const Args& args, const LanguageModel& model) {
  Mitigations m;
  if (args.has("rri")) {
    const std::string text = args.get("rri");
    const std::vector<std::string> parts = absl::StrSplit(text, ',');
    SSM_USER_CHECK(parts.size() == 2 && absl::SimpleAtod(parts[0], &m.scan.retention_scale) &&
                       absl::SimpleAtod(parts[1], &m.scan.insertion_scale),
                   "--rri: expected LAMBDA,GAMMA (e.g. 0.9999,0.75), got '", text, "'");
    SSM_USER_CHECK(m.scan.retention_scale > 0 && m.scan.retention_scale <= 1 && m.scan.insertion_scale > 0 &&
                       std::isfinite(m.scan.insertion_scale),
                   "--rri: λ must be in (0, 1] and γ a finite number > 0, got '", text, "'");
  }
  if (args.has("delta-scale")) {
    const std::string text = args.get("delta-scale");
    SSM_USER_CHECK(absl::SimpleAtod(text, &m.scan.delta_scale) && m.scan.delta_scale > 0 &&
                       std::isfinite(m.scan.delta_scale),
                   "--delta-scale: expected a finite positive number, got '", text, "'");
    SSM_USER_CHECK(model.has_delta(), "--delta-scale applies to Mamba only: ", model.architecture(),
                   " has no Δ (use --rri)");
  }
  if (args.has("window")) m.scan.window = get_length(args, "window");
  m.state_norm = args.flag("state-norm");
  SSM_USER_CHECK(!(m.state_norm && m.scan.window > 0), "--state-norm and --window do not combine: the window ",
                 "subtracts an unnormalised lagged state");
  check_mitigations(m, model);
  return m;
}

Mitigations mitigations_from_spec(const std::string& spec, const LanguageModel& model) {
  // The spec becomes the flags it stands for ("window=256+rri" -> --window 256 --rri), parsed and
  // checked by the same code as the flags themselves.
  std::vector<std::string> words = {"ssmlab", "arm"};
  if (spec != "none") {
    for (absl::string_view item : absl::StrSplit(spec, '+')) {
      const std::vector<std::string> kv = absl::StrSplit(item, absl::MaxSplits('=', 1));
      SSM_USER_CHECK(kv[0] == "rri" || kv[0] == "window" || kv[0] == "delta-scale" || kv[0] == "state-norm",
                     "--arm '", spec, "': unknown mitigation '", kv[0],
                     "' (allowed: none, or rri[=L,G], window=R, delta-scale=C, state-norm joined by +)");
      SSM_USER_CHECK(kv.size() == 2 || kv[0] == "rri" || kv[0] == "state-norm", "--arm '", spec, "': ", kv[0],
                     " needs a value (", kv[0], "=...)");
      words.push_back("--" + kv[0]);
      if (kv.size() == 2) words.push_back(kv[1]);
    }
  }
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  try {
    const Args args("arm", mitigation_options(), static_cast<int>(argv.size()), argv.data(), 2);
    return mitigations_from_args(args, model);
  } catch (const UserError& e) {
    throw UserError(absl::StrCat("--arm '", spec, "': ", e.what()));
  }
}

EvalSequences text_from_args(const Args& args, const EvalModel& model, int64_t length, int64_t count,
                             const std::string& fallback_prompt, std::string* source) {
  const Tokenizer& tok = *model.tokenizer;
  SSM_USER_CHECK(!(args.has("data") && args.has("prompt")), "--data and --prompt exclude each other");
  // `count` sequences of `length` ids are built in memory; the length may be a default derived
  // from the training length, so it is checked here, not only where --length is parsed.
  check_allocation(static_cast<double>(length) * static_cast<double>(count) * sizeof(TokenId),
                   absl::StrCat("--length ", length, " x --docs ", count));
  std::string prompt = args.has("prompt") ? args.get("prompt") : "";
  if (args.has("data")) {
    const std::string path = args.get("data");
    std::vector<std::vector<TokenId>> docs;
    for (const std::string& text : read_documents(path)) docs.push_back(tok.encode(text));
    EvalSequences seqs = build_eval_sequences(docs, length, count, tok.eos_id());
    *source = absl::StrCat("corpus ", path, " (", seqs.documents_used, " documents", seqs.repeated ? ", repeated" : "",
                           ")");
    return seqs;
  }
  if (prompt.empty() && model.config.has_value() && fallback_prompt.empty()) {
    EvalSequences seqs = build_eval_sequences(held_out_documents(*model.config, tok), length, count, tok.eos_id());
    *source = absl::StrCat("the checkpoint's held-out documents (", seqs.documents_used, " used",
                           seqs.repeated ? ", repeated" : "", ")");
    return seqs;
  }
  if (prompt.empty()) prompt = fallback_prompt;
  SSM_USER_CHECK(!prompt.empty(), "a public checkpoint has no held-out documents: pass --data PATH or --prompt ",
                 "newlines");
  SSM_USER_CHECK(is_synthetic_prompt(prompt), "--prompt: unknown prompt '", prompt, "' (allowed: newlines, capital)");
  EvalSequences seqs;
  seqs.sequences.push_back(fit_to_length(tok, synthetic_prompt(prompt), length));
  *source = "the \"" + prompt + "\" prompt";
  return seqs;
}

std::vector<TokenId> norm_reference_from_args(const Args& args, const EvalModel& model,
                                              const std::vector<TokenId>* document) {
  const std::string ref = args.get("norm-reference");
  const int64_t T = model.train_length;
  if (ref == "newlines") return fit_to_length(*model.tokenizer, synthetic_prompt("newlines"), T);
  if (ref == "document") {
    SSM_USER_CHECK(document != nullptr, "--norm-reference document: this command reads no document (use newlines or ",
                   "a FILE)");
    return std::vector<TokenId>(document->begin(), document->begin() + std::min<int64_t>(T, document->size()));
  }
  const std::vector<std::string> docs = read_documents(ref);
  return fit_to_length(*model.tokenizer, docs.front(), T);
}

int64_t get_length(const Args& args, const std::string& name) {
  const std::vector<int64_t> v = parse_lengths(args.get(name), "--" + name);
  SSM_USER_CHECK(v.size() == 1, "--", name, ": expected one length, got '", args.get(name), "'");
  return v.front();
}

std::vector<int64_t> get_index_list(const Args& args, const std::string& name, int64_t count,
                                    const std::string& unit) {
  const std::string text = args.get(name);
  std::vector<int64_t> out;
  if (text.empty() || text == "all") return out;
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    const std::vector<absl::string_view> parts = absl::StrSplit(item, ':');
    int64_t lo = 0, hi = 0;
    const bool ok = parts.size() <= 2 && absl::SimpleAtoi(parts[0], &lo) &&
                    absl::SimpleAtoi(parts.size() == 2 ? parts[1] : parts[0], &hi) && lo >= 0 && hi >= lo;
    SSM_USER_CHECK(ok, "--", name, ": expected indices like 0,2,5 or a range 0:7, or all; got '", text, "'");
    SSM_USER_CHECK(hi < count, "--", name, ": ", unit, " ", hi, " does not exist (there are ", count, ": 0 to ",
                   count - 1, ")");
    for (int64_t i = lo; i <= hi; ++i) out.push_back(i);
  }
  return out;
}

std::string out_dir(const Args& args, const std::string& command) {
  if (args.has("out")) return args.get("out");
  std::filesystem::path model = std::filesystem::path(args.get("model")).lexically_normal();
  if (model.filename().empty()) model = model.parent_path();  // "runs/x/ckpt/" names the folder ckpt
  return (model.parent_path() / command).string();
}

}  // namespace ssm::cli
