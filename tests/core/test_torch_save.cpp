// tests/core/test_torch_save.cpp — core/torch_save.h: the archive torch.save writes, read back
// here by a reader of its own: every entry's CRC and size, storages on 64-byte boundaries holding
// the tensors' bytes (strided views written contiguous), and the pickle naming each tensor with
// its storage type, size and stride. (scripts/check_exports.py loads such files with torch.load.)
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "core/error.h"
#include "core/torch_save.h"
#include "ops/ops.h"  // defines: transpose
#include "tests/support/testing.h"

using namespace ssm;

namespace {

struct ZipEntry {
  uint32_t crc, size;
  size_t data_offset;
};

uint32_t le(const std::string& b, size_t at, int n) {
  uint32_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  return v;
}

// The central directory, then each local header: name -> where its data lies.
std::map<std::string, ZipEntry> read_zip(const std::string& bytes) {
  const size_t eocd = bytes.size() - 22;
  REQUIRE(le(bytes, eocd, 4) == 0x06054b50);
  const uint32_t count = le(bytes, eocd + 10, 2), dir = le(bytes, eocd + 16, 4);
  std::map<std::string, ZipEntry> out;
  size_t at = dir;
  for (uint32_t i = 0; i < count; ++i) {
    REQUIRE(le(bytes, at, 4) == 0x02014b50);
    CHECK(le(bytes, at + 10, 2) == 0);  // stored, not compressed
    const uint32_t crc = le(bytes, at + 16, 4), size = le(bytes, at + 24, 4);
    const uint32_t name_len = le(bytes, at + 28, 2), local = le(bytes, at + 42, 4);
    const std::string name = bytes.substr(at + 46, name_len);
    REQUIRE(le(bytes, local, 4) == 0x04034b50);
    CHECK(bytes.substr(local + 30, le(bytes, local + 26, 2)) == name);
    const size_t data = local + 30 + le(bytes, local + 26, 2) + le(bytes, local + 28, 2);
    out[name] = {crc, size, data};
    at += 46 + name_len;
  }
  return out;
}

}  // namespace

TEST_CASE("crc32 is the zip polynomial's") {
  CHECK(crc32("123456789", 9) == 0xCBF43926u);
  CHECK(crc32("", 0) == 0u);
  CHECK(crc32("6789", 4, crc32("12345", 5)) == 0xCBF43926u);  // continued over pieces
}

TEST_CASE("save_torch_state_dict writes torch.save's archive") {
  const std::string path = (std::filesystem::temp_directory_path() / "ssmlab_torch_save.bin").string();
  const Tensor matrix = Tensor::randn({3, 5}, 3);
  const Tensor view = ops::transpose(matrix, 0, 1);  // (5, 3), not contiguous
  const Tensor ids = Tensor::from_vector(std::vector<int64_t>{7, -1, int64_t{1} << 40}, {3});
  const Tensor wide = Tensor::randn({2, 2, 2}, 4, Dtype::f64);
  save_torch_state_dict(path, {{"layers.0.weight", view}, {"ids", ids}, {"d", wide}});

  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::map<std::string, ZipEntry> zip = read_zip(bytes);
  REQUIRE(zip.size() == 6);
  for (const auto& [name, e] : zip) {
    INFO(name);
    CHECK(crc32(bytes.data() + e.data_offset, e.size) == e.crc);
    CHECK(e.data_offset % 64 == 0);
  }
  CHECK(bytes.substr(zip.at("archive/version").data_offset, 2) == "3\n");
  CHECK(bytes.substr(zip.at("archive/byteorder").data_offset, 6) == "little");
  const Tensor contiguous = view.clone_contiguous();
  const ZipEntry& s0 = zip.at("archive/data/0");
  REQUIRE(s0.size == 15 * 4);
  CHECK(std::memcmp(bytes.data() + s0.data_offset, contiguous.raw_data(), s0.size) == 0);
  const ZipEntry& s1 = zip.at("archive/data/1");
  REQUIRE(s1.size == 3 * 8);
  CHECK(std::memcmp(bytes.data() + s1.data_offset, ids.raw_data(), s1.size) == 0);
  CHECK(zip.at("archive/data/2").size == 8 * 8);

  const ZipEntry& pkl = zip.at("archive/data.pkl");
  const std::string pickle = bytes.substr(pkl.data_offset, pkl.size);
  CHECK(pickle.rfind("\x80\x02}(", 0) == 0);  // PROTO 2, EMPTY_DICT, MARK
  CHECK(pickle.back() == '.');
  CHECK(pickle[pickle.size() - 2] == 'u');    // SETITEMS
  auto text = [](const std::string& s) {      // BINUNICODE
    return std::string("X") + static_cast<char>(s.size()) + std::string(3, '\0') + s;
  };
  auto int4 = [](int32_t v) { return std::string("J") + std::string(reinterpret_cast<const char*>(&v), 4); };
  CHECK(pickle.find(text("layers.0.weight") + "ctorch._utils\n_rebuild_tensor_v2\n") != std::string::npos);
  // storage 0: FloatStorage, key "0", 15 elements; size (5, 3), stride (3, 1)
  CHECK(pickle.find("((" + text("storage") + "ctorch\nFloatStorage\n" + text("0") + text("cpu") + int4(15) + "tQ" +
                    int4(0) + "(" + int4(5) + int4(3) + "t(" + int4(3) + int4(1) + "t\x89") != std::string::npos);
  CHECK(pickle.find("ctorch\nLongStorage\n" + text("1")) != std::string::npos);
  CHECK(pickle.find("ctorch\nDoubleStorage\n" + text("2")) != std::string::npos);
  std::filesystem::remove(path);
}

TEST_CASE("an unwritable path is a user error") {
  CHECK_THROWS_AS(save_torch_state_dict("/nonexistent-dir/x.bin", {}), UserError);
}
