// tests/fuzz/fuzz_trainer_state.cpp — libFuzzer harness: the input is a checkpoint's
// trainer_state.json (train/checkpoint.h), read by `train --resume` before anything else of the
// checkpoint. A wrong JSON type or an out-of-range number must be a UserError naming the file.
#include <string>

#include "tests/fuzz/fuzz_support.h"  // defines: refuse_only_with_errors, write_scratch
#include "train/checkpoint.h"         // defines: load_trainer_state

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ssm;
  const std::string path = fuzz::write_scratch("ckpt/trainer_state.json", fuzz::as_text(data, size));
  fuzz::refuse_only_with_errors([&] { load_trainer_state((fuzz::scratch_dir() / "ckpt").string()); });
  return 0;
}
