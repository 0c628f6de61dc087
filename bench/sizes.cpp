// bench/sizes.cpp — the presets of ssmlab bench (bench/suite.h).
#include "core/error.h"    // defines: SSM_USER_CHECK
#include "bench/suite.h"  // defines: Sizes, Benchmark, TrainSpec, TrainStep

namespace ssm::bench {

Sizes preset_sizes(const std::string& preset) {
  Sizes s;
  s.preset = preset;
  // The demo model of configs/mamba2_s128.yaml: D 64, 2 layers, N 128, P 32, 8 x 256 tokens.
  s.demo_d_model = 64;
  s.demo_layers = 2;
  s.demo_state = 128;
  s.demo_headdim = 32;
  s.demo_batch = 8;
  s.demo_seq = 256;
  if (preset == "full") {
    s.gemm = 4096;
    s.batch = 4, s.seqlen = 2048;
    s.ssd_heads = 24, s.ssd_headdim = 64, s.ssd_state = 128, s.ssd_chunk = 256;
    s.sel_channels = 1536, s.sel_state = 16;
    s.gla_heads = 12, s.gla_dim = 64;
    s.rows = 8192, s.width = 1536, s.vocab = 50288;
    s.warmup = 3, s.repeats = 10, s.train_warmup = 2, s.train_repeats = 5;
    s.big_d_model = 768, s.big_layers = 24, s.big_vocab = 50277, s.big_chunk = 256;
    s.batch_2k = 4, s.seq_2k = 2048, s.batch_8k = 1, s.seq_8k = 8192;
    s.big_label = "mamba2-130m shape";
    s.stream_short = 65536, s.stream_long = 262144, s.stream_big = 65536, s.decode_steps = 2048, s.decode_steps_big = 512;
    s.scaling_lengths = {2048, 4096, 8192, 16384, 32768, 65536}, s.scaling_model_length = 8192;
    return s;
  }
  if (preset == "small") {
    s.gemm = 512;
    s.batch = 2, s.seqlen = 512;
    s.ssd_heads = 8, s.ssd_headdim = 64, s.ssd_state = 64, s.ssd_chunk = 64;
    s.sel_channels = 384, s.sel_state = 16;
    s.gla_heads = 4, s.gla_dim = 64;
    s.rows = 1024, s.width = 512, s.vocab = 8192;
    s.warmup = 1, s.repeats = 3, s.train_warmup = 1, s.train_repeats = 2;
    s.big_d_model = 256, s.big_layers = 4, s.big_vocab = 50277, s.big_chunk = 64;
    s.batch_2k = 1, s.seq_2k = 512, s.batch_8k = 1, s.seq_8k = 1024;
    s.big_label = "scaled down";
    s.stream_short = 16384, s.stream_long = 65536, s.stream_big = 8192, s.decode_steps = 512, s.decode_steps_big = 128;
    s.scaling_lengths = {512, 1024, 2048, 4096, 8192, 16384}, s.scaling_model_length = 1024;
    return s;
  }
  SSM_USER_CHECK(preset == "tiny", "ssmlab bench: unknown --preset '", preset, "' (allowed: full, small, tiny)");
  s.gemm = 67;
  s.batch = 1, s.seqlen = 37;
  s.ssd_heads = 2, s.ssd_headdim = 8, s.ssd_state = 16, s.ssd_chunk = 16;
  s.sel_channels = 40, s.sel_state = 4;
  s.gla_heads = 2, s.gla_dim = 8;
  s.rows = 37, s.width = 67, s.vocab = 1003;
  s.warmup = 1, s.repeats = 2, s.train_warmup = 1, s.train_repeats = 1;
  s.demo_d_model = 16, s.demo_layers = 1, s.demo_state = 8, s.demo_headdim = 8, s.demo_batch = 2, s.demo_seq = 37;
  s.big_d_model = 32, s.big_layers = 2, s.big_vocab = 1003, s.big_chunk = 16;
  s.batch_2k = 1, s.seq_2k = 64, s.batch_8k = 1, s.seq_8k = 128;
  s.big_label = "scaled down";
  s.stream_short = 300, s.stream_long = 600, s.stream_big = 200, s.decode_steps = 8, s.decode_steps_big = 4;
  s.scaling_lengths = {32, 64}, s.scaling_model_length = 32;
  return s;
}

}  // namespace ssm::bench
