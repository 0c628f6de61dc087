// tests/eval/test_recall_search.cpp — the T_recall search on fake accuracy functions: doubling, then
// bisection to the resolution; halving when the start already fails; the maximum caps it; the
// probes and verdicts are exactly the ones the policy implies.
#include "eval/recall_search.h"
#include "tests/support/testing.h"

using namespace ssm;

namespace {

// Perfect up to `limit` tokens, then zero; records what was asked.
struct Cliff {
  int64_t limit;
  std::vector<int64_t> asked;
  double operator()(int64_t length) {
    asked.push_back(length);
    return length <= limit ? 1.0 : 0.0;
  }
};

RecallSearchOptions options(int64_t start, int64_t max_length, int64_t resolution, int64_t min_length = 64) {
  RecallSearchOptions o;
  o.start = start;
  o.max_length = max_length;
  o.resolution = resolution;
  o.min_length = min_length;
  return o;
}

}  // namespace

TEST_CASE("doubling until the first failure, then bisection down to the resolution") {
  Cliff cliff{3000, {}};
  const RecallSearchResult r = search_recall_length(std::ref(cliff), options(256, 1 << 20, 64));
  // Doubling: 256 512 1024 2048 pass, 4096 fails. Bisection on multiples of 64 inside (2048, 4096):
  // 3072 fails, 2560 passes, 2816 passes, 2944 passes, 3008 fails -> bracket (2944, 3008].
  CHECK(cliff.asked == std::vector<int64_t>{256, 512, 1024, 2048, 4096, 3072, 2560, 2816, 2944, 3008});
  CHECK(r.t_recall == 2944);
  CHECK(r.first_fail == 3008);
  CHECK_FALSE(r.capped);
  CHECK(r.first_fail - r.t_recall <= 64);
  CHECK(r.probes.size() == cliff.asked.size());
  CHECK(r.probes[4].length == 4096);
  CHECK_FALSE(r.probes[4].pass);
  CHECK(r.verdict() == "T_recall = 2944 (fails at 3008)");
}

TEST_CASE("the threshold is inclusive: 95% passes, 94.9% fails") {
  auto acc = [](int64_t length) { return length <= 1000 ? 0.95 : 0.949; };
  const RecallSearchResult r = search_recall_length(acc, options(500, 8000, 100));
  CHECK(r.t_recall >= 900);
  CHECK(r.t_recall <= 1000);
  CHECK(r.first_fail > 1000);
}

TEST_CASE("a failing start halves down to the minimum, then refines upward") {
  Cliff cliff{700, {}};
  const RecallSearchResult r = search_recall_length(std::ref(cliff), options(4096, 65536, 128, 200));
  // 4096, 2048, 1024 fail; 512 passes; bisection in (512, 1024): 768 fails, 640 passes.
  CHECK(cliff.asked == std::vector<int64_t>{4096, 2048, 1024, 512, 768, 640});
  CHECK(r.t_recall == 640);
  CHECK(r.first_fail == 768);

  Cliff never{0, {}};
  const RecallSearchResult none = search_recall_length(std::ref(never), options(4096, 65536, 128, 300));
  CHECK(never.asked == std::vector<int64_t>{4096, 2048, 1024, 512, 300});  // the minimum itself is tried
  CHECK(none.t_recall == 0);
  CHECK(none.first_fail == 300);
  CHECK(none.verdict() == "T_recall < 300 (fails at every tested length)");
}

TEST_CASE("passing everywhere stops at the maximum, which is tried even off the doubling grid") {
  Cliff cliff{1 << 30, {}};
  const RecallSearchResult r = search_recall_length(std::ref(cliff), options(1000, 5000, 100));
  CHECK(cliff.asked == std::vector<int64_t>{1000, 2000, 4000, 5000});
  CHECK(r.capped);
  CHECK(r.t_recall == 5000);
  CHECK(r.verdict() == "T_recall >= 5000 (no failure up to the maximum length)");
}

TEST_CASE("inconsistent search options are user errors naming the option") {
  auto acc = [](int64_t) { return 1.0; };
  CHECK_THROWS_WITH_AS(search_recall_length(acc, options(0, 100, 10)), doctest::Contains("--start-length"), UserError);
  CHECK_THROWS_WITH_AS(search_recall_length(acc, options(200, 100, 10)), doctest::Contains("--max-length"), UserError);
  CHECK_THROWS_WITH_AS(search_recall_length(acc, options(200, 400, 0)), doctest::Contains("--resolution"), UserError);
}
