// train/config.h — the run configuration: what a YAML file under configs/ holds, validated.
//
// Every key is known: an unknown key, a missing required key or a value of the wrong type or
// out of range is a UserError naming the file, the key path (e.g. "optim.lr") and the allowed
// keys or values. Defaults below are the values used when a key is absent.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/model_config.h"  // defines: ModelConfig

namespace ssm {

struct RunConfig {
  uint64_t seed = 1;
  std::string device = "auto";        // auto | cpu | cuda (auto = cuda when a GPU is visible)
  std::string precision = "fp32";     // fp32 | bf16-mixed (GPU only)
};

struct DataSource {
  std::string kind;                   // text | jsonl | tokens | bible | passkey
  std::string path;                   // text: a file or a directory of .txt files (searched
                                      // recursively); jsonl: a .jsonl file or a directory of them;
                                      // tokens: an ssmlab token file (train/token_file.h);
                                      // bible: the directory scripts/make_bible_corpus.sh writes
  double weight = 1.0;                // share of training sequences drawn from this source
  int64_t min_tokens = 0;             // passkey: prompt lengths are drawn in [min_tokens, seq_len · segments]
  int64_t min_doc_tokens = 0;         // text/jsonl/tokens/bible: drop documents shorter than this
                                      // (the paper drops documents under 4096 tokens)
  std::string text_key = "text";      // jsonl: the field of each line that holds the document
};

struct DataConfig {
  std::string tokenizer = "byte";     // byte | path to tokenizer.json / rwkv_vocab*.txt / a directory
  std::vector<DataSource> sources;    // required, at least one
  int64_t seq_len = 512;              // tokens per segment (what one forward/backward sees)
  int64_t segments = 1;               // truncated BPTT: a sequence is seq_len · segments tokens,
                                      // trained as consecutive segments with the state carried
                                      // (detached) from one to the next (train/tbptt.h)
  int64_t batch_size = 8;             // sequences per micro-batch (per process)
  double valid_fraction = 0.02;       // share of each text source's documents held out
  std::string cache_dir;              // tokenized-corpus cache; empty: $SSMLAB_CACHE_DIR, else
                                      // $XDG_CACHE_HOME/ssmlab, else ~/.cache/ssmlab (train/corpus_cache.h)
};

struct OptimConfig {
  double lr = 1e-3;                   // peak learning rate
  double min_lr = 1e-4;               // floor reached at the end of the decay
  double weight_decay = 0.1;
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double grad_clip = 1.0;             // global-norm clip; 0 disables
  std::string schedule = "cosine";    // cosine | wsd | constant
  int64_t warmup_steps = 100;
  double decay_fraction = 0.1;        // wsd: final share of steps spent decaying linearly
};

struct TrainConfig {
  int64_t steps = 0;                  // required: optimizer steps
  int64_t grad_accum = 1;             // micro-batches per step
  int64_t log_every = 10;
  int64_t eval_every = 100;           // validation loss cadence (0 = never)
  int64_t eval_batches = 4;
  int64_t ckpt_every = 100;           // checkpoint cadence (a final one is always written)
  int64_t keep_checkpoints = 1;       // ckpt/ plus the K-1 previous ones as ckpt-<step>/
  double allreduce_bucket_mb = 25;    // data parallelism: gradients are summed in buckets this large
};

struct Config {
  RunConfig run;
  ModelConfig model;
  DataConfig data;
  OptimConfig optim;
  TrainConfig train;
  std::string source;                 // file path (or "<string>") for error messages
};

// Reads and validates a config file. `overrides` are "key.path=value" strings (CLI --set)
// applied to the YAML before validation, so they obey the same rules.
Config load_config(const std::string& path, const std::vector<std::string>& overrides = {});
Config parse_config(const std::string& yaml_text, const std::string& source_name,
                    const std::vector<std::string>& overrides = {});
// Writes every field (defaults included) as YAML that parse_config reads back identically.
std::string config_to_yaml(const Config& config);

}  // namespace ssm
