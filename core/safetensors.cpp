// core/safetensors.cpp — the safetensors writer (atomic: .tmp then rename) and the reader
// with full validation of the header against the file.
#include "core/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <nlohmann/json.hpp>  // defines: nlohmann::json

#include "core/error.h"         // defines: UserError, SSM_CHECK, SSM_USER_CHECK
#include "core/json_read.h"     // defines: parse_json_text, describe_json
#include "core/checked_size.h"  // defines: check_allocation
#include "core/regular_file.h"  // defines: RegularFile
#include "core/storage.h"       // defines: allocate_storage

namespace ssm {

// The header length and all tensor data are little-endian; on such a host the bytes are the
// values, so reading and writing are plain copies.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

namespace {

using nlohmann::json;

constexpr size_t kLengthBytes = 8;
constexpr const char* kMetadataKey = "__metadata__";

// ---- dtype names --------------------------------------------------------------------------

const char* safetensors_dtype_name(Dtype dtype) {
  switch (dtype) {
    case Dtype::f32: return "F32";
    case Dtype::f64: return "F64";
    case Dtype::bf16: return "BF16";
    case Dtype::f16: return "F16";
    case Dtype::i32: return "I32";
    case Dtype::i64: return "I64";
  }
  return "?";
}

bool parse_safetensors_dtype(const std::string& name, Dtype* dtype) {
  for (Dtype d : {Dtype::f32, Dtype::f64, Dtype::bf16, Dtype::f16, Dtype::i32, Dtype::i64}) {
    if (name == safetensors_dtype_name(d)) {
      *dtype = d;
      return true;
    }
  }
  return false;
}

// ---- writing ------------------------------------------------------------------------------

// write(2) may write less than asked; loop until everything is out.
bool write_all(int fd, const void* data, size_t nbytes) {
  const char* p = static_cast<const char*>(data);
  while (nbytes > 0) {
    const ssize_t n = ::write(fd, p, nbytes);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    nbytes -= static_cast<size_t>(n);
  }
  return true;
}

// Largest dtype first keeps every tensor aligned for its dtype when the data section starts
// 8-byte aligned (which the header padding guarantees). The official writer does the same.
std::vector<size_t> write_order(const std::vector<std::pair<std::string, Tensor>>& tensors) {
  std::vector<size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return dtype_size(tensors[a].second.dtype()) > dtype_size(tensors[b].second.dtype());
  });
  return order;
}

// The JSON header, padded with spaces so the data section starts at a multiple of 8.
std::string build_header(const std::vector<std::pair<std::string, Tensor>>& tensors,
                         const std::vector<size_t>& order, const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  size_t offset = 0;
  for (size_t i : order) {
    const auto& [name, tensor] = tensors[i];
    header[name] = {{"dtype", safetensors_dtype_name(tensor.dtype())},
                    {"shape", tensor.shape()},
                    {"data_offsets", {offset, offset + tensor.nbytes()}}};
    offset += tensor.nbytes();
  }
  if (!metadata.empty()) header[kMetadataKey] = metadata;
  std::string text = header.dump();
  text.append((kLengthBytes - text.size() % kLengthBytes) % kLengthBytes, ' ');
  return text;
}

void check_writable(const std::vector<std::pair<std::string, Tensor>>& tensors, const std::string& path) {
  std::map<std::string, int> seen;
  for (const auto& [name, tensor] : tensors) {
    SSM_CHECK(tensor.defined(), "save_safetensors '", path, "': tensor '", name, "' is undefined");
    SSM_CHECK(tensor.device().is_cpu(), "save_safetensors '", path, "': tensor '", name, "' is on ",
              tensor.device().str(), "; move it to the CPU first");
    SSM_CHECK(name != kMetadataKey, "save_safetensors '", path, "': '", kMetadataKey, "' is a reserved name");
    SSM_CHECK(++seen[name] == 1, "save_safetensors '", path, "': duplicate tensor name '", name, "'");
  }
}

// ---- reading ------------------------------------------------------------------------------

// Every reader error: "<path>: <what is wrong>".
[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw UserError(absl::StrCat(path, ": ", what));
}

// The reference library refuses headers above 100 MB; so does this reader (a real one with
// ten thousand tensors is about 1 MB).
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

// A non-negative JSON integer, or a UserError saying which field of which tensor is bad.
uint64_t read_unsigned(const json& value, const std::string& path, const std::string& tensor, const char* field) {
  if (!value.is_number_unsigned()) {
    fail(path, absl::StrCat("tensor '", tensor, "': ", field, " must hold non-negative integers, got ",
                            describe_json(value)));
  }
  return value.get<uint64_t>();
}

struct ParsedEntry {
  std::string name;
  Dtype dtype;
  Shape shape;
  uint64_t begin, end;
};

std::string offsets_str(const ParsedEntry& e) { return absl::StrCat("[", e.begin, ", ", e.end, "]"); }

ParsedEntry parse_entry(const std::string& path, const std::string& name, const json& info) {
  if (!info.is_object()) fail(path, absl::StrCat("tensor '", name, "': expected a JSON object, got ", describe_json(info)));
  for (const char* field : {"dtype", "shape", "data_offsets"}) {
    if (!info.contains(field)) fail(path, absl::StrCat("tensor '", name, "': missing '", field, "'"));
  }
  ParsedEntry e{name, Dtype::f32, {}, 0, 0};
  const json& dtype = info["dtype"];
  if (!dtype.is_string() || !parse_safetensors_dtype(dtype.get<std::string>(), &e.dtype)) {
    fail(path, absl::StrCat("tensor '", name, "': unsupported dtype ", describe_json(dtype),
                            " (supported: F32, F64, BF16, F16, I32, I64)"));
  }
  const json& shape = info["shape"];
  if (!shape.is_array()) fail(path, absl::StrCat("tensor '", name, "': shape must be an array, got ", describe_json(shape)));
  uint64_t numel = 1;
  for (const json& dim : shape) {
    const uint64_t d = read_unsigned(dim, path, name, "shape");
    if (d > static_cast<uint64_t>(INT64_MAX) || __builtin_mul_overflow(numel, d, &numel)) {
      fail(path, absl::StrCat("tensor '", name, "': a shape of ", shape.size(), " dimensions with ",
                              describe_json(dim), " in it is too large to address"));
    }
    e.shape.push_back(static_cast<int64_t>(d));
  }
  const json& offsets = info["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2) {
    fail(path, absl::StrCat("tensor '", name, "': data_offsets must be [begin, end], got ", describe_json(offsets)));
  }
  e.begin = read_unsigned(offsets[0], path, name, "data_offsets");
  e.end = read_unsigned(offsets[1], path, name, "data_offsets");
  if (e.begin > e.end) {
    fail(path, absl::StrCat("tensor '", name, "': data_offsets ", offsets_str(e), " end before they begin"));
  }
  uint64_t needed = 0;
  if (__builtin_mul_overflow(numel, dtype_size(e.dtype), &needed)) {
    fail(path, absl::StrCat("tensor '", name, "': ", safetensors_dtype_name(e.dtype), " ", shape_str(e.shape),
                            " has more bytes than can be addressed"));
  }
  if (e.end - e.begin != needed) {
    fail(path, absl::StrCat("tensor '", name, "': data_offsets ", offsets_str(e), " span ", e.end - e.begin,
                            " bytes, but ", safetensors_dtype_name(e.dtype), " ", shape_str(e.shape), " needs ", needed));
  }
  return e;
}

std::map<std::string, std::string> parse_metadata(const std::string& path, const json& meta) {
  if (!meta.is_object()) fail(path, absl::StrCat("__metadata__ must be an object of strings, got ", describe_json(meta)));
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : meta.items()) {
    if (!value.is_string()) {
      fail(path, absl::StrCat("__metadata__ value of '", key, "' must be a string, got ", describe_json(value)));
    }
    out[key] = value.get<std::string>();
  }
  return out;
}

// The reference library's layout rule: sorted by offsets, the tensors tile the data section
// exactly, from byte 0 to its last byte, without gaps or overlaps. Anything else means the header
// and the data disagree (a header length off by one reads every tensor shifted), so it is refused.
void check_layout(const std::string& path, std::vector<ParsedEntry> entries, uint64_t data_size) {
  uint64_t last_end = 0;
  for (const ParsedEntry& e : entries) last_end = std::max(last_end, e.end);
  if (last_end > data_size) {
    fail(path, absl::StrCat("truncated: header says ", last_end, " bytes of tensor data, file has ", data_size));
  }
  std::stable_sort(entries.begin(), entries.end(), [](const ParsedEntry& a, const ParsedEntry& b) {
    return std::pair(a.begin, a.end) < std::pair(b.begin, b.end);
  });
  uint64_t at = 0;
  const ParsedEntry* previous = nullptr;
  for (const ParsedEntry& e : entries) {
    if (e.begin < at) {
      fail(path, absl::StrCat("tensor '", e.name, "': data_offsets ", offsets_str(e), " overlap tensor '",
                              previous->name, "' ", offsets_str(*previous)));
    }
    if (e.begin > at) {
      fail(path, absl::StrCat("tensor '", e.name, "': data_offsets ", offsets_str(e), " leave bytes [", at, ", ",
                              e.begin, ") of the data section unused", previous ? " after tensor '" : "",
                              previous ? previous->name : "", previous ? "'" : ""));
    }
    at = e.end;
    previous = &e;
  }
  if (at != data_size) {
    fail(path, absl::StrCat("the tensors end at byte ", at, " of the data section, but the file holds ",
                            data_size, " bytes after the header (a wrong header length, or bytes appended)"));
  }
}

}  // namespace

void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  check_writable(tensors, path);
  const std::vector<size_t> order = write_order(tensors);
  const std::string header = build_header(tensors, order, metadata);
  const uint64_t header_length = header.size();

  const std::string staged = path + ".tmp";
  const int fd = ::open(staged.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw UserError(absl::StrCat("cannot write '", staged, "': ", std::strerror(errno)));
  bool ok = write_all(fd, &header_length, kLengthBytes) && write_all(fd, header.data(), header.size());
  for (size_t i = 0; ok && i < order.size(); ++i) {
    const Tensor& t = tensors[order[i]].second;
    const Tensor contiguous = t.is_contiguous() ? t : t.clone_contiguous();
    if (contiguous.nbytes() > 0) ok = write_all(fd, contiguous.raw_data(), contiguous.nbytes());
  }
  ok = ok && ::fsync(fd) == 0;
  const int err = errno;
  ok = (::close(fd) == 0) && ok;
  if (!ok) {
    std::remove(staged.c_str());
    throw UserError(absl::StrCat("cannot write '", staged, "': ", std::strerror(err)));
  }
  if (std::rename(staged.c_str(), path.c_str()) != 0) {
    const int rename_err = errno;
    std::remove(staged.c_str());
    throw UserError(absl::StrCat("cannot rename '", staged, "' to '", path, "': ", std::strerror(rename_err)));
  }
}

// The file is read, not mapped: a file truncated or rewritten while it is mapped turns the next
// read of a vanished page into SIGBUS, where pread reports an error (RegularFile::read_at). The
// header is read and checked against the file's size first, so a bad file costs no data read.
SafetensorsFile load_safetensors(const std::string& path) {
  SafetensorsFile file;
  file.path_ = path;
  // A regular file only: a FIFO would block in open(), a device would never end.
  const RegularFile in = RegularFile::open(path, absl::StrCat("cannot read '", path, "'"));
  const auto file_size = static_cast<uint64_t>(in.size());
  if (file_size < kLengthBytes) {
    fail(path, absl::StrCat("truncated: the file has ", file_size, " bytes, fewer than the 8-byte header length ",
                            "(not a safetensors file?)"));
  }
  uint64_t header_length = 0;
  in.read_at(0, &header_length, kLengthBytes);
  const uint64_t after_length = file_size - kLengthBytes;
  if (header_length > after_length) {
    fail(path, absl::StrCat("truncated: header length field says ", header_length, " bytes, file has ",
                            after_length, " after it"));
  }
  if (header_length > kMaxHeaderBytes) {
    fail(path, absl::StrCat("the header length field says ", header_length, " bytes, more than the ",
                            kMaxHeaderBytes, " a safetensors header may have"));
  }
  std::string header_text(static_cast<size_t>(header_length), '\0');
  in.read_at(kLengthBytes, header_text.data(), header_text.size());
  // Depth-limited and duplicate-refusing (core/json_read.h): a repeated tensor name would leave
  // one of the two tensors unread, and a deeply nested value would overflow the stack later.
  const json header = parse_json_text(header_text, absl::StrCat(path, ": header"));
  if (!header.is_object()) fail(path, absl::StrCat("header must be a JSON object, got ", describe_json(header)));

  const uint64_t data_size = after_length - header_length;
  std::vector<ParsedEntry> entries;
  for (const auto& [name, info] : header.items()) {
    if (name == kMetadataKey) {
      file.metadata_ = parse_metadata(path, info);
      continue;
    }
    entries.push_back(parse_entry(path, name, info));
  }
  check_layout(path, entries, data_size);
  for (const ParsedEntry& e : entries) {
    file.entries_[e.name] = {e.dtype, e.shape, static_cast<size_t>(e.begin), static_cast<size_t>(e.end)};
  }
  // The header agrees with the file: now the tensor data, into one 64-byte-aligned block that the
  // tensors view (a tensor may be modified in place without touching the file).
  check_allocation(static_cast<double>(data_size), absl::StrCat("reading the tensors of '", path, "'"));
  std::shared_ptr<Storage> data = allocate_storage(std::max<size_t>(data_size, 1), Device::cpu());
  in.read_at(static_cast<int64_t>(kLengthBytes + header_length), data->data.get(), static_cast<size_t>(data_size));
  file.contents_ = data->data;
  file.data_ = static_cast<const char*>(file.contents_.get());
  return file;
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  for (const auto& [name, entry] : entries_) out.push_back(name);
  std::stable_sort(out.begin(), out.end(), [&](const std::string& a, const std::string& b) {
    return entries_.at(a).begin < entries_.at(b).begin;
  });
  return out;
}

const Shape& SafetensorsFile::shape(const std::string& name) const {
  const auto it = entries_.find(name);
  if (it == entries_.end()) fail(path_, absl::StrCat("no tensor named '", name, "'"));
  return it->second.shape;
}

Tensor SafetensorsFile::get(const std::string& name) const {
  const auto it = entries_.find(name);
  if (it == entries_.end()) fail(path_, absl::StrCat("no tensor named '", name, "'"));
  const Entry& e = it->second;
  const char* bytes = data_ + e.begin;
  const size_t nbytes = e.end - e.begin;

  auto impl = std::make_shared<TensorImpl>();
  impl->shape = e.shape;
  impl->strides = contiguous_strides(e.shape);
  impl->dtype = e.dtype;
  if (reinterpret_cast<uintptr_t>(bytes) % dtype_size(e.dtype) == 0) {
    impl->storage = wrap_storage(const_cast<char*>(bytes), nbytes, Device::cpu(), contents_);
  } else {
    // Files from other writers may place a tensor at an odd offset; a typed pointer there would
    // be undefined behaviour, so this one tensor gets its own aligned copy.
    impl->storage = allocate_storage(nbytes, Device::cpu());
    if (nbytes > 0) std::memcpy(impl->storage->data.get(), bytes, nbytes);
  }
  return Tensor(impl);
}

}  // namespace ssm
