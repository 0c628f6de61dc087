// eval/sweep_record.cpp — a run's record: from a capacity result, to and from JSON.
#include "eval/sweep_record.h"

#include <cmath>
#include <deque>
#include <filesystem>
#include <sstream>
#include <limits>

#include "core/error.h"         // defines: SSM_USER_CHECK, UserError
#include "core/regular_file.h"  // defines: read_regular_file
#include "eval/report_io.h"   // defines: json_number_or_null

namespace ssm {
namespace {

using nlohmann::json;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double number_or_nan(const json& j) { return j.is_number() ? j.get<double>() : kNaN; }

json arm_to_json(const SweepArmRecord& a) {
  return {{"mitigations", a.mitigations},
          {"t_recall", a.t_recall},
          {"first_fail", a.first_fail},
          {"recall_capped", a.recall_capped},
          {"recall_verdict", a.recall_verdict},
          {"collapse_onset", json_number_or_null(a.collapse_onset)},
          {"collapse_determined", a.collapse_determined},
          {"baseline", json_number_or_null(a.baseline)},
          {"peak_ratio", json_number_or_null(a.peak_ratio)},
          {"loss_verdict", a.loss_verdict},
          {"loss_length", a.loss_length},
          {"loss_within", json_number_or_null(a.loss_within)},
          {"loss_beyond", json_number_or_null(a.loss_beyond)},
          {"curve", a.curve}};
}

SweepArmRecord arm_from_json(const json& j) {
  SweepArmRecord a;
  a.mitigations = j.at("mitigations").get<std::string>();
  a.t_recall = j.at("t_recall").get<int64_t>();
  a.first_fail = j.at("first_fail").get<int64_t>();
  a.recall_capped = j.at("recall_capped").get<bool>();
  a.recall_verdict = j.at("recall_verdict").get<std::string>();
  if (!j.at("collapse_onset").is_null()) a.collapse_onset = j.at("collapse_onset").get<int64_t>();
  a.collapse_determined = j.at("collapse_determined").get<bool>();
  a.baseline = number_or_nan(j.at("baseline"));
  a.peak_ratio = number_or_nan(j.at("peak_ratio"));
  a.loss_verdict = j.at("loss_verdict").get<std::string>();
  a.loss_length = j.at("loss_length").get<int64_t>();
  a.loss_within = number_or_nan(j.at("loss_within"));
  a.loss_beyond = number_or_nan(j.at("loss_beyond"));
  for (const json& v : j.at("curve")) a.curve.push_back(number_or_nan(v));
  return a;
}

}  // namespace

std::vector<SweepArmRecord> arms_from_capacity(const CapacityResult& result) {
  std::vector<SweepArmRecord> arms;
  for (const CapacityArm& arm : result.arms) {
    SweepArmRecord a;
    a.mitigations = arm.mitigations.describe();
    a.t_recall = arm.recall.t_recall;
    a.first_fail = arm.recall.first_fail;
    a.recall_capped = arm.recall.capped;
    a.recall_verdict = arm.recall.verdict();
    a.collapse_determined = arm.loss.collapse.baseline.has_value();
    a.baseline = arm.loss.collapse.baseline.value_or(kNaN);
    a.peak_ratio = kNaN;
    for (size_t k = 0; a.collapse_determined && k < arm.loss.smoothed.size(); ++k) {
      if (static_cast<int64_t>(k + 1) * arm.loss.bucket <= result.train_length) continue;  // within T_train
      const double ratio = arm.loss.smoothed[k] / a.baseline;
      if (std::isnan(a.peak_ratio) || ratio > a.peak_ratio) a.peak_ratio = ratio;
    }
    if (a.collapse_determined) a.collapse_onset = arm.loss.collapse.onset;
    a.loss_verdict = arm.loss.verdict();
    a.loss_length = arm.loss.length;
    a.loss_within = arm.loss.loss_within;
    a.loss_beyond = arm.loss.loss_beyond;
    a.curve = arm.loss.smoothed;
    arms.push_back(std::move(a));
  }
  return arms;
}

void read_final_losses(const std::string& metrics_path, int64_t window, double* train_loss, double* val_loss) {
  *train_loss = kNaN;
  *val_loss = kNaN;
  // A run that has not logged yet has no metrics.jsonl: both stay NaN.
  if (!std::filesystem::exists(metrics_path)) return;
  std::istringstream in(read_regular_file(metrics_path, absl::StrCat("cannot read '", metrics_path, "'")));
  std::deque<double> last;
  for (std::string line; std::getline(in, line);) {
    const json row = json::parse(line, nullptr, false);
    if (row.is_discarded() || !row.is_object()) continue;
    if (row.contains("loss") && row["loss"].is_number()) {
      last.push_back(row["loss"].get<double>());
      if (static_cast<int64_t>(last.size()) > window) last.pop_front();
    }
    if (row.contains("val_loss") && row["val_loss"].is_number()) *val_loss = row["val_loss"].get<double>();
  }
  if (!last.empty()) {
    double sum = 0;
    for (double v : last) sum += v;
    *train_loss = sum / static_cast<double>(last.size());
  }
}

json record_to_json(const SweepRunRecord& r) {
  json arms = json::array();
  for (const SweepArmRecord& a : r.arms) arms.push_back(arm_to_json(a));
  return {{"name", r.name},
          {"state", r.state},
          {"train_length", r.train_length},
          {"state_main", r.state_main},
          {"state_all", r.state_all},
          {"parameters", r.parameters},
          {"steps", r.steps},
          {"tokens_seen", r.tokens_seen},
          {"train_seconds", r.train_seconds},
          {"eval_seconds", r.eval_seconds},
          {"final_loss", json_number_or_null(r.final_loss)},
          {"val_loss", json_number_or_null(r.val_loss)},
          {"bucket", r.bucket},
          {"eval_key", r.eval_key},
          {"arms", arms}};
}

SweepRunRecord record_from_json(const json& j, const std::string& source) {
  try {
    SweepRunRecord r;
    r.name = j.at("name").get<std::string>();
    r.state = j.at("state").get<std::string>();
    r.train_length = j.at("train_length").get<int64_t>();
    r.state_main = j.at("state_main").get<int64_t>();
    r.state_all = j.at("state_all").get<int64_t>();
    r.parameters = j.at("parameters").get<int64_t>();
    r.steps = j.at("steps").get<int64_t>();
    r.tokens_seen = j.at("tokens_seen").get<int64_t>();
    r.train_seconds = j.at("train_seconds").get<double>();
    r.eval_seconds = j.at("eval_seconds").get<double>();
    r.final_loss = number_or_nan(j.at("final_loss"));
    r.val_loss = number_or_nan(j.at("val_loss"));
    r.bucket = j.at("bucket").get<int64_t>();
    r.eval_key = j.at("eval_key").get<std::string>();
    for (const json& a : j.at("arms")) r.arms.push_back(arm_from_json(a));
    SSM_USER_CHECK(!r.arms.empty(), source, ": no capacity arms");
    return r;
  } catch (const json::exception& e) {
    throw UserError(absl::StrCat(source, ": not a sweep run record (", e.what(), ")"));
  }
}

}  // namespace ssm
