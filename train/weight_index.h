// train/weight_index.h — all tensors of a public checkpoint, in one model.safetensors or in the
// shards model.safetensors.index.json lists, with the shape checks the loader relies on.
//
// Sizes read off a tensor's shape are only used after require_shape has checked its rank and that
// every dimension is at least 1: a 1-d embedding or a [4, 0] time_faaaa is a UserError naming the
// file, the tensor and its shape, never an index past the shape or a division by zero.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/safetensors.h"  // defines: SafetensorsFile
#include "core/tensor.h"       // defines: Tensor, Shape

namespace ssm {

class WeightIndex {
 public:
  // Maps every file (not the weights themselves). UserError for a missing model.safetensors, a
  // bad index, a shard that lacks a tensor the index gives it or holds one the index does not list.
  explicit WeightIndex(const std::string& dir);

  bool contains(const std::string& name) const { return where_.count(name) != 0; }
  Tensor get(const std::string& name) const;
  // The file holding `name` (for messages).
  std::string file_of(const std::string& name) const;
  // Every tensor name, sorted.
  std::vector<std::string> names() const;
  // The stored shape of `name`, unchecked (UserError when missing).
  const Shape& shape(const std::string& name) const;
  // The shape of `name`, required to have `rank` dimensions, each at least 1; UserError naming
  // the file, the tensor and the shape otherwise (and for a missing tensor).
  const Shape& require_shape(const std::string& name, size_t rank) const;
  // How many of prefix0suffix, prefix1suffix, ... exist, counting up from 0.
  int64_t count_prefix(const std::string& prefix, const std::string& suffix) const;

 private:
  std::string dir_;
  std::map<std::string, SafetensorsFile> files_;  // by file name inside dir_
  std::map<std::string, std::string> where_;       // tensor name -> file name
};

}  // namespace ssm
