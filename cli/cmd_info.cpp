// cli/cmd_info.cpp — `ssmlab info --model DIR`: what a checkpoint holds (an ssmlab checkpoint or
// a public one in its publisher's layout).
#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/eval_flags.h"  // defines: tokenizer_option
#include "core/error.h"
#include "eval/eval_model.h"  // defines: load_eval_model

namespace ssm::cli {

int cmd_info(int argc, char** argv) {
  Args args("info",
            {{"model", "checkpoint directory (runs/<run>/ckpt, or a public checkpoint)"}, tokenizer_option()},
            argc, argv, 2);
  if (args.help_requested()) {
    std::fputs(args.usage("--model DIR").c_str(), stdout);
    return 0;
  }
  SSM_USER_CHECK(args.has("model"), "ssmlab info needs --model DIR");
  EvalModelOptions options;
  if (args.has("tokenizer")) options.tokenizer = args.get("tokenizer");
  const EvalModel loaded = load_eval_model(args.get("model"), options);
  LanguageModel& model = *loaded.model;
  std::printf("checkpoint     %s\n", loaded.description.c_str());
  std::printf("architecture   %s, %lld layers\n", model.architecture().c_str(),
              static_cast<long long>(model.num_layers()));
  std::printf("parameters     %lld\n", static_cast<long long>(model.num_parameters()));
  std::printf("state size     %lld elements per sequence (%lld in the '%s' states, the rest token-shift/conv)\n",
              static_cast<long long>(model.all_state_elements()), static_cast<long long>(model.main_state_elements()),
              model.recurrent_state_name().c_str());
  std::printf("vocab          %lld rows (tokenizer %s, %lld ids)\n", static_cast<long long>(model.vocab_size()),
              loaded.tokenizer->name().c_str(), static_cast<long long>(loaded.tokenizer->vocab_size()));
  std::printf("trained on     sequences of %lld tokens\n", static_cast<long long>(loaded.train_length));
  return 0;
}

}  // namespace ssm::cli
