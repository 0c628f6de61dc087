// train/text/byte_trie.cpp — insertion and longest-prefix lookup (see byte_trie.h).
#include "train/text/byte_trie.h"

#include <algorithm>

#include "core/error.h"  // defines: SSM_CHECK

namespace ssm {

namespace {
bool byte_less(const std::pair<unsigned char, int32_t>& edge, unsigned char byte) { return edge.first < byte; }
}  // namespace

int32_t ByteTrie::child(int32_t node, unsigned char byte) const {
  const auto& edges = nodes_[node].next;
  const auto it = std::lower_bound(edges.begin(), edges.end(), byte, byte_less);
  return it != edges.end() && it->first == byte ? it->second : -1;
}

void ByteTrie::insert(std::string_view key, TokenId id) {
  SSM_CHECK(!key.empty(), "ByteTrie::insert: empty key");
  int32_t node = 0;
  for (char c : key) {
    const unsigned char byte = static_cast<unsigned char>(c);
    int32_t next = child(node, byte);
    if (next < 0) {
      next = static_cast<int32_t>(nodes_.size());
      nodes_.emplace_back();  // may reallocate: look the parent up again below
      auto& edges = nodes_[node].next;
      edges.insert(std::lower_bound(edges.begin(), edges.end(), byte, byte_less), {byte, next});
    }
    node = next;
  }
  nodes_[node].id = id;
}

size_t ByteTrie::longest_match(std::string_view text, size_t pos, TokenId& id) const {
  size_t best = 0;
  int32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    node = child(node, static_cast<unsigned char>(text[i]));
    if (node < 0) break;
    if (nodes_[node].id >= 0) {
      best = i + 1 - pos;
      id = nodes_[node].id;
    }
  }
  return best;
}

}  // namespace ssm
