// tests/fuzz/fuzz_token_file.cpp — libFuzzer harness: the input is a whole token file
// (train/data/token_file.h: the 32-byte header, then the ids). Opening must check the magic,
// version, width, count against the file size and every id against the vocabulary; a file it
// accepts is then split into documents and streamed (train/data/token_corpus.h) as training does.
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_support.h"     // defines: refuse_only_with_errors, write_scratch
#include "train/data/token_corpus.h"     // defines: split_token_corpus
#include "train/data/token_file.h"       // defines: TokenFile

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ssm;
  const std::string path = fuzz::write_scratch("corpus.tok", fuzz::as_text(data, size));
  // Unchecked ids (vocab_size 0, as `ssmlab info` opens it), then the byte tokenizer's 258 ids.
  fuzz::refuse_only_with_errors([&] { TokenFile::open(path, 0, "fuzz token file"); });
  fuzz::refuse_only_with_errors([&] {
    const TokenFile file = TokenFile::open(path, 258, "fuzz token file");
    const TokenId eos = file.separator() == kNoSeparator ? 256 : static_cast<TokenId>(file.separator());
    const int64_t min_doc_tokens = static_cast<int64_t>(size % 5);
    const TokenCorpus corpus = split_token_corpus(file, eos, min_doc_tokens, 0.25, "fuzz.sources[0]", path);
    std::vector<int64_t> window;
    for (const DocumentStream* s : {&corpus.train, &corpus.valid}) {
      if (s->size() > 0) s->copy(0, s->size(), window);  // every token, each document's EOS included
      for (size_t i = 0; i < s->num_docs(); ++i) s->document(i);
    }
  });
  return 0;
}
