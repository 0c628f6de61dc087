// cli/eval_flags.h — the options the evaluation commands (passkey, ppl, states, capacity) share,
// and their translation into eval/ values: which model (and where it runs), which mitigations,
// which text, where the report goes. Every error names the flag.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/args.h"          // defines: Args, OptionSpec
#include "eval/eval_model.h"   // defines: EvalModel
#include "eval/eval_text.h"    // defines: EvalSequences
#include "eval/mitigations.h"  // defines: Mitigations

namespace ssm::cli {

// --model, --tokenizer, --train-length, --device
std::vector<OptionSpec> model_options();
// --tokenizer alone (ssmlab info takes it too): byte, or a tokenizer file or folder
OptionSpec tokenizer_option();
// --rri, --delta-scale, --window, --state-norm, --norm-reference (formulas in their help)
std::vector<OptionSpec> mitigation_options();
// --data, --prompt, --length, --docs; `what` says what the text is for, `length_default`
// describes the default length.
std::vector<OptionSpec> text_options(const std::string& what, const std::string& length_default,
                                     const std::string& docs_default);
// --out (default: <model>/../<command>), --quiet
std::vector<OptionSpec> output_options(const std::string& command);
// The concatenation of option lists.
std::vector<OptionSpec> join(std::vector<std::vector<OptionSpec>> lists);

struct LoadedModel {
  EvalModel eval;
  Device device;
};
// Loads --model (with --tokenizer, --train-length) and moves it to --device.
LoadedModel load_model(const Args& args);

// The mitigations the flags ask for, checked against `model` (state-norm thresholds not yet
// recorded).
Mitigations mitigations_from_args(const Args& args, const LanguageModel& model);

// The mitigations of one --arm of `ssmlab ppl`: "none", or flags joined by '+' with their values
// after '=' ("window=256", "rri", "rri=0.99,0.5+delta-scale=0.5", "state-norm"), checked as the
// flags are; a UserError names the arm.
Mitigations mitigations_from_spec(const std::string& spec, const LanguageModel& model);

// The evaluation text: --data PATH (a corpus), --prompt newlines|capital, or else the held-out
// documents of an ssmlab checkpoint (or `fallback_prompt` when non-empty). Sequences of `length`
// tokens, at most `count`. `source` is set to a one-line description.
EvalSequences text_from_args(const Args& args, const EvalModel& model, int64_t length, int64_t count,
                             const std::string& fallback_prompt, std::string* source);

// The state norm's reference input from --norm-reference: newlines (default), document (the first
// training length of `document`), or a text FILE; one training length long.
std::vector<TokenId> norm_reference_from_args(const Args& args, const EvalModel& model,
                                              const std::vector<TokenId>* document);

// A positive length with an optional K suffix (1024), e.g. --length 64K.
int64_t get_length(const Args& args, const std::string& name);
// "0,2,5", "0:7" (inclusive) or "all" (-> empty) for --layers / --heads. Every index must be
// below `count` (the model's layers or heads; `unit` names one in the message): checked before
// a range is expanded, so "0:99999999999" is an error at once, not minutes of allocation.
std::vector<int64_t> get_index_list(const Args& args, const std::string& name, int64_t count,
                                    const std::string& unit);
// The report folder.
std::string out_dir(const Args& args, const std::string& command);

}  // namespace ssm::cli
