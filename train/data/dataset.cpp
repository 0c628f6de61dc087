// train/data/dataset.cpp — corpora from disk and the stateless batch sampler (see dataset.h for the
// sampling rules and why they are what they are).
#include "train/data/dataset.h"

#include <algorithm>

#include "core/checked_size.h"    // defines: checked_mul, check_allocation
#include "core/error.h"           // defines: UserError, SSM_CHECK
#include "core/philox.h"          // defines: Rng
#include "train/data/corpus_cache.h"   // defines: corpus_token_file
#include "train/data/passkey_prompt.h" // defines: build_passkey_prompt, random_passkey

namespace ssm {

namespace {

// Stream tags: the data never shares random numbers with parameter init (which uses the seed
// directly), and validation never shares them with training.
constexpr uint64_t kDataTag = 0xDA7A;
constexpr uint64_t kTrainTag = 1;
constexpr uint64_t kValidTag = 2;

// ---- sequences ----------------------------------------------------------------------------

std::vector<TokenId> passkey_answer(const Tokenizer& tokenizer, const std::string& key) {
  return tokenizer.encode(" " + key + ".");
}

}  // namespace

// ---- Corpus ---------------------------------------------------------------------------------

const std::vector<TokenId>& Corpus::longest_valid_doc() const {
  SSM_USER_CHECK(!valid_docs.empty(), "corpus '", name, "' has no held-out documents (data.valid_fraction is 0 ",
                 "or the documents are too short)");
  return *std::max_element(valid_docs.begin(), valid_docs.end(),
                           [](const auto& a, const auto& b) { return a.size() < b.size(); });
}

Corpus load_corpus(const DataSource& source, const std::string& key, const Tokenizer& tokenizer,
                   double valid_fraction, const std::string& cache_dir) {
  const TokenFile file = corpus_token_file(source, key, tokenizer, cache_dir);
  const TokenCorpus split =
      split_token_corpus(file, tokenizer.eos_id(), source.min_doc_tokens, valid_fraction, key, source.path);
  Corpus corpus;
  corpus.name = source.path;
  for (size_t i = 0; i < split.train.num_docs(); ++i) corpus.train_docs.push_back(split.train.document(i));
  for (size_t i = 0; i < split.valid.num_docs(); ++i) corpus.valid_docs.push_back(split.valid.document(i));
  return corpus;
}

std::vector<TokenId> join_documents(const std::vector<std::vector<TokenId>>& docs, TokenId eos) {
  std::vector<TokenId> stream;
  for (const std::vector<TokenId>& doc : docs) {
    stream.insert(stream.end(), doc.begin(), doc.end());
    stream.push_back(eos);
  }
  return stream;
}

// ---- TrainingData ---------------------------------------------------------------------------

// A sequence of seq_len + 1 ids; targets [scored_begin, scored_end) are scored, i.e. the ids
// seq[scored_begin + 1 .. scored_end] are the ones predicted.
struct TrainingData::Row {
  std::vector<int64_t> seq;
  int64_t scored_begin = 0;
  int64_t scored_end = 0;
};

// A uniformly random window of `length` ids from `stream`; the whole stream, padded, when it
// is shorter. Every real next-token target is scored (EOS included: documents end).
TrainingData::Row TrainingData::text_row(const DocumentStream& stream, int64_t length, TokenId pad, Rng& rng) {
  const int64_t available = stream.size();
  const int64_t take = std::min(length, available);
  const int64_t start = static_cast<int64_t>(rng.below(static_cast<uint64_t>(available - take + 1)));
  Row row;
  row.seq.reserve(static_cast<size_t>(length));
  stream.copy(start, take, row.seq);
  row.seq.resize(static_cast<size_t>(length), pad);
  row.scored_end = take - 1;
  return row;
}

TrainingData::TrainingData(const DataConfig& config, const Tokenizer& tokenizer, uint64_t seed)
    : config_(config), tokenizer_(tokenizer), data_seed_(Rng::derive(seed, kDataTag)) {
  SSM_USER_CHECK(!config.sources.empty(), "data.sources: at least one source is required");
  // Checked where the config is read too (train/config.cpp); here for configs built in code.
  const int64_t batch_tokens = checked_mul(config.batch_size,
                                           checked_mul(config.seq_len, config.segments, "data.seq_len · data.segments"),
                                           "data.batch_size · data.seq_len · data.segments");
  check_allocation(static_cast<double>(batch_tokens) * 2 * sizeof(int64_t),
                   absl::StrCat("data.batch_size · data.seq_len · data.segments (", batch_tokens, " tokens per batch)"));
  // One segment's logits, (batch_size, seq_len, vocabulary) in f32, are held at every step: a
  // batch whose logits cannot fit is refused now, naming the keys, not by the allocator later.
  check_allocation(static_cast<double>(config.batch_size) * static_cast<double>(config.seq_len) *
                       static_cast<double>(tokenizer.vocab_size()) * sizeof(float),
                   absl::StrCat("data.batch_size · data.seq_len (", config.batch_size, " x ", config.seq_len,
                                "): the logits over ", tokenizer.vocab_size(), " token ids"));
  for (size_t i = 0; i < config.sources.size(); ++i) {
    const DataSource& ds = config.sources[i];
    Source source;
    source.kind = ds.kind;
    source.key = absl::StrCat("data.sources[", i, "]");
    source.weight = ds.weight;
    if (ds.kind == "passkey") {
      source.min_prompt = std::max(ds.min_tokens, shortest_passkey_prompt());
      source.ramp_steps = ds.ramp_steps;
      check_passkey_fits(source, ds.min_tokens);
    } else {
      source.corpus = static_cast<int64_t>(corpora_.size());
      const TokenFile file = corpus_token_file(ds, source.key, tokenizer, config.cache_dir);
      corpora_.push_back(
          split_token_corpus(file, tokenizer.eos_id(), ds.min_doc_tokens, config.valid_fraction, source.key, ds.path));
    }
    sources_.push_back(source);
  }
}

int64_t TrainingData::shortest_passkey_prompt() const {
  const PasskeyPieces pieces;
  return static_cast<int64_t>(tokenizer_.encode(pieces.prefix).size() + tokenizer_.encode(pieces.suffix).size() +
                              tokenizer_.encode(pieces.block).size());
}

void TrainingData::check_passkey_fits(const Source& source, int64_t min_tokens) const {
  const int64_t answer = static_cast<int64_t>(passkey_answer(tokenizer_, "00000").size());
  const int64_t longest = sequence_tokens() + 1 - answer;  // room left for the prompt
  if (source.min_prompt <= longest) return;
  if (min_tokens > shortest_passkey_prompt()) {
    throw UserError(absl::StrCat(source.key, ".min_tokens (", min_tokens, ") leaves no room for the answer: ",
                                 "prompt and answer (", answer,
                                 " tokens) must fit data.seq_len · data.segments + 1 = ", sequence_tokens() + 1,
                                 " tokens"));
  }
  throw UserError(absl::StrCat(source.key, ": data.seq_len (", config_.seq_len, ") is too short for a passkey ",
                               "prompt; the shortest prompt plus the answer needs data.seq_len · data.segments >= ",
                               source.min_prompt + answer - 1, " (", tokenizer_.name(), " tokens)"));
}

std::vector<TokenId> TrainingData::train_stream(size_t corpus_index) const {
  SSM_CHECK(corpus_index < corpora_.size(), "train_stream(", corpus_index, "): there are ", corpora_.size(),
            " corpora");
  return corpora_[corpus_index].train.tokens();
}

std::vector<TokenId> TrainingData::valid_stream(size_t corpus_index) const {
  SSM_CHECK(corpus_index < corpora_.size(), "valid_stream(", corpus_index, "): there are ", corpora_.size(),
            " corpora");
  return corpora_[corpus_index].valid.tokens();
}

std::vector<TokenId> TrainingData::longest_valid_doc() const {
  const DocumentStream* best = nullptr;
  size_t best_doc = 0, best_len = 0;
  for (const TokenCorpus& corpus : corpora_) {
    for (size_t i = 0; i < corpus.valid.num_docs(); ++i) {
      const size_t len = corpus.valid.document(i).size();
      if (!best || len > best_len) best = &corpus.valid, best_doc = i, best_len = len;
    }
  }
  SSM_USER_CHECK(best != nullptr, "no held-out documents: data.sources has no text or bible source, ",
                 "or data.valid_fraction is 0");
  return best->document(best_doc);
}

// Can this source give validation sequences? Passkey prompts are generated fresh; a text
// source needs held-out documents.
bool TrainingData::has_validation_data(const Source& source) const {
  return source.corpus < 0 || !corpora_[static_cast<size_t>(source.corpus)].valid.empty();
}

const TrainingData::Source& TrainingData::pick_source(Rng& rng, bool validation) const {
  double total = 0;
  for (const Source& s : sources_) total += (!validation || has_validation_data(s)) ? s.weight : 0.0;
  SSM_USER_CHECK(total > 0, "no validation data: no text source has held-out documents (data.valid_fraction is ",
                 config_.valid_fraction, ") and there is no passkey source; set train.eval_every: 0");
  const double u = static_cast<double>(rng.uniform()) * total;
  double cumulative = 0;
  const Source* chosen = nullptr;
  for (const Source& s : sources_) {
    if (validation && !has_validation_data(s)) continue;
    chosen = &s;
    cumulative += s.weight;
    if (u < cumulative) break;
  }
  return *chosen;  // rounding can leave u == total: the last eligible source takes it
}

TrainingData::Row TrainingData::passkey_row(const Source& source, int64_t step, Rng& rng) const {
  const int64_t length = sequence_tokens() + 1;
  const std::string key = random_passkey(rng);
  const std::vector<TokenId> answer = passkey_answer(tokenizer_, key);
  const int64_t longest_prompt = length - static_cast<int64_t>(answer.size());
  SSM_CHECK(longest_prompt >= source.min_prompt, source.key, ": the answer '", key, "' is ", answer.size(),
            " tokens, leaving no room for a prompt of ", source.min_prompt, " in data.seq_len + 1 = ", length);
  int64_t range = longest_prompt - source.min_prompt;
  if (step >= 0 && step + 1 < source.ramp_steps) range = range * (step + 1) / source.ramp_steps;  // the curriculum
  const int64_t target = source.min_prompt + static_cast<int64_t>(rng.below(static_cast<uint64_t>(range + 1)));
  const double depth = static_cast<double>(rng.uniform());
  const PasskeyPrompt prompt = build_passkey_prompt(tokenizer_, target, depth, key);

  Row row;
  for (TokenId id : tokenizer_.encode(prompt.text)) row.seq.push_back(id);
  // Target t predicts seq[t + 1]: the answer's ids sit at [P, P + A), so targets [P - 1, P + A - 1).
  row.scored_begin = static_cast<int64_t>(row.seq.size()) - 1;
  row.seq.insert(row.seq.end(), answer.begin(), answer.end());
  row.scored_end = static_cast<int64_t>(row.seq.size()) - 1;
  SSM_CHECK(static_cast<int64_t>(row.seq.size()) <= length, "passkey row of ", row.seq.size(),
            " ids exceeds the sequence length + 1 = ", length);
  row.seq.resize(static_cast<size_t>(length), tokenizer_.eos_id());
  return row;
}

TrainingData::Row TrainingData::draw_row(uint64_t row_seed, int64_t step) const {
  Rng rng(row_seed);
  const bool validation = step < 0;
  const Source& source = pick_source(rng, validation);
  if (source.corpus < 0) return passkey_row(source, step, rng);
  const TokenCorpus& corpus = corpora_[static_cast<size_t>(source.corpus)];
  return text_row(validation ? corpus.valid : corpus.train, sequence_tokens() + 1, tokenizer_.eos_id(), rng);
}

Batch TrainingData::draw(uint64_t batch_seed, int64_t step) const {
  const int64_t B = config_.batch_size, T = sequence_tokens();
  Batch batch{Tensor::empty({B, T}, Dtype::i64), Tensor::empty({B, T}, Dtype::i64)};
  int64_t* tokens = batch.tokens.data<int64_t>();
  int64_t* targets = batch.targets.data<int64_t>();
  for (int64_t b = 0; b < B; ++b) {
    const Row row = draw_row(Rng::derive(batch_seed, static_cast<uint64_t>(b)), step);
    for (int64_t t = 0; t < T; ++t) {
      tokens[b * T + t] = row.seq[static_cast<size_t>(t)];
      const bool scored = t >= row.scored_begin && t < row.scored_end;
      targets[b * T + t] = scored ? row.seq[static_cast<size_t>(t + 1)] : kIgnoreTarget;
    }
  }
  return batch;
}

Batch TrainingData::batch(int64_t step, int64_t micro, int64_t rank, int64_t world) const {
  SSM_CHECK(step >= 0 && micro >= 0 && rank >= 0 && world >= 1 && rank < world, "TrainingData::batch(step ", step,
            ", micro ", micro, ", rank ", rank, ", world ", world, "): bad indices");
  // The trailing 0 keeps the seeds of single-process runs what they were before sharding
  // existed (they derived over (step, micro, rank = 0)).
  uint64_t seed = Rng::derive(data_seed_, kTrainTag);
  for (int64_t part : {step, micro * world + rank, int64_t{0}}) seed = Rng::derive(seed, static_cast<uint64_t>(part));
  return draw(seed, step);
}

Batch TrainingData::valid_batch(int64_t index) const {
  SSM_CHECK(index >= 0, "TrainingData::valid_batch(", index, "): index must be >= 0");
  return draw(Rng::derive(Rng::derive(data_seed_, kValidTag), static_cast<uint64_t>(index)), /*step=*/-1);
}

}  // namespace ssm
