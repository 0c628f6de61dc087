// train/text/bpe_model.cpp — BPE vocabulary, merges and the two merge loops (see bpe_model.h).
#include "train/text/bpe_model.h"

#include <cstdio>
#include <queue>

#include "core/error.h"     // defines: UserError, SSM_USER_CHECK
#include "train/text/unicode.h"  // defines: decode_utf8

namespace ssm {

namespace {

uint64_t pair_key(TokenId left, TokenId right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

// The byte-fallback token of byte b: "<0x41>", hex digits upper case.
std::string byte_token(unsigned b) {
  char text[8];
  std::snprintf(text, sizeof text, "<0x%02X>", b);
  return text;
}

}  // namespace

BpeModel::BpeModel(Vocab vocab, const std::vector<std::pair<std::string, std::string>>& merges,
                   BpeOptions options, const std::string& source)
    : vocab_(std::move(vocab)), options_(std::move(options)) {
  TokenId max_id = -1;
  for (const auto& [token, id] : vocab_) {
    SSM_USER_CHECK(id >= 0, source, ": vocabulary id ", id, " of token '", token, "' is negative");
    SSM_USER_CHECK(id < kMaxVocabularySize, source, ": vocabulary id ", id, " of token '", token,
                   "' is too large: ssmlab reads vocabularies of at most ", kMaxVocabularySize, " ids");
    max_id = std::max(max_id, id);
  }
  id_to_token_.assign(static_cast<size_t>(max_id) + 1, nullptr);
  for (const auto& [token, id] : vocab_) {
    SSM_USER_CHECK(id_to_token_[id] == nullptr, source, ": vocabulary id ", id, " is given to both '",
                   *id_to_token_[id], "' and '", token, "'");
    id_to_token_[id] = &token;
  }
  merges_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [left, right] = merges[rank];
    const auto l = vocab_.find(left), r = vocab_.find(right), m = vocab_.find(left + right);
    SSM_USER_CHECK(l != vocab_.end() && r != vocab_.end(), source, ": merge ", rank, " ('", left, "' '", right,
                   "') names a token that is not in the vocabulary");
    SSM_USER_CHECK(m != vocab_.end(), source, ": the result of merge ", rank, " ('", left, right,
                   "') is not in the vocabulary");
    // A pair listed twice keeps its later rank, as the reference library does.
    merges_.insert_or_assign(pair_key(l->second, r->second), MergeRule{static_cast<int32_t>(rank), m->second});
  }
  if (options_.unk_token) {
    const auto it = vocab_.find(*options_.unk_token);
    SSM_USER_CHECK(it != vocab_.end(), source, ": unk_token '", *options_.unk_token, "' is not in the vocabulary");
    unk_id_ = it->second;
  }
  for (unsigned b = 0; b < 256; ++b) byte_tokens_[b] = token_to_id(byte_token(b)).value_or(-1);
}

std::optional<TokenId> BpeModel::token_to_id(std::string_view token) const {
  const auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* BpeModel::id_to_token(TokenId id) const {
  if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size()) return nullptr;
  return id_to_token_[id];
}

const BpeModel::MergeRule* BpeModel::find_merge(TokenId left, TokenId right) const {
  const auto it = merges_.find(pair_key(left, right));
  return it == merges_.end() ? nullptr : &it->second;
}

std::vector<TokenId> BpeModel::initial_symbols(std::string_view word) const {
  std::vector<TokenId> symbols;
  symbols.reserve(word.size());
  bool unk_pending = false;  // an unknown token not yet emitted (so following ones can fuse)
  for (size_t pos = 0; pos < word.size();) {
    char32_t unit;
    const size_t len = unicode::decode_utf8(word, pos, unit);
    const std::string_view ch = word.substr(pos, len);
    pos += len;
    if (const auto id = token_to_id(ch)) {
      if (unk_pending) symbols.push_back(*unk_id_);
      unk_pending = false;
      symbols.push_back(*id);
      continue;
    }
    if (options_.byte_fallback) {
      bool all_bytes = true;
      for (char c : ch) all_bytes = all_bytes && byte_tokens_[static_cast<unsigned char>(c)] >= 0;
      if (all_bytes) {  // (the reference leaves a pending unknown token pending here too)
        for (char c : ch) symbols.push_back(byte_tokens_[static_cast<unsigned char>(c)]);
        continue;
      }
    }
    if (unk_id_) {
      if (unk_pending && !options_.fuse_unk) symbols.push_back(*unk_id_);
      unk_pending = true;
    }
  }
  if (unk_pending) symbols.push_back(*unk_id_);
  return symbols;
}

std::vector<TokenId> BpeModel::merge(const std::vector<TokenId>& symbols) const {
  struct Symbol {
    TokenId id;
    int32_t prev, next;  // neighbours in the linked list, -1 at the ends
    bool alive;
  };
  struct Candidate {
    int32_t rank, pos;
    TokenId result;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  const int32_t n = static_cast<int32_t>(symbols.size());
  std::vector<Symbol> sym(symbols.size());
  for (int32_t i = 0; i < n; ++i) sym[i] = {symbols[i], i - 1, i + 1 < n ? i + 1 : -1, true};
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
  auto push_pair = [&](int32_t left) {
    if (left < 0 || sym[left].next < 0) return;
    if (const MergeRule* rule = find_merge(sym[left].id, sym[sym[left].next].id)) {
      queue.push({rule->rank, left, rule->result});
    }
  };
  for (int32_t i = 0; i + 1 < n; ++i) push_pair(i);
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = sym[top.pos];
    if (!left.alive || left.next < 0) continue;  // stale: merged away, or now the last symbol
    // Stale unless the pair here still merges into the same token (the reference's test).
    const MergeRule* rule = find_merge(left.id, sym[left.next].id);
    if (rule == nullptr || rule->result != top.result) continue;
    Symbol& right = sym[left.next];
    left.id = top.result;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) sym[right.next].prev = top.pos;
    push_pair(left.prev);
    push_pair(top.pos);
  }
  std::vector<TokenId> out;
  out.reserve(symbols.size());
  for (const Symbol& s : sym) {
    if (s.alive) out.push_back(s.id);
  }
  return out;
}

std::vector<TokenId> BpeModel::merge_naive(std::vector<TokenId> symbols) const {
  while (symbols.size() > 1) {
    const MergeRule* best = nullptr;
    TokenId best_left = -1, best_right = -1;
    for (size_t i = 0; i + 1 < symbols.size(); ++i) {
      const MergeRule* rule = find_merge(symbols[i], symbols[i + 1]);
      if (rule != nullptr && (best == nullptr || rule->rank < best->rank)) {
        best = rule;
        best_left = symbols[i];
        best_right = symbols[i + 1];
      }
    }
    if (best == nullptr) break;
    std::vector<TokenId> next;
    next.reserve(symbols.size());
    for (size_t i = 0; i < symbols.size(); ++i) {
      if (i + 1 < symbols.size() && symbols[i] == best_left && symbols[i + 1] == best_right) {
        next.push_back(best->result);
        ++i;
      } else {
        next.push_back(symbols[i]);
      }
    }
    symbols = std::move(next);
  }
  return symbols;
}

void BpeModel::encode_word(std::string_view word, std::vector<TokenId>& out) const {
  if (options_.ignore_merges) {
    if (const auto id = token_to_id(word)) {
      out.push_back(*id);
      return;
    }
  }
  const std::vector<TokenId> ids = merge(initial_symbols(word));
  out.insert(out.end(), ids.begin(), ids.end());
}

}  // namespace ssm
