// eval/recall_search.cpp — doubling, then bisection, for T_recall.
#include "eval/recall_search.h"

#include "absl/strings/str_format.h"  // defines: absl::StrFormat
#include "core/error.h"               // defines: SSM_USER_CHECK

namespace ssm {

void check_recall_search(const RecallSearchOptions& o) {
  SSM_USER_CHECK(o.start > 0, "recall search: --start-length must be positive, got ", o.start);
  SSM_USER_CHECK(o.max_length >= o.start, "recall search: --max-length (", o.max_length,
                 ") must be at least --start-length (", o.start, ")");
  SSM_USER_CHECK(o.min_length > 0 && o.min_length <= o.start, "recall search: the minimum length (", o.min_length,
                 ") must be in [1, --start-length]");
  SSM_USER_CHECK(o.resolution > 0, "recall search: --resolution must be positive, got ", o.resolution);
  SSM_USER_CHECK(o.threshold > 0 && o.threshold <= 1, "recall search: the threshold must be in (0, 1], got ",
                 o.threshold);
}

std::string RecallSearchResult::verdict() const {
  if (capped) return absl::StrFormat("T_recall >= %d (no failure up to the maximum length)", t_recall);
  if (t_recall == 0) return absl::StrFormat("T_recall < %d (fails at every tested length)", first_fail);
  return absl::StrFormat("T_recall = %d (fails at %d)", t_recall, first_fail);
}

RecallSearchResult search_recall_length(const std::function<double(int64_t)>& accuracy_at,
                                        const RecallSearchOptions& o) {
  check_recall_search(o);
  RecallSearchResult r;
  auto test = [&](int64_t length) {
    const double acc = accuracy_at(length);
    const bool pass = acc >= o.threshold;
    r.probes.push_back({length, acc, pass});
    return pass;
  };

  int64_t pass = 0, fail = 0;  // the bracket: longest pass, shortest fail (0 = not found)
  if (test(o.start)) {
    pass = o.start;
    while (pass < o.max_length) {
      const int64_t next = std::min(2 * pass, o.max_length);
      if (!test(next)) {
        fail = next;
        break;
      }
      pass = next;
    }
  } else {
    fail = o.start;
    while (fail > o.min_length) {
      const int64_t next = std::max(fail / 2, o.min_length);
      if (test(next)) {
        pass = next;
        break;
      }
      fail = next;
    }
  }

  if (pass > 0 && fail > 0) {
    // Bisection on multiples of the resolution strictly inside (pass, fail).
    while (fail - pass > o.resolution) {
      int64_t mid = (pass + fail) / 2 / o.resolution * o.resolution;
      if (mid <= pass) mid = pass + o.resolution;
      if (mid >= fail) break;
      if (test(mid)) {
        pass = mid;
      } else {
        fail = mid;
      }
    }
  }
  r.t_recall = pass;
  r.first_fail = fail;
  r.capped = fail == 0;
  return r;
}

}  // namespace ssm
