// tests/fuzz/fuzz_config.cpp — libFuzzer harness: the input is a run config's YAML text
// (train/config.h parse_config: every key, type and range checked). What it accepts must survive
// the round trip config_to_yaml -> parse_config unchanged, the promise `train` relies on when it
// writes config.yaml into each checkpoint and reads it back on resume.
#include <string>

#include "tests/fuzz/fuzz_support.h"  // defines: refuse_only_with_errors, property_failed
#include "train/config.h"             // defines: parse_config, config_to_yaml

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ssm;
  fuzz::refuse_only_with_errors([&] {
    const Config config = parse_config(std::string(fuzz::as_text(data, size)), "fuzz.yaml");
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
