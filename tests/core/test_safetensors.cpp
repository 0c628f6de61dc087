// tests/core/test_safetensors.cpp — the safetensors reader and writer: exact round trips of every
// dtype, the byte layout the format prescribes (checked against a file written by hand), zero-copy
// mapping, atomic writes, and a clear UserError for each kind of damaged file.
#include <sys/stat.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/safetensors.h"
#include "tests/support/testing.h"

using namespace ssm;
using testing::read_bytes;
using testing::write_bytes;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) { return testing::empty_temp_dir("safetensors_" + name); }

// A file in the format's own terms: 8-byte little-endian length, the header text, the data.
std::string safetensors_bytes(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + data;
}

std::string raw_bytes(const Tensor& t) { return std::string(static_cast<const char*>(t.raw_data()), t.nbytes()); }

// A bf16 tensor with the given bit patterns (no float rounding involved).
Tensor bf16_from_bits(const std::vector<uint16_t>& bits, const Shape& shape) {
  Tensor t = Tensor::empty(shape, Dtype::bf16);
  std::memcpy(t.raw_data(), bits.data(), bits.size() * sizeof(uint16_t));
  return t;
}

}  // namespace

TEST_CASE("every dtype round-trips bit for bit, with metadata") {
  const fs::path dir = fresh_dir("roundtrip");
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<std::pair<std::string, Tensor>> tensors = {
      {"f32", Tensor::from_vector<float>({1.5f, -0.0f, inf, 1e-40f, -3.25f, 7.0f}, {2, 3})},
      {"f64", Tensor::from_vector<double>({3.141592653589793, -1e300}, {2})},
      {"bf16", bf16_from_bits({0x3f80, 0xbf80, 0x7f80, 0x0001, 0x7fc1}, {5})},  // 1, -1, inf, denormal, NaN
      {"i32", Tensor::from_vector<int32_t>({std::numeric_limits<int32_t>::min(), 0, 2147483647}, {3, 1})},
      {"i64", Tensor::from_vector<int64_t>({int64_t{1} << 62, -5}, {1, 2})},
      {"scalar", Tensor::scalar(2.5)},
      {"empty", Tensor::zeros({0, 4})},
  };
  const std::map<std::string, std::string> metadata = {{"format", "pt"}, {"note", "ünïcode & \"quotes\""}};
  const std::string path = (dir / "all.safetensors").string();
  save_safetensors(path, tensors, metadata);

  SafetensorsFile file = load_safetensors(path);
  CHECK(file.metadata() == metadata);
  CHECK(file.names().size() == tensors.size());
  for (const auto& [name, original] : tensors) {
    CAPTURE(name);
    REQUIRE(file.contains(name));
    Tensor loaded = file.get(name);
    CHECK(loaded.dtype() == original.dtype());
    CHECK(loaded.shape() == original.shape());
    CHECK(loaded.device() == Device::cpu());
    CHECK(raw_bytes(loaded) == raw_bytes(original));
  }
  CHECK_FALSE(file.contains("missing"));
  CHECK_THROWS_WITH_AS(file.get("missing"), doctest::Contains("no tensor named 'missing'"), UserError);
}

TEST_CASE("names come back in the writer's order within a dtype size, largest dtypes first") {
  const fs::path dir = fresh_dir("order");
  const std::string path = (dir / "o.safetensors").string();
  save_safetensors(path, {{"z", Tensor::zeros({1})},
                          {"a", Tensor::zeros({3}, Dtype::bf16)},
                          {"m", Tensor::zeros({2})},
                          {"d", Tensor::zeros({1}, Dtype::f64)}});
  CHECK(load_safetensors(path).names() == std::vector<std::string>{"d", "z", "m", "a"});
}

TEST_CASE("the writer follows the format: length prefix, JSON header, aligned data") {
  const fs::path dir = fresh_dir("layout");
  const std::string path = (dir / "w.safetensors").string();
  save_safetensors(path, {{"odd", Tensor::from_vector<float>({1, 2, 3}, {3})},
                          {"wide", Tensor::from_vector<int64_t>({7, 8}, {2})}},
                   {{"k", "v"}});
  const std::string bytes = read_bytes(path);
  REQUIRE(bytes.size() >= 8);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  CHECK((8 + n) % 8 == 0);
  REQUIRE(8 + n <= bytes.size());
  const nlohmann::json header = nlohmann::json::parse(bytes.substr(8, n));
  CHECK(header["__metadata__"]["k"] == "v");
  CHECK(header["wide"]["dtype"] == "I64");
  CHECK(header["wide"]["shape"] == nlohmann::json::array({2}));
  CHECK(header["wide"]["data_offsets"] == nlohmann::json::array({0, 16}));  // the 8-byte dtype goes first
  CHECK(header["odd"]["dtype"] == "F32");
  CHECK(header["odd"]["data_offsets"] == nlohmann::json::array({16, 28}));
  CHECK(bytes.size() == 8 + n + 28);  // no holes, nothing trailing
  float second = 0;
  std::memcpy(&second, bytes.data() + 8 + n + 16 + 4, 4);
  CHECK(second == 2.0f);
}

TEST_CASE("a file written by hand from the format's rules is read correctly") {
  const fs::path dir = fresh_dir("by_hand");
  const std::string path = (dir / "h.safetensors").string();
  // I32 [1, -1] at [0, 8); BF16 [2.0] at [8, 10); the metadata; then the 10 data bytes.
  const std::string header =
      R"({"ints":{"dtype":"I32","shape":[2],"data_offsets":[0,8]},)"
      R"("half":{"dtype":"BF16","shape":[],"data_offsets":[8,10]},"__metadata__":{"who":"hand"}})";
  const std::string data("\x01\x00\x00\x00\xff\xff\xff\xff\x00\x40", 10);
  write_bytes(path, safetensors_bytes(header, data));

  SafetensorsFile file = load_safetensors(path);
  CHECK(file.names() == std::vector<std::string>{"ints", "half"});
  CHECK(file.metadata().at("who") == "hand");
  CHECK(file.get("ints").to_vector<int32_t>() == std::vector<int32_t>{1, -1});
  CHECK(file.get("half").shape().empty());
  CHECK(file.get("half").item() == 2.0);
}

TEST_CASE("misaligned data is copied, aligned data is viewed in place, and outlives the file object") {
  const fs::path dir = fresh_dir("align");
  const std::string path = (dir / "a.safetensors").string();
  // Padding the header so the data section starts at an odd byte leaves the F32 misaligned.
  const std::string header = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  std::string padded = header;
  while ((8 + padded.size()) % 4 != 1) padded += ' ';  // JSON allows trailing whitespace
  float value = 6.5f;
  std::string data(reinterpret_cast<const char*>(&value), 4);
  write_bytes(path, safetensors_bytes(padded, data));
  Tensor misaligned;
  {
    SafetensorsFile file = load_safetensors(path);
    misaligned = file.get("a");
    CHECK(reinterpret_cast<uintptr_t>(misaligned.raw_data()) % 4 == 0);
  }
  CHECK(misaligned.item() == 6.5);

  const std::string path2 = (dir / "b.safetensors").string();
  save_safetensors(path2, {{"w", Tensor::from_vector<float>({1, 2, 3, 4}, {2, 2})}});
  Tensor first, second;
  {
    SafetensorsFile file = load_safetensors(path2);
    first = file.get("w");
    second = file.get("w");
    CHECK(first.raw_data() == second.raw_data());  // both view the mapping, no copies
  }
  // The file object is gone; the mapping lives on through the tensors.
  CHECK(first.to_vector<float>() == std::vector<float>{1, 2, 3, 4});
  first.data<float>()[0] = 42;  // private mapping: the process sees it, the file does not
  CHECK(second.to_vector<float>()[0] == 42);
  CHECK(load_safetensors(path2).get("w").to_vector<float>()[0] == 1);
}

TEST_CASE("non-contiguous tensors are written in logical order") {
  const fs::path dir = fresh_dir("strided");
  const std::string path = (dir / "t.safetensors").string();
  Tensor m = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor transposed = m.as_strided({3, 2}, {1, 3}, 0);
  save_safetensors(path, {{"t", transposed}});
  Tensor loaded = load_safetensors(path).get("t");
  CHECK(loaded.shape() == Shape{3, 2});
  CHECK(loaded.to_vector<float>() == std::vector<float>{1, 4, 2, 5, 3, 6});
}

TEST_CASE("writes are atomic: a .tmp file is renamed over the target") {
  const fs::path dir = fresh_dir("atomic");
  const std::string path = (dir / "m.safetensors").string();
  save_safetensors(path, {{"x", Tensor::full({2}, 1.0)}});
  save_safetensors(path, {{"x", Tensor::full({3}, 2.0)}});
  CHECK_FALSE(fs::exists(path + ".tmp"));
  CHECK(load_safetensors(path).get("x").to_vector<float>() == std::vector<float>{2, 2, 2});
  // A stale .tmp from a crashed write does not disturb the real file and is replaced next time.
  write_bytes(path + ".tmp", "garbage");
  CHECK(load_safetensors(path).get("x").numel() == 3);
  save_safetensors(path, {{"x", Tensor::full({1}, 3.0)}});
  CHECK_FALSE(fs::exists(path + ".tmp"));
  CHECK(load_safetensors(path).get("x").item() == 3.0);

  CHECK_THROWS_WITH_AS(save_safetensors((dir / "no_such_dir" / "m.safetensors").string(), {}),
                       doctest::Contains("cannot write"), UserError);
  CHECK_THROWS_AS(save_safetensors(path, {{"x", Tensor::zeros({1})}, {"x", Tensor::zeros({1})}}), Error);
}

TEST_CASE("missing files and damaged files are UserErrors naming the path and the defect") {
  const fs::path dir = fresh_dir("damaged");
  const std::string good = (dir / "good.safetensors").string();
  save_safetensors(good, {{"a", Tensor::from_vector<float>({1, 2, 3, 4}, {4})},
                          {"b", Tensor::from_vector<int64_t>({5, 6}, {2})}});
  const std::string bytes = read_bytes(good);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  const std::string path = (dir / "bad.safetensors").string();
  auto expect_error = [&](const std::string& contents, const std::string& expected) {
    write_bytes(path, contents);
    CHECK_THROWS_WITH_AS(load_safetensors(path), doctest::Contains((path + ": " + expected).c_str()), UserError);
  };

  SUBCASE("missing file") {
    const std::string missing = (dir / "nope.safetensors").string();
    CHECK_THROWS_WITH_AS(load_safetensors(missing),
                         ("cannot read '" + missing + "': No such file or directory").c_str(), UserError);
  }
  SUBCASE("truncated at every region") {
    for (size_t cut : {size_t{0}, size_t{5}, size_t{8}, size_t{8 + n / 2}, size_t{8 + n}, size_t{8 + n + 10},
                       bytes.size() - 1}) {
      CAPTURE(cut);
      expect_error(bytes.substr(0, cut), "truncated");
    }
  }
  SUBCASE("the truncation message says how much data is missing") {
    expect_error(bytes.substr(0, 8 + n + 20), "truncated: header says 32 bytes of tensor data, file has 20");
  }
  SUBCASE("garbage header") {
    std::string garbage = bytes;
    for (size_t i = 8; i < 8 + n; ++i) garbage[i] = '!';
    expect_error(garbage, "header is not valid JSON");
    expect_error(safetensors_bytes("[1, 2]", ""), "header must be a JSON object");
    // A number past double's range is nlohmann's out_of_range, not a parse_error (tests/fuzz/).
    expect_error(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1e999],"data_offsets":[0,4]}})", "abcd"),
                 "header is not valid JSON");
    expect_error(std::string(8, '\xff') + "{}", "truncated: header length field says");
  }
  SUBCASE("bad dtype, shape and offsets") {
    auto with = [](const std::string& entry) { return safetensors_bytes(R"({"t":)" + entry + "}", std::string(16, '\0')); };
    expect_error(with(R"({"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]})"), "tensor 't': unsupported dtype \"F8_E4M3\"");
    expect_error(with(R"({"dtype":"F32","shape":[-2],"data_offsets":[0,8]})"), "tensor 't': shape must hold non-negative");
    expect_error(with(R"({"dtype":"F32","shape":[2],"data_offsets":[0,12]})"), "tensor 't': data_offsets [0, 12] span 12 bytes, but F32 (2) needs 8");
    expect_error(with(R"({"dtype":"F32","shape":[2],"data_offsets":[8,0]})"), "tensor 't': data_offsets [8, 0] end before they begin");
    expect_error(with(R"({"dtype":"F32","shape":[4],"data_offsets":[8,24]})"), "truncated: header says 24 bytes");
    expect_error(with(R"({"dtype":"F32","shape":[4]})"), "tensor 't': missing 'data_offsets'");
    expect_error(with(R"({"dtype":"F32","shape":[1],"data_offsets":[0]})"), "tensor 't': data_offsets must be [begin, end]");
    expect_error(safetensors_bytes(R"({"__metadata__":{"k":1}})", ""), "__metadata__ value of 'k' must be a string");
  }
  SUBCASE("overlapping tensors are refused, as the reference library refuses them") {
    expect_error(safetensors_bytes(R"({"x":{"dtype":"I32","shape":[2],"data_offsets":[0,8]},)"
                                   R"("y":{"dtype":"I32","shape":[1],"data_offsets":[4,8]}})",
                                   std::string("\x01\0\0\0\x02\0\0\0", 8)),
                 "tensor 'y': data_offsets [4, 8] overlap tensor 'x' [0, 8]");
  }
}

// The reference library's rules for data_offsets (safetensors' Metadata::validate): sorted by
// offset, the tensors tile the data section from byte 0 to its end. Each file below breaks one rule.
TEST_CASE("data_offsets must tile the data section exactly: no gap, no overlap, nothing after") {
  const fs::path dir = fresh_dir("layout_rules");
  const std::string path = (dir / "bad.safetensors").string();
  auto expect_error = [&](const std::string& contents, const std::string& expected) {
    write_bytes(path, contents);
    CHECK_THROWS_WITH_AS(load_safetensors(path), doctest::Contains((path + ": " + expected).c_str()), UserError);
  };
  const std::string i32 = R"({"dtype":"I32","shape":[1],"data_offsets":)";
  SUBCASE("a gap between two tensors") {
    expect_error(safetensors_bytes(R"({"a":)" + i32 + R"([0,4]},"b":)" + i32 + "[8,12]}}", std::string(12, '\0')),
                 "tensor 'b': data_offsets [8, 12] leave bytes [4, 8) of the data section unused after tensor 'a'");
  }
  SUBCASE("the first tensor does not start at 0") {
    expect_error(safetensors_bytes(R"({"a":)" + i32 + "[4,8]}}", std::string(8, '\0')),
                 "tensor 'a': data_offsets [4, 8] leave bytes [0, 4) of the data section unused");
  }
  SUBCASE("two tensors at the same bytes") {
    expect_error(safetensors_bytes(R"({"a":)" + i32 + R"([0,4]},"b":)" + i32 + "[0,4]}}", std::string(4, '\0')),
                 "tensor 'b': data_offsets [0, 4] overlap tensor 'a' [0, 4]");
  }
  SUBCASE("bytes after the last tensor") {
    expect_error(safetensors_bytes(R"({"a":)" + i32 + "[0,4]}}", std::string(5, '\0')),
                 "the tensors end at byte 4 of the data section, but the file holds 5 bytes after the header");
  }
  SUBCASE("the same name twice: one of the two would be silently dropped") {
    expect_error(safetensors_bytes(R"({"a":)" + i32 + R"([0,4]},"a":)" + i32 + "[4,8]}}", std::string(8, '\0')),
                 "header holds the key \"a\" twice in one object");
  }
  SUBCASE("a shape whose byte count overflows 64 bits") {
    expect_error(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}})", ""),
                 "tensor 'a': F32 (4611686018427387904) has more bytes than can be addressed");
    expect_error(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", ""),
                 "tensor 'a': a shape of 2 dimensions with 4294967296 in it is too large to address");
  }
  SUBCASE("zero-sized tensors may share an offset") {
    write_bytes(path, safetensors_bytes(R"({"e":{"dtype":"F32","shape":[0,3],"data_offsets":[4,4]},"a":)" + i32 +
                                            R"([0,4]},"f":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}})",
                                        std::string("\x07\0\0\0", 4)));
    CHECK(load_safetensors(path).get("a").to_vector<int32_t>() == std::vector<int32_t>{7});
    CHECK(load_safetensors(path).shape("e") == Shape{0, 3});
  }
}

// The writer pads its header with spaces; a length field one byte short still parses, and used to
// read every tensor one byte early (the loss came out NaN, exit 0). The exact-size rule refuses it.
TEST_CASE("a header length one byte short is refused, not read shifted") {
  const fs::path dir = fresh_dir("short_length");
  const std::string path = (dir / "m.safetensors").string();
  // Metadata of a chosen length makes the header end in padding whatever the JSON's length.
  std::string note;
  for (;;) {
    save_safetensors(path, {{"w", Tensor::from_vector<float>({1, 2, 3, 4}, {2, 2})}}, {{"note", note}});
    const std::string bytes = read_bytes(path);
    if (bytes[8 + static_cast<unsigned char>(bytes[0]) - 1] == ' ') break;
    note += "x";
  }
  std::string bytes = read_bytes(path);
  REQUIRE(load_safetensors(path).get("w").to_vector<float>() == std::vector<float>{1, 2, 3, 4});
  bytes[0] = static_cast<char>(bytes[0] - 1);  // the length is below 256: one byte holds it
  write_bytes(path, bytes);
  CHECK_THROWS_WITH_AS(load_safetensors(path),
                       doctest::Contains((path + ": the tensors end at byte 16 of the data section, but the file "
                                                 "holds 17 bytes after the header").c_str()),
                       UserError);
}

TEST_CASE("a header nested a million levels deep is an error, not a stack overflow") {
  const fs::path dir = fresh_dir("deep");
  const std::string path = (dir / "deep.safetensors").string();
  const size_t depth = 1'000'000;
  for (const std::string& header : {R"({"t":)" + std::string(depth, '[') + std::string(depth, ']') + "}",
                                    std::string(depth, '[') + std::string(depth, ']'),
                                    R"({"t":{"dtype":"F32","shape":)" + std::string(depth, '[') +
                                        std::string(depth, ']') + R"(,"data_offsets":[0,0]}})"}) {
    write_bytes(path, safetensors_bytes(header, ""));
    CHECK_THROWS_WITH_AS(load_safetensors(path),
                         doctest::Contains((path + ": header nests deeper than 64 levels").c_str()), UserError);
  }
  // Error messages name a bad value by its type, never by dumping it.
  write_bytes(path, safetensors_bytes(R"({"t":{"dtype":"F32","shape":[[[1]]],"data_offsets":[0,4]}})", ""));
  CHECK_THROWS_WITH_AS(load_safetensors(path),
                       doctest::Contains("tensor 't': shape must hold non-negative integers, got an array of 1"),
                       UserError);
}

TEST_CASE("tensors at offsets misaligned for their dtype are copied and read correctly") {
  const fs::path dir = fresh_dir("misaligned_offset");
  const std::string path = (dir / "m.safetensors").string();
  // BF16 at [0, 2) puts the F32 at byte 2 of an 8-aligned data section: misaligned for 4 bytes.
  const float value = -7.25f;
  std::string data("\x80\x3f", 2);  // bf16 1.0
  data.append(reinterpret_cast<const char*>(&value), 4);
  write_bytes(path, safetensors_bytes(R"({"h":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]},)"
                                      R"("f":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}})",
                                      data));
  const SafetensorsFile file = load_safetensors(path);
  CHECK(file.get("f").item() == -7.25);
  CHECK(file.get("h").item() == 1.0);
}

TEST_CASE("a FIFO or a huge header length is refused without waiting or reading") {
  const fs::path dir = fresh_dir("special");
  const std::string fifo = (dir / "model.safetensors").string();
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THROWS_WITH_AS(load_safetensors(fifo),
                       doctest::Contains(("'" + fifo + "': it is a FIFO (named pipe), not a regular file").c_str()),
                       UserError);
  // A header length above the reference library's 100 MB limit, in a sparse file that big.
  const std::string big = (dir / "big.safetensors").string();
  write_bytes(big, safetensors_bytes(std::string(1, '{'), "").replace(0, 8, std::string("\x01\xe1\xf5\x05\0\0\0\0", 8)));
  fs::resize_file(big, 8 + 100'000'001);
  CHECK_THROWS_WITH_AS(load_safetensors(big),
                       doctest::Contains("the header length field says 100000001 bytes, more than the 100000000"),
                       UserError);
}

TEST_CASE("F16 tensors (fp16 checkpoints) round-trip and upcast exactly") {
  const fs::path dir = fresh_dir("f16");
  const std::string path = (dir / "half.safetensors").string();
  const Tensor values = Tensor::from_vector<float>({1.0f, -2.5f, 65504.0f, 0.0009765625f}, {2, 2});
  save_safetensors(path, {{"h", values.to(Dtype::f16)}});
  SafetensorsFile file = load_safetensors(path);
  CHECK(file.get("h").dtype() == Dtype::f16);
  CHECK(file.get("h").to(Dtype::f32).to_vector<float>() == values.to_vector<float>());
}
