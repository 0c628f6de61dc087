// ops/kernel_versions.cpp — the table of kernels with several versions, and which one runs.
#include "ops/kernel_versions.h"

#include <cstdlib>
#include <map>
#include <mutex>

#include "absl/strings/ascii.h"      // defines: absl::StripAsciiWhitespace
#include "absl/strings/numbers.h"    // defines: absl::SimpleAtoi
#include "absl/strings/str_join.h"   // defines: absl::StrJoin
#include "absl/strings/str_split.h"  // defines: absl::StrSplit
#include "core/error.h"              // defines: SSM_USER_CHECK

namespace ssm::ops {
namespace {

struct Chosen {
  std::mutex mutex;
  std::map<std::string, int> version;  // the families' current versions
  std::map<std::string, int> ran;      // the version each family ran last
  bool environment_read = false;
};

Chosen& chosen() {
  static Chosen c;
  return c;
}

const KernelFamily* find_family(const std::string& name) {
  for (const KernelFamily& f : kernel_families()) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::string family_names() {
  std::vector<std::string> names;
  for (const KernelFamily& f : kernel_families()) names.push_back(f.name);
  return absl::StrJoin(names, ", ");
}

void check_choice(const std::string& name, int version, const std::string& source) {
  const KernelFamily* f = find_family(name);
  SSM_USER_CHECK(f != nullptr, source, ": no kernel '", name, "' has versions (those that do: ", family_names(), ")");
  SSM_USER_CHECK(version >= 1 && version <= f->versions, source, ": kernel '", name, "' has versions 1 to ",
                 f->versions, ", not ", version);
}

// Every item is checked before any is applied: a refused list changes nothing. "all=N" stands for
// every family, each of which must have a version N; later items override earlier ones.
void parse_into(Chosen& c, const std::string& text, const std::string& source) {
  std::vector<std::pair<std::string, int>> choices;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    item = absl::StripAsciiWhitespace(item);  // "a=2, b=1"
    const std::vector<std::string> kv = absl::StrSplit(item, '=');
    int version = 0;
    SSM_USER_CHECK(kv.size() == 2 && absl::SimpleAtoi(kv[1], &version), source, ": expected kernel=version, got '",
                   std::string(item), "' (e.g. ssd_chunked_forward=2, or all=2)");
    if (kv[0] == "all") {
      for (const KernelFamily& f : kernel_families()) {
        check_choice(f.name, version, source + " (all=" + kv[1] + ")");
        choices.emplace_back(f.name, version);
      }
      continue;
    }
    check_choice(kv[0], version, source);
    choices.emplace_back(kv[0], version);
  }
  for (const auto& [name, version] : choices) c.version[name] = version;
}

// The environment is read once, on the first question; until then every family has its default.
void read_environment_locked(Chosen& c) {
  if (c.environment_read) return;
  c.environment_read = true;
  for (const KernelFamily& f : kernel_families()) c.version.emplace(f.name, f.default_version);
  if (const char* env = std::getenv("SSMLAB_KERNELS"); env != nullptr && *env != '\0') {
    parse_into(c, env, "SSMLAB_KERNELS");
  }
}

}  // namespace

const std::vector<KernelFamily>& kernel_families() {
  static const std::vector<KernelFamily> families = {
      {"ssd_chunked_forward", 2, 1,
       {"CUDA cores, fp32: one thread per output element, the CPU loop's order (cuda/scan/ssd_cuda_chunked.cu)",
        "tensor cores, tf32 inputs and fp32 accumulation: C·Bᵀ, (L∘CB)·X, Bᵀ·X and C·S̃ as 16x16x8 wmma tiles "
        "through shared memory (cuda/scan/ssd_cuda_chunked_tc.cu); f32, P <= 128, N <= 256"}},
      {"ssd_chunked_backward", 2, 1,
       {"CUDA cores, fp32: per chunk, one block runs the CPU's gradient loop, rows in order "
        "(cuda/scan/ssd_cuda_chunked_backward.cu)",
        "tensor cores, tf32 inputs and fp32 accumulation: every product of the chunk's gradients (dM, dC, dU, dB, the "
        "chunk sums) as 16x16x8 wmma tiles, one block per output row block (cuda/scan/ssd_cuda_chunked_backward_tc.cu); "
        "f32, P <= 128, N <= 256"}},
      {"gla_forward", 2, 1,
       {"one block per (batch, head) walking the T steps, threads owning state columns "
        "(cuda/scan/gla_cuda_recurrent.cu)",
        "the chunked form on the tensor cores: chunk sums K̂ᵀ·V, the state read (q ⊙ e^p)·S and the intra-chunk A·V "
        "as tf32 wmma products, A in row blocks of 16 against a reference decay, its diagonal blocks pair by pair "
        "(cuda/scan/gla_cuda_chunked_tc.cu); f32, K, V <= 128"}},
      {"gla_backward", 2, 1,
       {"one block per (batch, head) walking the T steps backwards through checkpointed chunk states "
        "(cuda/scan/gla_cuda_recurrent.cu)",
        "the chunked form's gradients on the tensor cores: the state gradients (q ⊙ e^p)ᵀ·dO passed back over chunks, "
        "dq, dk and dv as tf32 wmma products in reference-decay blocks, dg as a reverse sum within each chunk "
        "(cuda/scan/gla_cuda_chunked_backward_tc.cu); f32, K, V <= 128"}},
      {"selective_scan", 2, 1,
       {"forward and backward: one thread per (batch row, channel), walking all T steps "
        "(cuda/scan/selective_scan_cuda_recurrent.cu)",
        "forward and backward: parallel over time too; a block per (batch row, 32 channels), each warp a segment of "
        "8 steps whose composed affine map is folded onto the state entering it (cuda/scan/selective_scan_cuda_parallel.cu); "
        "N <= 16"}},
      {"adamw", 2, 1,
       {"one launch per parameter tensor (cuda/adamw.cu)",
        "one launch for every parameter: chunks of 4096 elements, a table of the tensors sent with the launch, "
        "each block finding its tensor by binary search (cuda/adamw.cu)"}},
      {"cross_entropy", 2, 1,
       {"forward: two passes over each row (the maximum, then the sum of exponentials); backward: one thread "
        "per logit (cuda/cross_entropy.cu)",
        "forward: one pass, an online logsumexp (running max and rescaled sum per thread, merged across the "
        "block); backward: one block per row (cuda/cross_entropy.cu); f32 and f64"}},
  };
  return families;
}

int kernel_version(const std::string& name) {
  Chosen& c = chosen();
  std::lock_guard<std::mutex> lock(c.mutex);
  read_environment_locked(c);
  const auto it = c.version.find(name);
  SSM_USER_CHECK(it != c.version.end(), "no kernel '", name, "' has versions (those that do: ", family_names(), ")");
  return it->second;
}

void check_kernel_environment() {
  Chosen& c = chosen();
  std::lock_guard<std::mutex> lock(c.mutex);
  read_environment_locked(c);
}

void set_kernel_version(const std::string& name, int version) {
  Chosen& c = chosen();
  std::lock_guard<std::mutex> lock(c.mutex);
  read_environment_locked(c);
  check_choice(name, version, "kernel versions");
  c.version[name] = version;
}

void set_kernel_versions(const std::string& text, const std::string& source) {
  Chosen& c = chosen();
  std::lock_guard<std::mutex> lock(c.mutex);
  read_environment_locked(c);
  parse_into(c, text, source);
}

void record_kernel_version_ran(const std::string& name, int version) {
  Chosen& c = chosen();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.ran[name] = version;
}

int last_kernel_version_ran(const std::string& name) {
  Chosen& c = chosen();
  std::lock_guard<std::mutex> lock(c.mutex);
  const auto it = c.ran.find(name);
  return it == c.ran.end() ? 0 : it->second;
}

}  // namespace ssm::ops
