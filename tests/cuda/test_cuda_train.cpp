// tests/cuda/test_cuda_train.cpp — end to end on CUDA: a few training steps of a tiny Mamba-2 through
// the real trainer (data, forward, loss, backward, clipping, AdamW, checkpoints) match the CPU
// losses; bf16-mixed trains and stays close; run.device auto picks the GPU; the caching allocator
// reuses freed blocks. Skipped without a GPU (see tests/support/cuda_testing.h).
#include <filesystem>
#include <fstream>

#include "tests/support/cuda_testing.h"       // defines: cuda_available, host
#include "train/config.h"       // defines: parse_config
#include "train/trainer.h"      // defines: train_model, resolve_device

#if defined(SSMLAB_WITH_CUDA) || defined(SSMLAB_CUDA_EMULATED)
#include "cuda/allocator.h"  // defines: memory_stats
#endif

using namespace ssm;
using namespace ssm::testing;
namespace fs = std::filesystem;

SSM_CUDA_AVAILABILITY_TEST()

#define CUDA_TEST(name) TEST_CASE(name* doctest::skip(!cuda_available()))

namespace {

fs::path fresh_dir(const std::string& name) { return testing::empty_temp_dir("cuda_train_" + name); }

fs::path write_corpus(const fs::path& dir) { return write_sentence_corpus(dir / "corpus", 3, 40); }

// A tiny Mamba-2 (2 layers, N 8, P 8, chunk 16 over 37 tokens: the last chunk is partial).
Config tiny_config(const fs::path& corpus, const std::string& device, const std::string& precision) {
  const std::string yaml = "run: {seed: 5, device: " + device + ", precision: " + precision + "}\n" +
                           "model: {d_model: 16, n_layer: 2, d_state: 8, headdim: 8, chunk_size: 16}\n"
                           "data:\n  seq_len: 37\n  batch_size: 3\n  sources:\n    - {kind: text, path: " +
                           corpus.string() + "}\n" +
                           "optim: {lr: 0.01, min_lr: 0.001, warmup_steps: 2}\n"
                           "train: {steps: 5, eval_every: 5, eval_batches: 1, ckpt_every: 100}\n";
  return parse_config(yaml, "<test>");
}

TrainSummary train_on(const Config& cfg, const fs::path& run_dir) {
  TrainOptions options;
  options.run_dir = run_dir.string();
  options.quiet = true;
  return train_model(cfg, options);
}

}  // namespace

CUDA_TEST("run.device auto picks the GPU when the CUDA backend is registered") {
  CHECK(resolve_device("auto").is_cuda());
  CHECK(resolve_device("cuda").is_cuda());
  CHECK(resolve_device("cpu").is_cpu());
}

CUDA_TEST("tiny Mamba-2: five training steps on CUDA match the CPU losses") {
  const fs::path dir = fresh_dir("fp32");
  const fs::path corpus = write_corpus(dir);
  const TrainSummary cpu = train_on(tiny_config(corpus, "cpu", "fp32"), dir / "cpu");
  const TrainSummary gpu = train_on(tiny_config(corpus, "cuda", "fp32"), dir / "cuda");
  REQUIRE(cpu.losses.size() == 5);
  REQUIRE(gpu.losses.size() == 5);
  for (size_t i = 0; i < cpu.losses.size(); ++i) {
    MESSAGE("step " << i + 1 << ": loss cpu " << cpu.losses[i] << ", cuda " << gpu.losses[i]);
    // The first loss is a forward pass; later ones carry AdamW updates of slightly different gradients.
    CHECK(std::abs(gpu.losses[i] - cpu.losses[i]) <= (i == 0 ? 1e-5 : 5e-4) * std::abs(cpu.losses[i]));
  }
  CHECK(std::abs(gpu.last_val_loss - cpu.last_val_loss) <= 1e-4 * std::abs(cpu.last_val_loss));
  CHECK(cpu.losses.back() < cpu.losses.front());  // it learns
  CHECK(fs::exists(dir / "cuda" / "ckpt" / "model.safetensors"));
}

CUDA_TEST("tiny Mamba-2: bf16-mixed trains on CUDA and stays close to fp32") {
  const fs::path dir = fresh_dir("bf16");
  const fs::path corpus = write_corpus(dir);
  const TrainSummary fp32 = train_on(tiny_config(corpus, "cuda", "fp32"), dir / "fp32");
  const TrainSummary mixed = train_on(tiny_config(corpus, "cuda", "bf16-mixed"), dir / "bf16");
  REQUIRE(mixed.losses.size() == 5);
  for (size_t i = 0; i < mixed.losses.size(); ++i) {
    MESSAGE("step " << i + 1 << ": loss fp32 " << fp32.losses[i] << ", bf16-mixed " << mixed.losses[i]);
    CHECK(std::isfinite(mixed.losses[i]));
    CHECK(std::abs(mixed.losses[i] - fp32.losses[i]) <= 2e-2 * std::abs(fp32.losses[i]));
  }
}

#if defined(SSMLAB_WITH_CUDA) || defined(SSMLAB_CUDA_EMULATED)
CUDA_TEST("the caching allocator reuses freed blocks and tracks the peak") {
  cuda::reset_peak_memory();
  const cuda::MemoryStats before = cuda::memory_stats();
  { Tensor a = Tensor::empty({1003, 67}, Dtype::f32, Device::cuda()); }  // freed: its block is cached
  const cuda::MemoryStats mid = cuda::memory_stats();
  { Tensor b = Tensor::empty({1003, 67}, Dtype::f32, Device::cuda()); }  // same size class: reused
  const cuda::MemoryStats after = cuda::memory_stats();
  CHECK(after.device_mallocs == mid.device_mallocs);
  CHECK(after.cache_hits == mid.cache_hits + 1);
  CHECK(after.in_use_bytes == before.in_use_bytes);
  CHECK(after.peak_in_use_bytes >= before.in_use_bytes + cuda::allocation_size_class(1003 * 67 * 4));
  CHECK(cuda::allocation_size_class(1) == 512);
  CHECK(cuda::allocation_size_class((size_t{1} << 20) + 1) == (size_t{2} << 20));
}
#endif
