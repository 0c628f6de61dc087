// cli/cmd_info.cpp — `ssmlab info --model CKPT`: what a checkpoint holds.
#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/error.h"
#include "train/checkpoint.h"  // defines: load_model

namespace ssm::cli {

int cmd_info(int argc, char** argv) {
  Args args("info", {{"model", "checkpoint directory (e.g. runs/demo/ckpt)"}}, argc, argv, 2);
  if (args.help_requested()) {
    std::fputs(args.usage("--model DIR").c_str(), stdout);
    return 0;
  }
  SSM_USER_CHECK(args.has("model"), "ssmlab info needs --model DIR");
  Config config;
  std::unique_ptr<LanguageModel> model = load_model(args.get("model"), &config);
  int64_t state_elements = 0;
  for (const LayerState& layer : model->init_state(1, Device::cpu()).layers) {
    for (const auto& [name, t] : layer) state_elements += t.numel();
  }
  const ModelConfig& m = config.model;
  std::printf("checkpoint     %s\n", args.get("model").c_str());
  std::printf("architecture   %s  d_model %lld  layers %lld  d_state %lld  headdim %lld  expand %lld\n",
              model->architecture().c_str(), static_cast<long long>(m.d_model), static_cast<long long>(m.n_layer),
              static_cast<long long>(m.d_state), static_cast<long long>(m.headdim), static_cast<long long>(m.expand));
  std::printf("parameters     %lld\n", static_cast<long long>(model->num_parameters()));
  std::printf("state size     %lld elements per sequence (SSM + conv states, all layers)\n",
              static_cast<long long>(state_elements));
  std::printf("vocab          %lld (tokenizer %s)\n", static_cast<long long>(model->vocab_size()),
              config.data.tokenizer.c_str());
  std::printf("trained on     seq_len %lld\n", static_cast<long long>(config.data.seq_len));
  return 0;
}

}  // namespace ssm::cli
