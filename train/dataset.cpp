// train/dataset.cpp — corpora from disk and the stateless batch sampler (see dataset.h for the
// sampling rules and why they are what they are).
#include "train/dataset.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"           // defines: UserError, SSM_CHECK
#include "core/philox.h"          // defines: Rng
#include "train/passkey_prompt.h" // defines: build_passkey_prompt, random_passkey

namespace ssm {
namespace fs = std::filesystem;

namespace {

// Stream tags: the data never shares random numbers with parameter init (which uses the seed
// directly), and validation never shares them with training.
constexpr uint64_t kDataTag = 0xDA7A;
constexpr uint64_t kTrainTag = 1;
constexpr uint64_t kValidTag = 2;

// ---- corpus loading -----------------------------------------------------------------------

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError(absl::StrCat("cannot read '", path.string(), "': ", std::strerror(errno)));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The files that make up a source: the file itself, or the directory's *.txt sorted by name.
std::vector<fs::path> document_files(const DataSource& source, const std::string& key) {
  const fs::path path(source.path);
  const std::string where = absl::StrCat(key, ".path: '", source.path, "'");
  if (!fs::exists(path)) {
    if (source.kind == "bible") {
      throw UserError(absl::StrCat(where, " does not exist; create the Bible corpus with `make corpus` (or ",
                                   "scripts/make_bible_corpus.sh ", source.path, ")"));
    }
    throw UserError(absl::StrCat(where, " does not exist"));
  }
  if (!fs::is_directory(path)) {
    SSM_USER_CHECK(source.kind != "bible", where, " must be a directory of book files, as written by ",
                   "scripts/make_bible_corpus.sh");
    return {path};
  }
  std::vector<fs::path> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(path)) {
    if (entry.is_regular_file() && entry.path().extension() == ".txt") files.push_back(entry.path());
  }
  SSM_USER_CHECK(!files.empty(), where, " holds no .txt files");
  std::sort(files.begin(), files.end());
  return files;
}

// How many of n documents (or tokens) are held out: ceil(fraction · n), at least one when the
// fraction is positive, and never all of them.
size_t held_out_count(double valid_fraction, size_t n) {
  if (valid_fraction <= 0 || n < 2) return 0;
  const size_t k = static_cast<size_t>(std::ceil(valid_fraction * static_cast<double>(n)));
  return std::clamp<size_t>(k, 1, n - 1);
}

void split_for_validation(Corpus& corpus, double valid_fraction) {
  std::vector<std::vector<TokenId>>& docs = corpus.train_docs;
  if (docs.size() == 1) {
    // One document (one big file): hold out its tail instead.
    std::vector<TokenId>& doc = docs.front();
    const size_t tail = held_out_count(valid_fraction, doc.size());
    if (tail == 0) return;
    corpus.valid_docs.emplace_back(doc.end() - static_cast<std::ptrdiff_t>(tail), doc.end());
    doc.resize(doc.size() - tail);
    return;
  }
  const size_t held_out = held_out_count(valid_fraction, docs.size());
  for (size_t i = docs.size() - held_out; i < docs.size(); ++i) corpus.valid_docs.push_back(std::move(docs[i]));
  docs.resize(docs.size() - held_out);
}

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
                   double valid_fraction) {
  Corpus corpus;
  corpus.name = source.path;
  for (const fs::path& file : document_files(source, key)) {
    std::vector<TokenId> doc = tokenizer.encode(read_file(file));
    if (!doc.empty()) corpus.train_docs.push_back(std::move(doc));
  }
  SSM_USER_CHECK(!corpus.train_docs.empty(), key, ".path: '", source.path, "' holds no text (empty corpus)");
  split_for_validation(corpus, valid_fraction);
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
TrainingData::Row TrainingData::text_row(const std::vector<TokenId>& stream, int64_t length, TokenId pad, Rng& rng) {
  const int64_t available = static_cast<int64_t>(stream.size());
  const int64_t take = std::min(length, available);
  const int64_t start = static_cast<int64_t>(rng.below(static_cast<uint64_t>(available - take + 1)));
  Row row;
  row.seq.assign(stream.begin() + start, stream.begin() + start + take);
  row.seq.resize(static_cast<size_t>(length), pad);
  row.scored_end = take - 1;
  return row;
}

TrainingData::TrainingData(const DataConfig& config, const Tokenizer& tokenizer, uint64_t seed)
    : config_(config), tokenizer_(tokenizer), data_seed_(Rng::derive(seed, kDataTag)) {
  SSM_USER_CHECK(!config.sources.empty(), "data.sources: at least one source is required");
  for (size_t i = 0; i < config.sources.size(); ++i) {
    const DataSource& ds = config.sources[i];
    Source source;
    source.kind = ds.kind;
    source.key = absl::StrCat("data.sources[", i, "]");
    source.weight = ds.weight;
    if (ds.kind == "passkey") {
      source.min_prompt = std::max(ds.min_tokens, shortest_passkey_prompt());
      check_passkey_fits(source, ds.min_tokens);
    } else {
      source.corpus = static_cast<int64_t>(corpora_.size());
      corpora_.push_back(load_corpus(ds, source.key, tokenizer, config.valid_fraction));
      train_streams_.push_back(join_documents(corpora_.back().train_docs, tokenizer.eos_id()));
      valid_streams_.push_back(join_documents(corpora_.back().valid_docs, tokenizer.eos_id()));
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
  const int64_t longest = config_.seq_len + 1 - answer;  // room left for the prompt
  if (source.min_prompt <= longest) return;
  if (min_tokens > shortest_passkey_prompt()) {
    throw UserError(absl::StrCat(source.key, ".min_tokens (", min_tokens, ") leaves no room for the answer: ",
                                 "prompt and answer (", answer, " tokens) must fit data.seq_len + 1 = ",
                                 config_.seq_len + 1, " tokens"));
  }
  throw UserError(absl::StrCat(source.key, ": data.seq_len (", config_.seq_len, ") is too short for a passkey ",
                               "prompt; the shortest prompt plus the answer needs data.seq_len >= ",
                               source.min_prompt + answer - 1, " (", tokenizer_.name(), " tokens)"));
}

const std::vector<TokenId>& TrainingData::train_stream(size_t corpus_index) const {
  SSM_CHECK(corpus_index < train_streams_.size(), "train_stream(", corpus_index, "): there are ",
            train_streams_.size(), " corpora");
  return train_streams_[corpus_index];
}

const std::vector<TokenId>& TrainingData::longest_valid_doc() const {
  const std::vector<TokenId>* longest = nullptr;
  for (const Corpus& corpus : corpora_) {
    if (corpus.valid_docs.empty()) continue;
    const std::vector<TokenId>& doc = corpus.longest_valid_doc();
    if (!longest || doc.size() > longest->size()) longest = &doc;
  }
  SSM_USER_CHECK(longest != nullptr, "no held-out documents: data.sources has no text or bible source, ",
                 "or data.valid_fraction is 0");
  return *longest;
}

// Can this source give validation sequences? Passkey prompts are generated fresh; a text
// source needs held-out documents.
bool TrainingData::has_validation_data(const Source& source) const {
  return source.corpus < 0 || !valid_streams_[static_cast<size_t>(source.corpus)].empty();
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

TrainingData::Row TrainingData::passkey_row(const Source& source, Rng& rng) const {
  const int64_t length = config_.seq_len + 1;
  const std::string key = random_passkey(rng);
  const std::vector<TokenId> answer = passkey_answer(tokenizer_, key);
  const int64_t longest_prompt = length - static_cast<int64_t>(answer.size());
  SSM_CHECK(longest_prompt >= source.min_prompt, source.key, ": the answer '", key, "' is ", answer.size(),
            " tokens, leaving no room for a prompt of ", source.min_prompt, " in data.seq_len + 1 = ", length);
  const int64_t target = source.min_prompt +
                         static_cast<int64_t>(rng.below(static_cast<uint64_t>(longest_prompt - source.min_prompt + 1)));
  const double depth = static_cast<double>(rng.uniform());
  const PasskeyPrompt prompt = build_passkey_prompt(tokenizer_, target, depth, key);

  Row row;
  for (TokenId id : tokenizer_.encode(prompt.text)) row.seq.push_back(id);
  // Target t predicts seq[t + 1]: the answer's ids sit at [P, P + A), so targets [P - 1, P + A - 1).
  row.scored_begin = static_cast<int64_t>(row.seq.size()) - 1;
  row.seq.insert(row.seq.end(), answer.begin(), answer.end());
  row.scored_end = static_cast<int64_t>(row.seq.size()) - 1;
  SSM_CHECK(static_cast<int64_t>(row.seq.size()) <= length, "passkey row of ", row.seq.size(),
            " ids exceeds seq_len + 1 = ", length);
  row.seq.resize(static_cast<size_t>(length), tokenizer_.eos_id());
  return row;
}

TrainingData::Row TrainingData::draw_row(uint64_t row_seed, bool validation) const {
  Rng rng(row_seed);
  const Source& source = pick_source(rng, validation);
  if (source.corpus < 0) return passkey_row(source, rng);
  const auto& streams = validation ? valid_streams_ : train_streams_;
  const auto& stream = streams[static_cast<size_t>(source.corpus)];
  return text_row(stream, config_.seq_len + 1, tokenizer_.eos_id(), rng);
}

Batch TrainingData::draw(uint64_t batch_seed, bool validation) const {
  const int64_t B = config_.batch_size, T = config_.seq_len;
  Batch batch{Tensor::empty({B, T}, Dtype::i64), Tensor::empty({B, T}, Dtype::i64)};
  int64_t* tokens = batch.tokens.data<int64_t>();
  int64_t* targets = batch.targets.data<int64_t>();
  for (int64_t b = 0; b < B; ++b) {
    const Row row = draw_row(Rng::derive(batch_seed, static_cast<uint64_t>(b)), validation);
    for (int64_t t = 0; t < T; ++t) {
      tokens[b * T + t] = row.seq[static_cast<size_t>(t)];
      const bool scored = t >= row.scored_begin && t < row.scored_end;
      targets[b * T + t] = scored ? row.seq[static_cast<size_t>(t + 1)] : kIgnoreTarget;
    }
  }
  return batch;
}

Batch TrainingData::batch(int64_t step, int64_t micro, int64_t rank) const {
  SSM_CHECK(step >= 0 && micro >= 0 && rank >= 0, "TrainingData::batch(step ", step, ", micro ", micro, ", rank ",
            rank, "): indices must be >= 0");
  uint64_t seed = Rng::derive(data_seed_, kTrainTag);
  for (int64_t part : {step, micro, rank}) seed = Rng::derive(seed, static_cast<uint64_t>(part));
  return draw(seed, /*validation=*/false);
}

Batch TrainingData::valid_batch(int64_t index) const {
  SSM_CHECK(index >= 0, "TrainingData::valid_batch(", index, "): index must be >= 0");
  return draw(Rng::derive(Rng::derive(data_seed_, kValidTag), static_cast<uint64_t>(index)), /*validation=*/true);
}

}  // namespace ssm
