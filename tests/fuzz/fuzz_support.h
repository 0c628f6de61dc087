// tests/fuzz/fuzz_support.h — what every harness shares: the rule for what counts as a finding,
// and a scratch folder for inputs that an API reads only from a path.
//
// The rule (docs: the project's bad-input rule in core/error.h): ssmlab refuses a bad input by
// throwing ssm::UserError (or, for what it considers its own fault, ssm::Error); the CLI turns
// those into a one-line message. Any other outcome — another exception type (e.g. nlohmann's
// type_error, std::out_of_range, std::bad_alloc), a crash, a hang, a sanitizer report or a leak — is
// a finding. So a harness catches ssm::Error and lets everything else escape to libFuzzer (or to
// replay_main.cpp, which reports the input's file name).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "core/error.h"  // defines: ssm::Error

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace ssm::fuzz {

// A small valid run config (Mamba-2, byte tokenizer, CPU) for harnesses that vary something else.
inline constexpr const char* kSmallConfig = R"(run: {seed: 1, device: cpu}
model: {arch: mamba2, d_model: 32, n_layer: 2, d_state: 16, headdim: 16, expand: 2, d_conv: 4, chunk_size: 16}
data:
  tokenizer: byte
  seq_len: 64
  batch_size: 2
  sources:
    - {kind: bible, path: data/kjv, weight: 0.9}
    - {kind: passkey, weight: 0.1, min_tokens: 32}
optim: {lr: 0.003, schedule: cosine, warmup_steps: 5}
train: {steps: 10, log_every: 5}
)";

// Runs `body`; an ssm::Error (UserError included) is the expected way to refuse an input. With
// SSMLAB_FUZZ_VERBOSE set the message is printed (to see what a seed or a finding meets).
template <class Body>
void refuse_only_with_errors(Body&& body) {
  static const bool verbose = std::getenv("SSMLAB_FUZZ_VERBOSE") != nullptr;
  try {
    body();
    if (verbose) std::fprintf(stderr, "  accepted\n");
  } catch (const ssm::Error& e) {
    if (verbose) std::fprintf(stderr, "  refused: %s\n", e.what());
  }
}

// A folder of this process's own ($TMPDIR, else /dev/shm, else /tmp), removed at exit; each
// process gets its own so that parallel test runs and libFuzzer's fork mode do not collide.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    namespace fs = std::filesystem;
    const char* tmp = std::getenv("TMPDIR");
    fs::path base = tmp && *tmp ? fs::path(tmp) : fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::path("/tmp");
    fs::path d = base / ("ssmlab-fuzz-" + std::to_string(::getpid()));
    fs::create_directories(d);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(scratch_dir(), ec);
    });
    return d;
  }();
  return dir;
}

// Writes `bytes` to `relative` under the scratch folder (parents created) and returns its path.
inline std::string write_scratch(const std::string& relative, std::string_view bytes) {
  const std::filesystem::path path = scratch_dir() / relative;
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) std::abort();  // the harness's own failure (disk full), not the input's
  return path.string();
}

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A property the input broke although ssmlab accepted it (a silent wrong result): abort with a
// message, which libFuzzer and replay_main.cpp report as a crash.
[[noreturn]] inline void property_failed(const std::string& what) {
  std::fprintf(stderr, "fuzz property failed: %s\n", what.c_str());
  std::abort();
}

}  // namespace ssm::fuzz
