// core/safetensors.h — reading and writing the safetensors weight format (Hugging Face's),
// so checkpoints open directly in Python (`safetensors.torch.load_file`).
//
// The format, all of it:
//   bytes [0, 8)        N, the header length, a little-endian uint64
//   bytes [8, 8+N)      a JSON object: {"name": {"dtype": "F32", "shape": [2, 3],
//                       "data_offsets": [begin, end]}, ..., "__metadata__": {"key": "value"}}
//   bytes [8+N, EOF)    the tensor data; offsets are relative to its start, row-major, little-endian
// Supported dtypes: F32, F64, BF16, F16, I32, I64 (the ones ssm::Dtype has).
//
// Writing goes to `path + ".tmp"` and is renamed over `path` at the end, so a crash never leaves
// a half-written file under the real name. Reading checks the header against the file, then reads
// the tensor data into one block of memory (with pread, so a file truncated meanwhile is an
// error, not the SIGBUS a mapping would give) and hands out tensors that view it (a tensor at an
// offset misaligned for its dtype is copied instead); the block lives as long as any tensor or
// SafetensorsFile uses it.
// Every defect in a file is a UserError naming the path.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"  // defines: Tensor, Shape, Dtype

namespace ssm {

// Writes CPU tensors (any layout; non-contiguous ones are made contiguous) under their names.
// Names must be unique and not "__metadata__".
void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

class SafetensorsFile {
 public:
  // Tensor names in the order their data lies in the file (the writer's order).
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const { return entries_.count(name) != 0; }
  // A CPU tensor viewing the file's bytes; copied only when the bytes are misaligned for the
  // dtype. Writing into it changes this process's copy only, never the file.
  // UserError naming the path when there is no such tensor.
  Tensor get(const std::string& name) const;
  // The stored shape alone (no tensor made, nothing copied); UserError when there is no such tensor.
  const Shape& shape(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& path() const { return path_; }

 private:
  friend SafetensorsFile load_safetensors(const std::string& path);

  struct Entry {
    Dtype dtype;
    Shape shape;
    size_t begin;  // byte offsets into the data section
    size_t end;
  };

  std::string path_;
  std::shared_ptr<void> contents_;  // the data section, read once; freed when the last tensor lets go
  const char* data_ = nullptr;     // contents_' bytes
  std::map<std::string, Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

// Maps and validates a file as the reference library does: a header length within the file, a
// JSON object (nesting limited, no name twice), known dtypes, shapes whose byte count (overflow-
// checked) equals their data_offsets span, and offsets that tile the data section exactly —
// sorted, from 0, without gaps or overlaps, ending at the file's last byte.
SafetensorsFile load_safetensors(const std::string& path);

}  // namespace ssm
