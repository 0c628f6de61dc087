// train/data/data_config.h — the `data:` section of a run config: which sources training draws
// from, in what shares, and how sequences are cut. Parsed and validated with the rest of the run
// config (train/config.h); kept here so the data library (train/data/) needs nothing of the
// trainer's configuration.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ssm {

struct DataSource {
  std::string kind;                   // text | jsonl | tokens | bible | passkey
  std::string path;                   // text: a file or a directory of .txt files (searched
                                      // recursively); jsonl: a .jsonl file or a directory of them;
                                      // tokens: an ssmlab token file (train/data/token_file.h);
                                      // bible: the directory scripts/make_bible_corpus.sh writes
  double weight = 1.0;                // share of training sequences drawn from this source
  int64_t min_tokens = 0;             // passkey: prompt lengths are drawn in [min_tokens, seq_len · segments]
  int64_t min_doc_tokens = 0;         // text/jsonl/tokens/bible: drop documents shorter than this
                                      // (the paper drops documents under 4096 tokens)
  std::string text_key = "text";      // jsonl: the field of each line that holds the document
  int64_t ramp_steps = 0;             // passkey: a length curriculum; the longest prompt drawn grows
                                      // linearly from the shortest to the full length over the first
                                      // ramp_steps optimizer steps (0: the full range from step 0)
};

struct DataConfig {
  std::string tokenizer = "byte";     // byte | path to tokenizer.json / rwkv_vocab*.txt / a directory
  std::vector<DataSource> sources;    // required, at least one
  int64_t seq_len = 512;              // tokens per segment (what one forward/backward sees)
  int64_t segments = 1;               // truncated BPTT: a sequence is seq_len · segments tokens,
                                      // trained as consecutive segments with the state carried
                                      // (detached) from one to the next (train/tbptt.h)
  int64_t batch_size = 8;             // sequences per micro-batch (per process)
  double valid_fraction = 0.02;       // share of each text source's documents held out
  std::string cache_dir;              // tokenized-corpus cache; empty: $SSMLAB_CACHE_DIR, else
                                      // $XDG_CACHE_HOME/ssmlab, else ~/.cache/ssmlab (train/data/corpus_cache.h)
};

}  // namespace ssm
