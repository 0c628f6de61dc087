// tests/support/testing.h — helpers shared by the test files: random inputs, error norms, gradcheck
// assertions, scratch directories and files, and tiny text corpora.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "autograd/gradcheck.h"
#include "core/error.h"
#include "core/tensor.h"

namespace ssm::testing {

// A random f64 leaf that requires grad, values N(0, scale²) (+ shift).
inline Tensor leaf64(const Shape& shape, uint64_t seed, double scale = 1.0, double shift = 0.0) {
  Tensor t = Tensor::randn(shape, seed, Dtype::f64, Device::cpu(), scale);
  if (shift != 0.0) {
    double* p = t.data<double>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] += shift;
  }
  t.set_requires_grad(true);
  return t;
}

// Relative RMS error ||a - b|| / max(||b||, tiny): the project's one measure of "close".
inline double rel_error(const Tensor& a, const Tensor& b) {
  std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>();
  REQUIRE(va.size() == vb.size());
  double num = 0, den = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    num += (va[i] - vb[i]) * (va[i] - vb[i]);
    den += vb[i] * vb[i];
  }
  return std::sqrt(num) / std::max(std::sqrt(den), 1e-30);
}

// Checks rel_error(a, b) <= tol and prints the comparison either way (name, error, tolerance).
#define CHECK_CLOSE(name, a, b, tol)                                                            \
  do {                                                                                          \
    const double err_ = ::ssm::testing::rel_error((a), (b));                                    \
    const std::string name_ = (name); /* a const char* would print as an address */              \
    MESSAGE(name_ << ": rel err " << err_ << " (tol " << (tol) << ")");                        \
    CHECK(err_ <= (tol));                                                                       \
  } while (0)

// CHECK_GRADCHECK(fn, inputs[, options]): variadic so lambdas with commas pass through.
#define CHECK_GRADCHECK(...)                                                                    \
  do {                                                                                          \
    auto res_ = ::ssm::autograd::gradcheck(__VA_ARGS__);                                        \
    INFO(res_.message);                                                                         \
    CHECK(res_.ok);                                                                             \
  } while (0)

// An empty directory ssmlab_test_<name> under the system temp directory, emptied first so a rerun
// starts clean. Each test file puts its own prefix in `name`: test executables run in parallel.
inline std::filesystem::path empty_temp_dir(const std::string& name) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("ssmlab_test_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// A file's bytes, and a file made of `bytes` (replacing any old one).
inline std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
inline void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Three identical documents a.txt, b.txt and c.txt in `dir`, each `sentence` repeated `repeats`
// times: enough text to train a tiny model on for a few steps, and documents to hold out.
inline void write_tiny_corpus(const std::filesystem::path& dir, const std::string& sentence, int repeats) {
  std::filesystem::create_directories(dir);
  std::string text;
  for (int i = 0; i < repeats; ++i) text += sentence;
  for (const char* name : {"a.txt", "b.txt", "c.txt"}) std::ofstream(dir / name) << text;
}

// `docs` documents doc0.txt, doc1.txt, ... in `dir`, each `lines` lines of the same two sentences
// and a digit (line % 7): text with real structure, which a tiny model learns in a few steps.
inline std::filesystem::path write_sentence_corpus(const std::filesystem::path& dir, int docs, int lines) {
  std::filesystem::create_directories(dir);
  for (int d = 0; d < docs; ++d) {
    std::ofstream out(dir / ("doc" + std::to_string(d) + ".txt"));
    for (int i = 0; i < lines; ++i) out << "the cat sat on the mat. the dog ate the log. " << (i % 7) << "\n";
  }
  return dir;
}

}  // namespace ssm::testing
