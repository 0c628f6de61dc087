// tests/core/test_checked_size.cpp — sizes from input never wrap and never reach the allocator
// when they cannot fit (core/checked_size.h, Tensor factories), and files are opened as regular
// files only, never blocking, never read past what they hold (core/regular_file.h).
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>

#include "core/checked_size.h"
#include "core/error.h"
#include "core/regular_file.h"
#include "core/tensor.h"

using namespace ssm;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("ssmlab_test_checked_size_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

}  // namespace

TEST_CASE("checked_mul and checked_add refuse what int64 cannot hold, naming the key") {
  CHECK(checked_mul(3037000499, 3037000499, "k") == 9223372030926249001);
  CHECK(checked_add(INT64_MAX - 1, 1, "k") == INT64_MAX);
  CHECK_THROWS_WITH_AS(checked_mul(3037000500, 3037000500, "data.seq_len · data.segments"),
                       "data.seq_len · data.segments: 3037000500 x 3037000500 does not fit in a 64-bit size",
                       UserError);
  CHECK_THROWS_WITH_AS(checked_add(INT64_MAX, 1, "n"), doctest::Contains("does not fit"), UserError);
  CHECK_THROWS_AS(checked_mul(-1, 2, "n"), UserError);  // sizes are never negative
}

TEST_CASE("check_allocation compares bytes with this machine's memory and names the key and the bytes") {
  const int64_t limit = memory_limit_bytes();
  CHECK(limit > (int64_t{64} << 20));  // any machine that runs the tests has more than 64 MiB
  CHECK_NOTHROW(check_allocation(1e6, "small"));
  CHECK_NOTHROW(check_allocation(static_cast<double>(limit), "exactly all"));
  CHECK_THROWS_WITH_AS(check_allocation(4e18, "--length: 1000000000000000000 tokens"),
                       doctest::Contains("--length: 1000000000000000000 tokens: would need 4e+18 bytes"), UserError);
  CHECK_THROWS_WITH_AS(check_allocation(2.0 * static_cast<double>(limit), "x"),
                       doctest::Contains("more than this machine has"), UserError);
  CHECK(describe_bytes(1088000000000.0) == "1088000000000 bytes (1013.3 GiB)");
}

TEST_CASE("tensors: an element count or byte count that would wrap is an error, not a heap overflow") {
  // model.d_model: 4611686018427387904 once reached Tensor::full as (2^62) f32: 2^64 bytes
  // wrapped to 0, and filling it overflowed the heap.
  const int64_t d = int64_t{1} << 62;
  CHECK_THROWS_WITH_AS(Tensor::full({d}, 1.0), doctest::Contains("would need"), UserError);
  CHECK_THROWS_WITH_AS(Tensor::zeros({256, d}), doctest::Contains("more elements than a 64-bit size holds"),
                       UserError);
  CHECK_THROWS_AS(Tensor::empty({d, 4}, Dtype::i64), UserError);
  // Too large for this machine, though it fits in 64 bits: refused before the allocator.
  CHECK_THROWS_WITH_AS(Tensor::empty({int64_t{1} << 40, int64_t{1} << 20}),
                       doctest::Contains("a f32 tensor of shape (1099511627776, 1048576): would need"), UserError);
  CHECK_THROWS_AS(shape_numel({d, 2, 2}), UserError);
  CHECK_THROWS_AS(contiguous_strides({0, d, 4}), UserError);  // strides wrap even when numel is 0
  CHECK(Tensor::full({2, 3}, 1.5).to_vector<float>() == std::vector<float>(6, 1.5f));
}

TEST_CASE("RegularFile refuses FIFOs, devices and directories at once, and symlink loops") {
  const fs::path dir = fresh_dir("kinds");
  const std::string fifo = (dir / "fifo").string();
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // A blocking open() would wait for a writer forever: the alarm turns that into a failure.
  ::alarm(20);
  CHECK_THROWS_WITH_AS(RegularFile::open(fifo, "cannot read config 'fifo'"),
                       "cannot read config 'fifo': it is a FIFO (named pipe), not a regular file", UserError);
  CHECK_THROWS_WITH_AS(read_regular_file("/dev/zero", "cannot read config '/dev/zero'", kMaxConfigFileBytes),
                       "cannot read config '/dev/zero': it is a character device, not a regular file", UserError);
  ::alarm(0);
  CHECK_THROWS_WITH_AS(RegularFile::open(dir.string(), "w"), "w: it is a directory, not a regular file", UserError);
  fs::create_symlink(dir / "loop_a", dir / "loop_b");
  fs::create_symlink(dir / "loop_b", dir / "loop_a");
  CHECK_THROWS_WITH_AS(RegularFile::open((dir / "loop_a").string(), "w"), "w: Too many levels of symbolic links",
                       UserError);
  CHECK_THROWS_WITH_AS(RegularFile::open((dir / "none").string(), "w"), "w: No such file or directory", UserError);
}

TEST_CASE("read_all: refused before reading when over the limit; a file that shrank is an error") {
  const fs::path dir = fresh_dir("read");
  const fs::path path = dir / "a.txt";
  std::ofstream(path, std::ios::binary) << std::string(1000, 'x');
  CHECK(read_regular_file(path.string(), "w") == std::string(1000, 'x'));
  CHECK_THROWS_WITH_AS(read_regular_file(path.string(), "w", 999, "a config"),
                       "w: the file has 1000 bytes, more than the 999 bytes (0 MiB) allowed for a config", UserError);
  const RegularFile file = RegularFile::open(path.string(), "w");
  fs::resize_file(path, 10);  // truncated after opening, as a token file under a running train
  char buffer[100];
  file.read_at(0, buffer, 10);  // what is still there reads fine
  CHECK_THROWS_WITH_AS(file.read_at(900, buffer, 100), doctest::Contains("w: the file changed while it was read"),
                       UserError);
  CHECK_THROWS_AS(file.read_all(), UserError);
}
