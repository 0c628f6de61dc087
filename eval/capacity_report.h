// eval/capacity_report.h — the report folder of `ssmlab capacity` (eval/capacity.h):
//   report.md                  the numbers, the figures and the exact protocol, in words
//   summary.json, comparison.csv   one entry per arm: T_recall, the T_forget verdict, mean loss
//                              within and beyond the training length, state-norm growth
//   passkey_accuracy.svg       accuracy per searched length, one curve per arm, 95% line
//   position_loss.svg          smoothed loss by position, one curve per arm
//   state_norm.svg             the largest head norm at each reading, one curve per arm
//   first_token_retention.svg  the largest first-token retention α_{1:t}, one curve per arm
//   baseline/, mitigated/      each arm's own files (passkey_report.h, position_loss_report.h,
//                              state_report.h)
#pragma once

#include <string>

#include "eval/capacity.h"  // defines: CapacityResult

namespace ssm {

void write_capacity_report(const std::string& dir, const CapacityResult& result);

// The terminal summary: one row per quantity, one column per arm.
std::string capacity_summary_table(const CapacityResult& result);

}  // namespace ssm
