// train/data/dataset.h — training data as token sequences: corpora of documents read from disk, and
// the batch sampler the trainer draws from.
//
// Documents. Every text/jsonl/bible/tokens source becomes a token file once
// (train/data/corpus_cache.h), split into kept, dropped (min_doc_tokens) and held-out documents
// (train/data/token_corpus.h). The training stream of a source is its training documents joined with
// an EOS after each.
//
// Batches (TrainingData). A sequence is data.seq_len · data.segments tokens long (the segments
// are cut by the trainer, train/tbptt.h). Every batch is a pure function of (seed, step,
// global micro-batch): its random numbers come from a Philox stream seeded by Rng::derive over
// those integers, one child stream per sequence. Nothing needs saving to resume at step k; the
// same batches come back. Data parallelism shards by micro-batch: a step of W processes with
// grad_accum A uses the global micro-batches 0 .. W·A − 1, and process `rank` takes
// micro · W + rank for its micro = 0 .. A − 1. So W processes with grad_accum A see exactly the
// micro-batches of one process with grad_accum W·A, whatever W is.
// Each sequence of L + 1 tokens gives tokens = seq[0, L) and targets = seq[1, L + 1);
// targets of -100 are not scored. A sequence first picks its source with probability
// proportional to the weights, then:
//   * text / jsonl / bible / tokens: a uniformly random window of L + 1 tokens from the
//     source's stream. All targets are scored. A stream shorter than the window is used whole
//     and padded.
//   * passkey: build_passkey_prompt at a uniformly random length in
//     [max(min_tokens, shortest possible prompt), L + 1 − len(answer)], a uniform depth
//     and random_passkey, followed by the answer " " + key + "." (what the prompt's last words
//     "The passkey is" ask for). Only the answer tokens are scored: the model is taught to
//     retrieve the key, not to predict filler it has seen many times. With ramp_steps R > 0
//     the upper end of the range grows with the step s: min + ⌊(max − min) · min(1, (s + 1)/R)⌋,
//     so early steps see one block (the needle) and later ones the whole haystack; validation
//     always draws from the full range (it measures the task the run is aiming at).
// Padding (after a passkey answer, or after a short text stream) uses the tokenizer's EOS id.
// It is never scored, and the models are causal, so nothing after the last scored position
// can change the loss; EOS keeps the padding inside every tokenizer's vocabulary.
// Validation batches are drawn the same way from a separate stream indexed by batch number,
// from the held-out documents (text sources without held-out data are left out; passkey
// sources generate fresh prompts), so the validation set is fixed for a run.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/philox.h"        // defines: Rng
#include "core/tensor.h"        // defines: Tensor
#include "train/data/data_config.h"  // defines: DataConfig, DataSource
#include "train/data/token_corpus.h" // defines: TokenCorpus, DocumentStream
#include "train/text/tokenizer.h"    // defines: Tokenizer, TokenId

namespace ssm {

// Targets at positions that must not contribute to the loss.
constexpr int64_t kIgnoreTarget = -100;

struct Batch {
  Tensor tokens;   // i64 (batch_size, seq_len · segments), CPU
  Tensor targets;  // i64 (batch_size, seq_len · segments), CPU; kIgnoreTarget = not scored
};

struct Corpus {
  std::vector<std::vector<TokenId>> train_docs, valid_docs;
  std::string name;  // the source's path
  // The longest held-out document, for long-document evaluation (loss against position).
  // UserError when nothing was held out.
  const std::vector<TokenId>& longest_valid_doc() const;
};

// Reads a text/jsonl/bible/tokens source (through the token cache) into memory. `key` is its
// config path ("data.sources[0]"), so errors say which entry is wrong. Empty documents are
// skipped; an empty corpus is a UserError. `cache_dir` as data.cache_dir (empty: the default).
Corpus load_corpus(const DataSource& source, const std::string& key, const Tokenizer& tokenizer,
                   double valid_fraction, const std::string& cache_dir = "");

// Documents joined into one stream with `eos` after each.
std::vector<TokenId> join_documents(const std::vector<std::vector<TokenId>>& docs, TokenId eos);

class TrainingData {
 public:
  // Loads every source now (so bad paths fail before training starts). `tokenizer` must
  // outlive this object: passkey prompts are tokenized as batches are drawn.
  TrainingData(const DataConfig& config, const Tokenizer& tokenizer, uint64_t seed);

  // Micro-batch `micro` of optimizer step `step` on data-parallel rank `rank` of `world`:
  // global micro-batch micro · world + rank (see the header comment).
  Batch batch(int64_t step, int64_t micro, int64_t rank = 0, int64_t world = 1) const;
  // The index-th validation batch (the same for every call and every step).
  Batch valid_batch(int64_t index) const;

  int64_t seq_len() const { return config_.seq_len; }
  int64_t sequence_tokens() const { return config_.seq_len * config_.segments; }
  int64_t batch_size() const { return config_.batch_size; }
  // One corpus per text/jsonl/bible/tokens source, in config order.
  const std::vector<TokenCorpus>& corpora() const { return corpora_; }
  std::vector<TokenId> train_stream(size_t corpus_index) const;
  std::vector<TokenId> valid_stream(size_t corpus_index) const;
  // The longest held-out document over all corpora; UserError when there is none.
  std::vector<TokenId> longest_valid_doc() const;

 private:
  // One entry per config source: where its sequences come from.
  struct Source {
    std::string kind;
    std::string key;        // "data.sources[i]"
    double weight = 1.0;
    int64_t corpus = -1;    // text/bible: index into corpora_ and the streams
    int64_t min_prompt = 0; // passkey: shortest prompt length drawn
    int64_t ramp_steps = 0; // passkey: steps over which the longest prompt drawn grows to the full length
  };

  struct Row;  // one sampled sequence and which of its targets are scored (dataset.cpp)

  int64_t shortest_passkey_prompt() const;
  void check_passkey_fits(const Source& source, int64_t min_tokens) const;
  bool has_validation_data(const Source& source) const;
  const Source& pick_source(Rng& rng, bool validation) const;
  static Row text_row(const DocumentStream& stream, int64_t length, TokenId pad, Rng& rng);
  // `step` < 0 (validation): no curriculum, the full range of prompt lengths.
  Row passkey_row(const Source& source, int64_t step, Rng& rng) const;
  Row draw_row(uint64_t row_seed, int64_t step) const;
  Batch draw(uint64_t batch_seed, int64_t step) const;

  DataConfig config_;
  const Tokenizer& tokenizer_;
  uint64_t data_seed_;
  std::vector<Source> sources_;
  std::vector<TokenCorpus> corpora_;
};

}  // namespace ssm
