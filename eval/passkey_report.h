// eval/passkey_report.h — the files a passkey run leaves (ssmlab passkey, and each arm of
// ssmlab capacity), all named with the target's prefix:
//   passkey_samples.csv   one row per prompt: length, prompt tokens, depth, needle block, key,
//                         generated text, correct
//   passkey_accuracy.csv  per length: accuracy, then one column per last-r curve
//   passkey_heatmap.svg   depth bin x length, RdYlGn with vmin -0.2, vmax 1.2 (paper Fig. 2)
//   passkey_last_r.svg    the last-r accuracy curves, log-x, training length marked
//   passkey.json          the same numbers, and the protocol's settings
#pragma once

#include <string>

#include "eval/passkey.h"    // defines: PasskeyResult, PasskeyOptions
#include "eval/report_io.h"  // defines: ReportTarget, nlohmann::json

namespace ssm {

void write_passkey_report(const ReportTarget& target, const PasskeyResult& result, const PasskeyOptions& options);

// Accuracy per length (and last-r columns) as an aligned terminal table.
std::string passkey_table(const PasskeyResult& result);

// The JSON passkey.json holds.
nlohmann::json passkey_json(const PasskeyResult& result, const PasskeyOptions& options);

// "1K" for 1024, "1536" otherwise: how lengths are labelled in tables and figures.
std::string length_label(int64_t tokens);

}  // namespace ssm
