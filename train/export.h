// train/export.h — `ssmlab export`: an ssmlab checkpoint written in another ecosystem's layout,
// so that its standard loading call opens it with no edits (docs/export.md).
//
//   hf            transformers' MambaForCausalLM / Mamba2ForCausalLM: config.json with
//                 transformers' keys, model.safetensors with its names (`backbone.embeddings`),
//                 tokenizer.json + tokenizer_config.json for AutoTokenizer
//   state-spaces  mamba_ssm's MambaLMHeadModel: its config.json (ssm_cfg), and the weights under
//                 its own names (which are ssmlab's) as pytorch_model.bin (what its from_pretrained
//                 reads; core/torch_save.h) and model.safetensors
//   fla           flash-linear-attention's HGRN2ForCausalLM and RWKV6ForCausalLM
//                 (AutoModelForCausalLM after `import fla`): its config.json, model.safetensors
//                 under its names (ssmlab's for HGRN-2; RWKV-6 rearranged, train/fla_rwkv6.h)
//   rwkv          the rwkv package's RWKV(model=...): model.pth under BlinkDL's names and shapes
//                 (ssmlab's), plus model.safetensors and the config.json ssmlab reads beside them
//
// Every export also holds a README.md saying what made it and how to load it. A combination a
// target cannot represent is refused with a UserError naming it; nothing is written then, and an
// existing non-empty output directory is never written into. ssmlab loads every export back
// (train/pretrained.h reads these layouts), with the same losses: the weights are copied bit for bit.
#pragma once

#include <string>
#include <vector>

namespace ssm {

// The export targets, in the order `ssmlab export --help` lists them.
const std::vector<std::string>& export_targets();

struct ExportResult {
  std::vector<std::string> files;  // written into the output directory, in writing order
  std::string load_hint;           // the Python call that opens it, for the user
};

// Exports the ssmlab checkpoint `model_dir` (a directory with config.yaml and model.safetensors)
// to `target` in `out_dir` (created; it must not exist or be empty).
ExportResult export_checkpoint(const std::string& model_dir, const std::string& target, const std::string& out_dir);

}  // namespace ssm
