// models/scan_mitigations.cpp — describing and validating the scan mitigations.
#include "models/scan_mitigations.h"

#include "absl/strings/str_format.h"  // defines: absl::StrFormat, absl::StrAppendFormat
#include "core/error.h"               // defines: SSM_USER_CHECK
#include "models/language_model.h"    // defines: LanguageModel

namespace ssm {

std::string ScanMitigations::describe() const {
  std::string out;
  auto add = [&out](const std::string& part) { out += (out.empty() ? "" : ", ") + part; };
  if (rri()) add(absl::StrFormat("RRI λ=%g γ=%g", retention_scale, insertion_scale));
  if (delta_scale != 1.0) add(absl::StrFormat("Δ×%g", delta_scale));
  if (window > 0) add(absl::StrFormat("window %d", window));
  return out.empty() ? "none" : out;
}

void check_scan_mitigations(const ScanMitigations& c, const LanguageModel& model) {
  SSM_USER_CHECK(c.retention_scale > 0 && c.retention_scale <= 1, "RRI retention scale λ must be in (0, 1], got ",
                 c.retention_scale);
  SSM_USER_CHECK(c.insertion_scale > 0, "RRI insertion scale γ must be > 0, got ", c.insertion_scale);
  SSM_USER_CHECK(c.delta_scale > 0, "Δ scale must be > 0, got ", c.delta_scale);
  SSM_USER_CHECK(c.window >= 0, "sliding window must be >= 0 tokens, got ", c.window);
  SSM_USER_CHECK(c.delta_scale == 1.0 || model.has_delta(), "Δ-scaling applies to Mamba only: ",
                 model.architecture(), " has no Δ (use RRI to change its retention)");
}

}  // namespace ssm
