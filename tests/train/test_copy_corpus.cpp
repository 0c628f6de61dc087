// tests/train/test_copy_corpus.cpp — scripts/make_copy_corpus.sh, the synthetic "remembering pays"
// corpus of the CPU-scale reproduction: the documents it promises (count, size, lowercase
// letters, a period within the range, every byte equal to the one a period back), the same bytes
// on every run, and a one-line error with exit code 2 on bad arguments.
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "tests/support/testing.h"

namespace fs = std::filesystem;

namespace {

const fs::path kScript = fs::path(SSMLAB_SOURCE_DIR) / "scripts" / "make_copy_corpus.sh";
const fs::path kWork = fs::temp_directory_path() / "ssmlab_test_copy_corpus";

int run(const std::string& args) {
  const int status = std::system(("bash " + kScript.string() + " " + args + " >" + (kWork / "out.txt").string() +
                                  " 2>" + (kWork / "err.txt").string())
                                     .c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The smallest p with text[i] == text[i - p] for every i >= p.
size_t period(const std::string& text) {
  for (size_t p = 1; p < text.size(); ++p) {
    bool ok = true;
    for (size_t i = p; i < text.size() && ok; ++i) ok = text[i] == text[i - p];
    if (ok) return p;
  }
  return text.size();
}

}  // namespace

TEST_CASE("make_copy_corpus.sh: 12 documents of 300 bytes, periods 5..40, reproducible") {
  fs::remove_all(kWork);
  fs::create_directories(kWork);
  REQUIRE(run((kWork / "a").string() + " 12 300 5 40") == 0);
  REQUIRE(run((kWork / "b").string() + " 12 300 5 40") == 0);
  size_t files = 0;
  std::set<size_t> periods;
  for (const auto& entry : fs::directory_iterator(kWork / "a")) {
    ++files;
    const std::string doc = slurp(entry.path());
    CHECK(doc == slurp(kWork / "b" / entry.path().filename()));
    REQUIRE(doc.size() == 301);
    CHECK(doc.back() == '\n');
    const std::string text = doc.substr(0, 300);
    CHECK(std::all_of(text.begin(), text.end(), [](char c) { return c >= 'a' && c <= 'z'; }));
    const size_t p = period(text);
    CHECK(p >= 5);
    CHECK(p <= 40);
    periods.insert(p);
  }
  CHECK(files == 12);
  CHECK(fs::exists(kWork / "a" / "copy_0001.txt"));
  CHECK(periods.size() > 3);  // the periods vary between documents
}

TEST_CASE("make_copy_corpus.sh: bad arguments exit 2 with one line") {
  fs::create_directories(kWork);
  CHECK(run((kWork / "c").string() + " 3 100 x") == 2);
  CHECK(slurp(kWork / "err.txt").find("'x' is not a positive integer") != std::string::npos);
  CHECK(run((kWork / "c").string() + " 3 100 9 4") == 2);
  CHECK(slurp(kWork / "err.txt") == "error: make_copy_corpus.sh: MIN_PERIOD 9 > MAX_PERIOD 4\n");
}
