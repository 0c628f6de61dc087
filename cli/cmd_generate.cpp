// cli/cmd_generate.cpp — `ssmlab generate --model DIR --prompt TEXT`: continues a prompt token by
// token on the recurrent path (eval/generation.h), printing the text as it comes, greedy or
// sampled, with the evaluation commands' mitigations; the speed on stderr at the end.
#include <cstdio>

#include "absl/strings/numbers.h"  // defines: absl::SimpleAtod
#include "cli/args.h"              // defines: Args
#include "cli/commands.h"          // defines: the cmd_* entry points
#include "cli/eval_flags.h"        // defines: model_options, load_model, mitigations_from_args, ...
#include "core/error.h"            // defines: SSM_USER_CHECK
#include "core/regular_file.h"     // defines: read_regular_file
#include "eval/generation.h"       // defines: generate, GenerateOptions

namespace ssm::cli {
namespace {

double get_double(const Args& args, const std::string& name) {
  double value = 0;
  SSM_USER_CHECK(absl::SimpleAtod(args.get(name), &value), "--", name, ": expected a number, got '", args.get(name),
                 "'");
  return value;
}

// The largest prompt file read (64 MiB): a recurrent model reads any length, but a prompt is text.
constexpr int64_t kMaxPromptFileBytes = 64ll << 20;

}  // namespace

int cmd_generate(int argc, char** argv) {
  Args args("generate",
            join({model_options(),
                  {{"prompt", "the text to continue"},
                   {"prompt-file", "a file whose text to continue (instead of --prompt)"},
                   {"max-new-tokens", "tokens to generate at most", false, false, "256"},
                   {"temperature", "0: greedy (the most likely token); above 0: sampled from softmax(z / T)", false,
                    false, "0"},
                   {"top-k", "sample among the k most likely tokens only (0: all)", false, false, "0"},
                   {"top-p", "sample among the most likely tokens holding this much probability (1: all)", false,
                    false, "1"},
                   {"seed", "the sampler's seed: the same seed gives the same text", false, false, "0"},
                   {"ignore-eos", "keep going past the end-of-document token", true},
                   {"bos", "prepend the tokenizer's BOS token", true},
                   {"quiet", "print only the generated text (no prompt echo, no speed line)", true}},
                  mitigation_options()}),
            argc, argv, 2);
  if (args.help_requested()) {
    std::fputs(args.usage("--model DIR (--prompt TEXT | --prompt-file FILE) [options]").c_str(), stdout);
    return 0;
  }
  SSM_USER_CHECK(args.positionals().empty(), "ssmlab generate takes no positional arguments, got '",
                 args.positionals().front(), "' (the prompt goes in --prompt)");
  SSM_USER_CHECK(args.has("prompt") != args.has("prompt-file"), "ssmlab generate needs exactly one of --prompt ",
                 "and --prompt-file");
  GenerateOptions options;
  options.max_new_tokens = args.get_int("max-new-tokens");
  SSM_USER_CHECK(options.max_new_tokens >= 0, "--max-new-tokens must be >= 0, got ", options.max_new_tokens);
  options.sampling.temperature = get_double(args, "temperature");
  options.sampling.top_k = args.get_int("top-k");
  options.sampling.top_p = get_double(args, "top-p");
  const int64_t seed = args.get_int("seed");
  SSM_USER_CHECK(seed >= 0, "--seed must be >= 0, got ", seed);
  options.sampling.seed = static_cast<uint64_t>(seed);
  check_sampling_options(options.sampling);
  options.stop_at_eos = !args.flag("ignore-eos");
  const std::string text = args.has("prompt")
                               ? args.get("prompt")
                               : read_regular_file(args.get("prompt-file"),
                                                   "cannot read --prompt-file '" + args.get("prompt-file") + "'",
                                                   kMaxPromptFileBytes, "a prompt");

  LoadedModel m = load_model(args);
  LanguageModel& model = *m.eval.model;
  const Tokenizer& tokenizer = *m.eval.tokenizer;
  Mitigations mitigations = mitigations_from_args(args, model);
  if (mitigations.state_norm) {
    prepare_state_norm(mitigations, model, norm_reference_from_args(args, m.eval, nullptr), m.device);
  }
  std::vector<TokenId> prompt;
  if (args.flag("bos")) {
    SSM_USER_CHECK(tokenizer.bos_id() >= 0, "--bos: tokenizer ", tokenizer.name(), " has no BOS token");
    prompt.push_back(tokenizer.bos_id());
  }
  const std::vector<TokenId> encoded = tokenizer.encode(text);
  prompt.insert(prompt.end(), encoded.begin(), encoded.end());
  // An empty prompt starts a new document: what the model saw after every document separator.
  if (prompt.empty()) prompt.push_back(tokenizer.eos_id());

  const bool quiet = args.flag("quiet");
  if (!quiet) std::fputs(text.c_str(), stdout);
  const GenerateResult r = generate(model, tokenizer, m.device, mitigations, prompt, options, [](const std::string& s) {
    std::fputs(s.c_str(), stdout);
    std::fflush(stdout);
  });
  std::fputs("\n", stdout);
  if (!quiet) {
    const auto per_second = [](int64_t n, double s) { return s > 0 ? static_cast<double>(n) / s : 0.0; };
    std::fprintf(stderr, "[%lld prompt tokens at %.0f tokens/s; %lld new tokens at %.1f tokens/s%s; %s; mitigations: %s]\n",
                 static_cast<long long>(r.prompt_tokens), per_second(r.prompt_tokens, r.prefill_seconds),
                 static_cast<long long>(r.tokens.size()), per_second(static_cast<int64_t>(r.tokens.size()), r.decode_seconds),
                 r.stopped_at_eos ? ", stopped at end of document" : "",
                 TokenSampler(options.sampling, tokenizer.vocab_size()).describe().c_str(),
                 mitigations.describe().c_str());
  }
  return 0;
}

}  // namespace ssm::cli
