// eval/capacity.cpp — T_recall, T_forget and state statistics for each arm.
#include "eval/capacity.h"

#include "absl/strings/str_format.h"  // defines: absl::StrFormat
#include "core/error.h"               // defines: SSM_USER_CHECK
#include "eval/eval_text.h"           // defines: synthetic_prompt, fit_to_length
#include "train/data/passkey_prompt.h"     // defines: PasskeyPieces

namespace ssm {
namespace {

// Options with every derived default filled in.
CapacityOptions resolve(const EvalModel& m, const CapacityOptions& given) {
  CapacityOptions o = given;
  const int64_t T = m.train_length;
  SSM_USER_CHECK(T > 0, "capacity: the model's training length is unknown: pass --train-length N");
  if (o.loss.train_length == 0) o.loss.train_length = T;
  if (o.states.train_length == 0) o.states.train_length = T;
  RecallSearchOptions& r = o.recall;
  const int64_t shortest = shortest_passkey_prompt(*m.tokenizer, o.passkey.bos);
  if (r.start == 0) r.start = std::max(T, shortest);  // a tiny training length cannot hold a prompt
  if (r.max_length == 0) r.max_length = 64 * r.start;
  if (r.resolution == 0) r.resolution = std::max<int64_t>(T / 8, 1);
  if (r.min_length == 0) r.min_length = std::min(r.start, shortest);
  check_recall_search(r);
  SSM_USER_CHECK(!o.loss_sequences.empty(), "capacity: no loss-by-position input (loss_sequences is empty)");
  if (o.state_tokens.empty()) {
    const int64_t n = o.state_length > 0 ? o.state_length : 4 * T;
    o.state_tokens = o.loss_sequences.front();
    if (static_cast<int64_t>(o.state_tokens.size()) > n) o.state_tokens.resize(static_cast<size_t>(n));
  }
  if (o.mitigations.state_norm && o.norm_reference.empty()) {
    o.norm_reference = fit_to_length(*m.tokenizer, synthetic_prompt("newlines"), T);
  }
  return o;
}

CapacityArm measure_arm(EvalModel& m, const CapacityOptions& o, const std::string& name, Mitigations mitigations) {
  LanguageModel& model = *m.model;
  auto log = [&](const std::string& line) {
    if (o.log) o.log(name + ": " + line);
  };
  CapacityArm arm;
  arm.name = name;
  check_mitigations(mitigations, model);
  if (mitigations.state_norm) {
    log(absl::StrFormat("recording state-norm thresholds on %d reference tokens", o.norm_reference.size()));
    prepare_state_norm(mitigations, model, o.norm_reference, o.device);
  }
  arm.mitigations = mitigations;

  arm.recall = search_recall_length(
      [&](int64_t length) {
        PasskeyOptions p = o.passkey;
        p.lengths = {length};
        const PasskeyResult one = run_passkey(model, *m.tokenizer, p, mitigations, o.device);
        arm.passkey.merge(one);
        log(absl::StrFormat("passkey at %d tokens: accuracy %.3f", length, one.accuracy.front()));
        return one.accuracy.front();
      },
      o.recall);
  log(arm.recall.verdict());

  arm.loss = measure_position_loss(model, o.loss_sequences, o.loss, mitigations, o.device);
  log(absl::StrFormat("loss by position over %d x %d tokens: %s", arm.loss.sequences, arm.loss.length,
                      arm.loss.verdict()));
  arm.states = measure_state_statistics(model, o.state_tokens, o.states, mitigations, o.device);
  log(absl::StrFormat("state statistics over %d tokens", arm.states.tokens));
  return arm;
}

}  // namespace

int64_t shortest_passkey_prompt(const Tokenizer& tokenizer, bool bos) {
  const PasskeyPieces pieces;
  auto count = [&](const std::string& text) { return static_cast<int64_t>(tokenizer.encode(text).size()); };
  std::string needle = pieces.needle;
  for (size_t at; (at = needle.find("{K}")) != std::string::npos;) needle.replace(at, 3, "00000");
  // One block, which the needle replaces: whichever of the two is longer has to fit.
  return count(pieces.prefix) + count(pieces.suffix) + std::max(count(pieces.block), count(needle)) + (bos ? 1 : 0);
}

CapacityResult measure_capacity(EvalModel& m, const CapacityOptions& given) {
  SSM_USER_CHECK(m.model && m.tokenizer, "capacity: the model is not loaded");
  CapacityOptions o = resolve(m, given);
  m.model->to(o.device);

  CapacityResult result;
  result.model = m.description;
  result.architecture = m.model->architecture();
  result.parameters = m.model->num_parameters();
  result.state_elements = m.model->main_state_elements();
  result.train_length = m.train_length;
  result.arms.push_back(measure_arm(m, o, "baseline", Mitigations{}));
  if (o.mitigations.any()) result.arms.push_back(measure_arm(m, o, "mitigated", o.mitigations));

  o.loss_sequences.clear();  // the inputs can be large; the result keeps the settings only
  o.state_tokens.clear();
  o.norm_reference.clear();
  o.log = nullptr;
  result.options = std::move(o);
  return result;
}

}  // namespace ssm
