// eval/passkey.cpp — the passkey-retrieval grid, greedy decoding on the recurrent path, scoring,
// the heatmap grid and last-r curves.
#include "eval/passkey.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/numbers.h"    // defines: absl::SimpleAtoi
#include "absl/strings/str_split.h"  // defines: absl::StrSplit
#include "core/checked_size.h"       // defines: checked_mul, check_allocation
#include "core/error.h"              // defines: SSM_USER_CHECK
#include "core/philox.h"             // defines: Rng
#include "eval/inference.h"          // defines: greedy_token
#include "eval/state_stream.h"       // defines: StateStream
#include "train/data/passkey_prompt.h"    // defines: build_passkey_prompt, random_passkey, passkey_correct

namespace ssm {
namespace {

const double kNaN = std::nan("");

struct Prompt {
  PasskeySample sample;
  std::vector<TokenId> tokens;
};

size_t common_prefix(const std::vector<TokenId>& a, const std::vector<TokenId>& b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

std::vector<Prompt> prompts_for_length(const Tokenizer& tokenizer, const PasskeyOptions& o, int64_t length) {
  std::vector<Prompt> prompts;
  for (int64_t i = 0; i < o.samples; ++i) {
    Prompt p;
    p.sample.length = length;
    p.sample.depth = (static_cast<double>(i) + 0.5) / static_cast<double>(o.samples);
    // One key per (seed, length, sample): the same grid point gets the same key in every run.
    Rng rng(Rng::derive(o.seed, static_cast<uint64_t>(length) * 100003u + static_cast<uint64_t>(i)));
    const PasskeyPrompt built = build_passkey_prompt(tokenizer, length, p.sample.depth, random_passkey(rng));
    p.sample.key = built.answer;
    p.sample.needle_block = built.needle_block;
    if (o.bos) p.tokens.push_back(tokenizer.bos_id());
    const std::vector<TokenId> body = tokenizer.encode(built.text);
    p.tokens.insert(p.tokens.end(), body.begin(), body.end());
    p.sample.tokens = static_cast<int64_t>(p.tokens.size());
    prompts.push_back(std::move(p));
  }
  return prompts;
}

// Greedy continuation of the stream: `first` is the logits after the prompt.
std::vector<TokenId> greedy_continue(StateStream& stream, Tensor logits, int64_t max_new, TokenId eos) {
  std::vector<TokenId> out;
  for (int64_t k = 0; k < max_new; ++k) {
    const TokenId next = greedy_token(logits);
    if (next == eos) break;
    out.push_back(next);
    if (k + 1 < max_new) logits = stream.step(next);
  }
  return out;
}

void check_options(const Tokenizer& tokenizer, const PasskeyOptions& o) {
  SSM_USER_CHECK(!o.lengths.empty(), "passkey: no lengths to test");
  for (int64_t L : o.lengths) SSM_USER_CHECK(L > 0, "passkey: lengths must be positive, got ", L);
  SSM_USER_CHECK(o.samples > 0, "passkey: --samples must be positive, got ", o.samples);
  SSM_USER_CHECK(o.depth_bins > 0, "passkey: --depth-bins must be positive, got ", o.depth_bins);
  // The grid has depth_bins rows, and a length's samples are built at once: both must fit.
  check_allocation(static_cast<double>(o.depth_bins) * sizeof(std::vector<double>),
                   absl::StrCat("passkey: --depth-bins ", o.depth_bins));
  const int64_t longest = *std::max_element(o.lengths.begin(), o.lengths.end());
  check_allocation(static_cast<double>(o.samples) * static_cast<double>(longest) * sizeof(TokenId),
                   absl::StrCat("passkey: --samples ", o.samples, " prompts of ", longest, " tokens"));
  SSM_USER_CHECK(o.max_new_tokens > 0, "passkey: --max-new-tokens must be positive, got ", o.max_new_tokens);
  check_allocation(static_cast<double>(o.max_new_tokens) * sizeof(TokenId),
                   absl::StrCat("passkey: --max-new-tokens ", o.max_new_tokens));
  SSM_USER_CHECK(o.prefill_chunk > 0, "passkey: the prefill chunk must be positive, got ", o.prefill_chunk);
  SSM_USER_CHECK(!o.bos || tokenizer.bos_id() >= 0, "--bos: tokenizer ", tokenizer.name(), " has no BOS token");
}

}  // namespace

int64_t depth_bin(double depth, int64_t bins) {
  return std::clamp<int64_t>(static_cast<int64_t>(std::ceil(depth * static_cast<double>(bins))) - 1, 0, bins - 1);
}

std::vector<double> last_r_curve(const std::vector<std::vector<double>>& grid, const std::vector<int64_t>& lengths,
                                 int64_t r) {
  const int64_t R = static_cast<int64_t>(grid.size());
  std::vector<double> out(lengths.size(), kNaN);
  for (size_t j = 0; j < lengths.size(); ++j) {
    // ⌊R·r/L⌋: the bins that lie within the last r tokens (in 128 bits: R·r may pass 2^63).
    const auto rows = static_cast<int64_t>(std::min<__int128>(static_cast<__int128>(R) * r / lengths[j], R + 1));
    if (rows <= 0 || rows > R) continue;
    double sum = 0;
    int64_t count = 0;
    for (int64_t b = R - rows; b < R; ++b) {
      if (!std::isnan(grid[b][j])) sum += grid[b][j], ++count;
    }
    if (count > 0) out[j] = sum / static_cast<double>(count);
  }
  return out;
}

void PasskeyResult::merge(const PasskeyResult& other) {
  std::vector<PasskeySample> all = samples;
  all.insert(all.end(), other.samples.begin(), other.samples.end());
  std::stable_sort(all.begin(), all.end(), [](const PasskeySample& a, const PasskeySample& b) {
    return a.length != b.length ? a.length < b.length : a.depth < b.depth;
  });
  const int64_t bins = static_cast<int64_t>(std::max(grid.size(), other.grid.size()));
  std::vector<int64_t> r_values = last_r.empty() ? other.last_r : last_r;
  *this = PasskeyResult{};
  samples = std::move(all);
  for (const PasskeySample& s : samples) {
    if (lengths.empty() || lengths.back() != s.length) lengths.push_back(s.length);
  }
  std::vector<std::vector<double>> hits(bins, std::vector<double>(lengths.size(), 0)), counts = hits;
  std::vector<double> correct(lengths.size(), 0), total(lengths.size(), 0);
  for (const PasskeySample& s : samples) {
    const size_t j = static_cast<size_t>(std::lower_bound(lengths.begin(), lengths.end(), s.length) - lengths.begin());
    const int64_t b = depth_bin(s.depth, bins);
    hits[b][j] += s.correct, counts[b][j] += 1, correct[j] += s.correct, total[j] += 1;
  }
  grid.assign(bins, std::vector<double>(lengths.size(), kNaN));
  for (int64_t b = 0; b < bins; ++b) {
    for (size_t j = 0; j < lengths.size(); ++j) {
      if (counts[b][j] > 0) grid[b][j] = hits[b][j] / counts[b][j];
    }
  }
  for (size_t j = 0; j < lengths.size(); ++j) accuracy.push_back(correct[j] / total[j]);
  last_r = r_values;
  for (int64_t r : last_r) last_r_accuracy.push_back(last_r_curve(grid, lengths, r));
}

PasskeyResult run_passkey(LanguageModel& model, const Tokenizer& tokenizer, const PasskeyOptions& o,
                          const Mitigations& mitigations, Device device, const PasskeyProgress& progress) {
  check_options(tokenizer, o);
  std::vector<int64_t> lengths = o.lengths;
  std::sort(lengths.begin(), lengths.end());
  lengths.erase(std::unique(lengths.begin(), lengths.end()), lengths.end());

  StateStream stream(model, device, mitigations, o.prefill_chunk);
  PasskeyResult result;
  result.grid.assign(o.depth_bins, {});
  result.last_r = o.last_r;
  for (int64_t length : lengths) {
    std::vector<Prompt> prompts = prompts_for_length(tokenizer, o, length);
    // `carry` holds the state after the first carry_at tokens of prompt i, which prompt i shares
    // with prompt i-1 (carry_at = 0: start from zero).
    StateStream::Snapshot carry;
    size_t carry_at = 0;
    for (size_t i = 0; i < prompts.size(); ++i) {
      const std::vector<TokenId>& tokens = prompts[i].tokens;
      const size_t n = tokens.size();
      if (carry_at == 0) {
        stream.reset();
      } else {
        stream.restore(carry);
      }
      // The next prompt shares next_at tokens with this one; keep one token to feed either way.
      size_t next_at = 0;
      if (i + 1 < prompts.size()) {
        const std::vector<TokenId>& next = prompts[i + 1].tokens;
        next_at = std::min({common_prefix(tokens, next), n - 1, next.size() - 1});
      }
      if (next_at > carry_at) {
        stream.feed(tokens, carry_at, next_at);
        carry = stream.snapshot();
      } else if (next_at < carry_at) {
        next_at = 0;  // the next prompt diverges earlier than our start: it starts from zero
      }
      const Tensor logits = stream.feed(tokens, std::max(next_at, carry_at), n);
      carry_at = next_at;

      PasskeySample& s = prompts[i].sample;
      // " 12345" must fit: a byte-level tokenizer needs 6 tokens for it, more than the paper's 5.
      const int64_t key_tokens = static_cast<int64_t>(tokenizer.encode(" " + s.key).size());
      const std::vector<TokenId> generated =
          greedy_continue(stream, logits, std::max(o.max_new_tokens, key_tokens), tokenizer.eos_id());
      s.generated = tokenizer.decode(generated);
      s.correct = passkey_correct(s.generated, s.key);
      if (progress) progress(s);
    }
    PasskeyResult one;
    one.grid.assign(o.depth_bins, {});
    one.last_r = o.last_r;
    for (Prompt& p : prompts) one.samples.push_back(std::move(p.sample));
    result.merge(one);
  }
  return result;
}

std::vector<int64_t> parse_lengths(const std::string& text, const std::string& what) {
  auto bad = [&] {
    return UserError(absl::StrCat(what, ": expected lengths like 1K,2K,8K or a range 1K:16K[:STEP] (K = 1024), got '",
                                  text, "'"));
  };
  // Every length is a sequence of that many token ids (4 bytes each, at the least) held in
  // memory: a length that wraps (64K past 2^63) or cannot be held is refused, naming the flag.
  auto number = [&](absl::string_view s) {
    int64_t scale = 1;
    if (!s.empty() && (s.back() == 'K' || s.back() == 'k')) scale = 1024, s.remove_suffix(1);
    int64_t v = 0;
    if (!absl::SimpleAtoi(s, &v) || v <= 0) throw bad();
    const int64_t length = checked_mul(v, scale, what);
    check_allocation(static_cast<double>(length) * sizeof(int32_t), absl::StrCat(what, ": ", length, " tokens"));
    return length;
  };
  std::vector<int64_t> out;
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    const std::vector<absl::string_view> parts = absl::StrSplit(item, ':');
    if (parts.size() == 1) {
      out.push_back(number(parts[0]));
      continue;
    }
    if (parts.size() > 3) throw bad();
    const int64_t lo = number(parts[0]), hi = number(parts[1]), step = parts.size() == 3 ? number(parts[2]) : 1024;
    if (hi < lo) throw bad();
    const int64_t count = (hi - lo) / step + 1;  // counted first: v += step could pass INT64_MAX
    check_allocation(static_cast<double>(out.size() + count) * sizeof(int64_t),
                     absl::StrCat(what, ": a list of ", out.size() + count, " lengths"));
    for (int64_t k = 0; k < count; ++k) out.push_back(lo + k * step);
  }
  if (out.empty()) throw bad();
  return out;
}

}  // namespace ssm
