// tests/fuzz/fuzz_config_set.cpp — libFuzzer harness: the input is a list of `--set` overrides,
// one "key.path=value" a line (train/config.h: applied to the YAML before validation), over a
// small valid config. Paths with indices (data.sources.0.weight), new list items, flow values and
// malformed keys must all be UserErrors naming the override, or a config that round-trips.
#include <algorithm>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_support.h"  // defines: refuse_only_with_errors, property_failed, kSmallConfig
#include "train/config.h"             // defines: parse_config, config_to_yaml

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ssm;
  std::vector<std::string> overrides;
  const std::string text(fuzz::as_text(data, size));
  for (size_t start = 0; start <= text.size();) {
    const size_t end = std::min(text.find('\n', start), text.size());
    overrides.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  fuzz::refuse_only_with_errors([&] {
    const Config config = parse_config(fuzz::kSmallConfig, "fuzz_base.yaml", overrides);
    const std::string yaml = config_to_yaml(config);
    Config again;
    try {
      again = parse_config(yaml, "config_to_yaml");
    } catch (const Error& e) {
      fuzz::property_failed(std::string("config_to_yaml wrote a config parse_config refuses: ") + e.what());
    }
    if (config_to_yaml(again) != yaml) fuzz::property_failed("config_to_yaml -> parse_config changed the config");
  });
  return 0;
}
