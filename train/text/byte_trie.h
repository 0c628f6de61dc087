// train/text/byte_trie.h — a trie over byte strings with longest-prefix lookup. The RWKV World tokenizer
// encodes with it (greedy longest match), and the BPE tokenizer finds its added tokens with it
// (leftmost-longest matching, as the reference library's Aho-Corasick search does).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "train/text/tokenizer.h"  // defines: TokenId

namespace ssm {

class ByteTrie {
 public:
  ByteTrie() : nodes_(1) {}

  // Adds `key` (non-empty) with `id`; adding a key again replaces its id.
  void insert(std::string_view key, TokenId id);

  // The longest key that starts text[pos..]: returns its length in bytes (0 when no key does)
  // and sets `id` to its id.
  size_t longest_match(std::string_view text, size_t pos, TokenId& id) const;

  bool empty() const { return nodes_.size() == 1; }

 private:
  struct Node {
    TokenId id = -1;                                     // -1: no key ends here
    std::vector<std::pair<unsigned char, int32_t>> next;  // sorted by byte
  };
  int32_t child(int32_t node, unsigned char byte) const;  // -1 if absent

  std::vector<Node> nodes_;  // nodes_[0] is the root
};

}  // namespace ssm
