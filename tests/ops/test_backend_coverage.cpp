// tests/ops/test_backend_coverage.cpp — every Backend kernel is mapped and compared across backends:
// the method list of ops/backend.h (kBackendMethodNames, the one list the backends are declared
// from) against the kernel table of ops/README.md, in the spirit of ggml's test-backend-ops, which
// refuses a backend op that no test compares. Each method must have exactly one row, in list order;
// the row's files must exist; its CPU and CUDA cells must name the files that define the method; it
// must name at least one CUDA == CPU test case, each a TEST_CASE of the tests/cuda/ file named with
// it; its bench rows must be rows of ssmlab bench. So a kernel added without a CUDA test, or moved
// or renamed without its row, fails here rather than going unnoticed.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "ops/backend.h"            // defines: kBackendMethodNames
#include "tests/support/testing.h"  // defines: doctest

namespace {

namespace fs = std::filesystem;

// The columns of the table in ops/README.md.
enum Column { kMethod, kOpApi, kCpuKernel, kCudaKernels, kCpuTests, kCudaTests, kBench, kColumns };

std::string read_source(const std::string& relative) {
  std::ifstream in(fs::path(SSMLAB_SOURCE_DIR) / relative, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool source_exists(const std::string& relative) { return fs::is_regular_file(fs::path(SSMLAB_SOURCE_DIR) / relative); }

std::string trim(const std::string& s) {
  const size_t first = s.find_first_not_of(' '), last = s.find_last_not_of(' ');
  return first == std::string::npos ? "" : s.substr(first, last - first + 1);
}

// The spans between pairs of `delim` in a cell: `code` or "quoted" text.
std::vector<std::string> spans(const std::string& cell, char delim) {
  std::vector<std::string> out;
  for (size_t open = cell.find(delim); open != std::string::npos; open = cell.find(delim, open + 1)) {
    const size_t close = cell.find(delim, open + 1);
    if (close == std::string::npos) break;
    out.push_back(cell.substr(open + 1, close - open - 1));
    open = close;
  }
  return out;
}

// A `code` span that names a file of the repository (ops/layers.cpp), not an op (ops::max).
bool is_path(const std::string& span) {
  return span.find('/') != std::string::npos && span.find('.') != std::string::npos &&
         span.find(' ') == std::string::npos;
}
std::vector<std::string> paths_in(const std::string& cell) {
  std::vector<std::string> out;
  for (const std::string& s : spans(cell, '`')) {
    if (is_path(s)) out.push_back(s);
  }
  return out;
}

struct Row {
  int line;                        // in ops/README.md, for the failure messages
  std::vector<std::string> cells;  // kColumns of them when well formed
};

// The rows of the table whose header starts with "| Backend method |", up to its last line.
std::vector<Row> kernel_table() {
  std::istringstream readme(read_source("ops/README.md"));
  std::vector<Row> rows;
  bool inside = false;
  int number = 0;
  for (std::string line; std::getline(readme, line);) {
    ++number;
    if (!inside) {
      inside = line.rfind("| Backend method |", 0) == 0;
      continue;
    }
    if (line.rfind("|", 0) != 0) break;
    if (line.rfind("|---", 0) == 0) continue;
    Row row{number, {}};
    std::string cell;
    for (size_t i = 1; i < line.size(); ++i) {
      if (line[i] != '|') {
        cell += line[i];
        continue;
      }
      row.cells.push_back(trim(cell));
      cell.clear();
    }
    rows.push_back(row);
  }
  return rows;
}

// The names of the test cases of a test file: TEST_CASE("...") and the CUDA_TEST("...") wrapper.
std::set<std::string> test_case_names(const std::string& relative) {
  static const std::regex test_case(R"re((?:TEST_CASE|CUDA_TEST)\s*\(\s*"((?:[^"\\]|\\.)*)")re");
  const std::string text = read_source(relative);
  std::set<std::string> names;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), test_case); it != std::sregex_iterator(); ++it) {
    names.insert((*it)[1].str());
  }
  return names;
}

std::string method_of(const Row& row) {
  const std::vector<std::string> code = spans(row.cells.empty() ? "" : row.cells[kMethod], '`');
  return code.size() == 1 ? code[0] : "";
}

std::string where(const Row& row) { return "ops/README.md:" + std::to_string(row.line) + " (" + method_of(row) + ")"; }

}  // namespace

TEST_CASE("ops/README.md has one row per Backend method, in the order of the list, and no other rows") {
  const std::vector<Row> rows = kernel_table();
  REQUIRE_MESSAGE(!rows.empty(), "no table with the header '| Backend method |' in ops/README.md");
  const std::vector<std::string> methods(std::begin(ssm::kBackendMethodNames), std::end(ssm::kBackendMethodNames));
  std::vector<std::string> listed;
  for (const Row& row : rows) {
    CHECK_MESSAGE(row.cells.size() == kColumns, where(row), ": ", row.cells.size(), " cells, expected ", kColumns);
    const std::string name = method_of(row);
    CHECK_MESSAGE(!name.empty(), "ops/README.md:", row.line, ": the first cell must be one `method name`");
    CHECK_MESSAGE(std::find(methods.begin(), methods.end(), name) != methods.end(), where(row),
                  ": not a method of SSM_BACKEND_METHODS (ops/backend.h)");
    CHECK_MESSAGE(std::count(listed.begin(), listed.end(), name) == 0, where(row), ": a second row for ", name);
    listed.push_back(name);
  }
  for (const std::string& m : methods) {
    CHECK_MESSAGE(std::count(listed.begin(), listed.end(), m) == 1, "ops/README.md has no row for the Backend method ",
                  m, " (ops/backend.h)");
  }
  if (std::is_permutation(listed.begin(), listed.end(), methods.begin(), methods.end())) {
    CHECK_MESSAGE(listed == methods, "the rows of ops/README.md are not in the order of SSM_BACKEND_METHODS");
  }
}

TEST_CASE("every file a row names exists, and its CPU and CUDA cells name the files defining the method") {
  for (const Row& row : kernel_table()) {
    if (row.cells.size() != kColumns) continue;  // reported by the first test case
    const std::string method = method_of(row);
    for (int c : {kOpApi, kCpuKernel, kCudaKernels, kCpuTests, kCudaTests}) {
      for (const std::string& path : paths_in(row.cells[c])) {
        CHECK_MESSAGE(source_exists(path), where(row), ": ", path, " does not exist");
      }
    }
    for (auto [column, backend] : {std::pair{kCpuKernel, "Cpu"}, std::pair{kCudaKernels, "Cuda"}}) {
      const std::string side = column == kCpuKernel ? "CPU" : "CUDA";
      const std::string needle = std::string(backend) + "Backend::" + method + "(";
      bool defined = false;
      for (const std::string& path : paths_in(row.cells[column])) {
        defined = defined || read_source(path).find(needle) != std::string::npos;
      }
      CHECK_MESSAGE(defined, where(row), ": none of the files in its ", side, " cell defines ", needle, "...)");
    }
  }
}

TEST_CASE("every Backend method names a CUDA == CPU test case that exists in tests/cuda/") {
  for (const Row& row : kernel_table()) {
    if (row.cells.size() != kColumns) continue;
    const std::string& cell = row.cells[kCudaTests];
    const std::vector<std::string> files = paths_in(cell), cases = spans(cell, '"');
    CHECK_MESSAGE(!files.empty(), where(row), ": no `tests/cuda/test_cuda_*.cpp` file named");
    CHECK_MESSAGE(!cases.empty(), where(row), ": no CUDA == CPU test case named (\"test case name\")");
    std::set<std::string> defined;
    for (const std::string& file : files) {
      CHECK_MESSAGE(file.rfind("tests/cuda/test_cuda_", 0) == 0, where(row), ": ", file, " is not a CUDA test file");
      const std::set<std::string> names = test_case_names(file);
      defined.insert(names.begin(), names.end());
    }
    for (const std::string& name : cases) {
      CHECK_MESSAGE(defined.count(name) == 1, where(row), ": no TEST_CASE \"", name, "\" in the files named");
    }
  }
}

TEST_CASE("every bench row a row names is a row of ssmlab bench") {
  const std::string bench = read_source("bench/kernels.cpp") + read_source("bench/train_step.cpp");
  REQUIRE(!bench.empty());
  for (const Row& row : kernel_table()) {
    if (row.cells.size() != kColumns) continue;
    for (const std::string& name : spans(row.cells[kBench], '`')) {
      CHECK_MESSAGE(bench.find('"' + name + '"') != std::string::npos, where(row), ": no bench row \"", name,
                    "\" in bench/kernels.cpp or bench/train_step.cpp");
    }
  }
}
