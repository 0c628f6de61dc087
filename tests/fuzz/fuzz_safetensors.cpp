// tests/fuzz/fuzz_safetensors.cpp — libFuzzer harness: the input is a whole .safetensors file
// (core/safetensors.h). Loading must validate the header length, the JSON, dtypes, shapes and
// data_offsets against the file; every tensor it then hands out must lie inside the mapping, so
// the harness reads each one's bytes (ASan reports a view past the end) and writes the file back
// out and loads it again (what was accepted must round-trip unchanged).
#include <cstring>
#include <string>
#include <vector>

#include "core/safetensors.h"          // defines: load_safetensors, save_safetensors
#include "tests/fuzz/fuzz_support.h"   // defines: refuse_only_with_errors, write_scratch

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ssm;
  const std::string path = fuzz::write_scratch("model.safetensors", fuzz::as_text(data, size));
  fuzz::refuse_only_with_errors([&] {
    const SafetensorsFile file = load_safetensors(path);
    std::vector<std::pair<std::string, Tensor>> tensors;
    for (const std::string& name : file.names()) {
      const Tensor t = file.get(name);
      if (t.nbytes() > (size_t{64} << 20)) fuzz::property_failed(name + ": a view larger than the fuzz input");
      tensors.emplace_back(name, t.clone_contiguous());  // touches every byte of the view
    }
    const std::string copy = fuzz::write_scratch("copy.safetensors", "");
    save_safetensors(copy, tensors, file.metadata());
    const SafetensorsFile again = load_safetensors(copy);
    if (again.names().size() != tensors.size() || again.metadata() != file.metadata()) {
      fuzz::property_failed("the rewritten file has other tensors or metadata");
    }
    for (const auto& [name, t] : tensors) {
      const Tensor back = again.get(name);
      if (back.shape() != t.shape() || back.dtype() != t.dtype() ||
          std::memcmp(back.clone_contiguous().raw_data(), t.raw_data(), t.nbytes()) != 0) {
        fuzz::property_failed(name + ": the rewritten file holds other bytes");
      }
    }
  });
  return 0;
}
