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
#include "train/data/data_config.h"  // defines: DataConfig, DataSource

namespace ssm {

struct RunConfig {
  uint64_t seed = 1;
  std::string device = "auto";        // auto | cpu | cuda (auto = cuda when a GPU is visible)
  std::string precision = "fp32";     // fp32 | bf16-mixed (GPU only)
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
