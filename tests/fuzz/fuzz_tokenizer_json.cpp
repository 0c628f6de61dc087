// tests/fuzz/fuzz_tokenizer_json.cpp — libFuzzer harness: the input is a Hugging Face
// tokenizer.json (train/text/tokenizer_json.h: every component ssmlab does not implement is
// refused by name). A file that loads builds the tokenizer (train/text/bpe_tokenizer.h), which
// must encode any text into ids below its vocabulary size and decode them again.
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_support.h"     // defines: refuse_only_with_errors, write_scratch
#include "train/text/tokenizer.h"        // defines: make_tokenizer
#include "train/text/tokenizer_json.h"   // defines: read_tokenizer_json

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ssm;
  const std::string path = fuzz::write_scratch("tok/tokenizer.json", fuzz::as_text(data, size));
  fuzz::refuse_only_with_errors([&] {
    read_tokenizer_json(path);
    const std::unique_ptr<Tokenizer> tokenizer = make_tokenizer(path);
    // ASCII, a Metaspace-style space run, multi-byte UTF-8, an invalid byte and a special token.
    const std::string text = "Hello world, it's 2024!\n  \xe2\x96\x81 caf\xc3\xa9 \xf0\x9f\x99\x82 \xff<|endoftext|></s>";
    const std::vector<TokenId> ids = tokenizer->encode(text);
    for (TokenId id : ids) {
      if (id < 0 || id >= tokenizer->vocab_size()) {
        fuzz::property_failed("encode gave id " + std::to_string(id) + " outside the vocabulary of " +
                              std::to_string(tokenizer->vocab_size()));
      }
    }
    tokenizer->decode(ids);
    tokenizer->decode({tokenizer->eos_id()});
  });
  return 0;
}
