// core/torch_save.cpp — the pickle and the zip archive of torch.save (core/torch_save.h).
#include "core/torch_save.h"

#include <array>
#include <cstring>
#include <fstream>
#include <limits>

#include "core/error.h"  // defines: UserError, SSM_CHECK

namespace ssm {

uint32_t crc32(const void* data, size_t n, uint32_t crc) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  const auto* p = static_cast<const unsigned char*>(data);
  crc = ~crc;
  for (size_t i = 0; i < n; ++i) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

namespace {

// torch's storage class for each dtype.
const char* storage_type(Dtype dtype) {
  switch (dtype) {
    case Dtype::f32: return "FloatStorage";
    case Dtype::f64: return "DoubleStorage";
    case Dtype::bf16: return "BFloat16Storage";
    case Dtype::f16: return "HalfStorage";
    case Dtype::i32: return "IntStorage";
    case Dtype::i64: return "LongStorage";
  }
  return "";
}

// A protocol-2 pickle, built opcode by opcode (the names are pickle's own).
class Pickle {
 public:
  Pickle() { bytes_ += "\x80\x02"; }  // PROTO 2
  void mark() { bytes_ += '('; }
  void tuple() { bytes_ += 't'; }  // the items since the last mark
  void empty_tuple() { bytes_ += ')'; }
  void empty_dict() { bytes_ += '}'; }
  void set_items() { bytes_ += 'u'; }  // the key/value pairs since the last mark into the dict
  void reduce() { bytes_ += 'R'; }     // callable(*args)
  void persistent_id() { bytes_ += 'Q'; }
  void new_false() { bytes_ += '\x89'; }
  void stop() { bytes_ += '.'; }
  void global(const std::string& module, const std::string& name) { bytes_ += "c" + module + "\n" + name + "\n"; }
  void text(const std::string& s) {  // BINUNICODE: length, then UTF-8
    bytes_ += 'X';
    put_le(static_cast<uint64_t>(s.size()), 4);
    bytes_ += s;
  }
  void integer(int64_t v) {
    if (v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max()) {
      bytes_ += 'J';  // BININT: 4 bytes, signed
      put_le(static_cast<uint64_t>(static_cast<uint32_t>(static_cast<int32_t>(v))), 4);
    } else {
      bytes_ += "\x8a\x08";  // LONG1 with 8 bytes, two's complement
      put_le(static_cast<uint64_t>(v), 8);
    }
  }
  void int_tuple(const std::vector<int64_t>& values) {
    if (values.empty()) return empty_tuple();
    mark();
    for (int64_t v : values) integer(v);
    tuple();
  }
  const std::string& bytes() const { return bytes_; }

 private:
  void put_le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) bytes_ += static_cast<char>((v >> (8 * i)) & 0xFF);
  }
  std::string bytes_;
};

// An uncompressed ("stored") zip archive written front to back; the central directory at the end.
class ZipWriter {
 public:
  explicit ZipWriter(const std::string& path) : path_(path), out_(path, std::ios::binary | std::ios::trunc) {
    SSM_USER_CHECK(out_.is_open(), "cannot write '", path, "'");
  }

  // One entry whose data starts on a multiple of `align` bytes (padding in the local header's
  // extra field, as PyTorch does, so that torch.load can map storages in place).
  void add(const std::string& name, const void* data, size_t n, size_t align = 64) {
    const uint64_t offset = position_;
    const uint64_t header_end = offset + 30 + name.size() + 4;  // +4: the padding field's own header
    const uint64_t pad = (align - header_end % align) % align;
    const uint32_t crc = crc32(data, n);
    check_fits(offset + 30 + name.size() + 4 + pad + n);
    put32(0x04034b50);  // local file header
    put16(20), put16(0), put16(0), put16(0), put16(kDosDate1980);
    put32(crc), put32(static_cast<uint32_t>(n)), put32(static_cast<uint32_t>(n));
    put16(static_cast<uint16_t>(name.size())), put16(static_cast<uint16_t>(4 + pad));
    write(name.data(), name.size());
    put16(0x4246), put16(static_cast<uint16_t>(pad));  // extra field "FB": padding
    const std::string zeros(pad, '\0');
    write(zeros.data(), zeros.size());
    write(data, n);
    entries_.push_back({name, crc, static_cast<uint32_t>(n), static_cast<uint32_t>(offset)});
  }

  void finish() {
    SSM_USER_CHECK(entries_.size() < 0xFFFF, path_, ": ", entries_.size(),
                   " entries need zip64, which this writer does not write");
    const uint64_t directory = position_;
    for (const Entry& e : entries_) {
      put32(0x02014b50);  // central directory header
      put16(20), put16(20), put16(0), put16(0), put16(0), put16(kDosDate1980);
      put32(e.crc), put32(e.size), put32(e.size);
      put16(static_cast<uint16_t>(e.name.size())), put16(0), put16(0), put16(0), put16(0), put32(0);
      put32(e.offset);
      write(e.name.data(), e.name.size());
    }
    const uint64_t directory_size = position_ - directory;
    check_fits(position_ + 22);
    put32(0x06054b50);  // end of central directory
    put16(0), put16(0), put16(static_cast<uint16_t>(entries_.size())), put16(static_cast<uint16_t>(entries_.size()));
    put32(static_cast<uint32_t>(directory_size)), put32(static_cast<uint32_t>(directory)), put16(0);
    out_.flush();
    SSM_USER_CHECK(out_.good(), "writing '", path_, "' failed (disk full?)");
  }

 private:
  static constexpr uint16_t kDosDate1980 = (1 << 5) | 1;  // 1980-01-01: entries carry no real time
  struct Entry {
    std::string name;
    uint32_t crc, size, offset;
  };
  void check_fits(uint64_t end) const {
    SSM_USER_CHECK(end <= 0xFFFFFFFFull, path_, ": the weights exceed 4 GiB, which needs zip64; this writer does not ",
                   "write it (export in bf16, or to safetensors)");
  }
  void write(const void* p, size_t n) {
    out_.write(static_cast<const char*>(p), static_cast<std::streamsize>(n));
    position_ += n;
  }
  void put16(uint16_t v) {
    const unsigned char b[2] = {static_cast<unsigned char>(v), static_cast<unsigned char>(v >> 8)};
    write(b, 2);
  }
  void put32(uint32_t v) {
    const unsigned char b[4] = {static_cast<unsigned char>(v), static_cast<unsigned char>(v >> 8),
                                static_cast<unsigned char>(v >> 16), static_cast<unsigned char>(v >> 24)};
    write(b, 4);
  }

  std::string path_;
  std::ofstream out_;
  uint64_t position_ = 0;
  std::vector<Entry> entries_;
};

}  // namespace

void save_torch_state_dict(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors) {
  // The pickle: {name: _rebuild_tensor_v2(storage <key>, 0, size, stride, False, OrderedDict())}.
  Pickle p;
  p.empty_dict();
  p.mark();
  for (size_t key = 0; key < tensors.size(); ++key) {
    const Tensor& t = tensors[key].second;
    SSM_CHECK(t.device().is_cpu(), "save_torch_state_dict: '", tensors[key].first, "' is not on the CPU");
    p.text(tensors[key].first);
    p.global("torch._utils", "_rebuild_tensor_v2");
    p.mark();
    p.mark();  // the persistent id of the storage
    p.text("storage");
    p.global("torch", storage_type(t.dtype()));
    p.text(std::to_string(key));
    p.text("cpu");
    p.integer(t.numel());
    p.tuple();
    p.persistent_id();
    p.integer(0);  // storage offset
    std::vector<int64_t> size(t.shape().begin(), t.shape().end()), stride(size.size(), 1);
    for (int64_t d = static_cast<int64_t>(size.size()) - 2; d >= 0; --d) stride[d] = stride[d + 1] * size[d + 1];
    p.int_tuple(size);
    p.int_tuple(stride);  // contiguous, as written below
    p.new_false();        // requires_grad
    p.global("collections", "OrderedDict");
    p.empty_tuple();
    p.reduce();  // backward hooks: an empty OrderedDict
    p.tuple();
    p.reduce();
  }
  p.set_items();
  p.stop();

  ZipWriter zip(path);
  zip.add("archive/data.pkl", p.bytes().data(), p.bytes().size());
  zip.add("archive/byteorder", "little", 6);
  for (size_t key = 0; key < tensors.size(); ++key) {
    const Tensor& t = tensors[key].second;
    const Tensor c = t.is_contiguous() ? t : t.clone_contiguous();
    zip.add("archive/data/" + std::to_string(key), c.raw_data(), c.nbytes());
  }
  zip.add("archive/version", "3\n", 2);
  zip.finish();
}

}  // namespace ssm
