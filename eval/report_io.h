// eval/report_io.h — small writers shared by the evaluation reports: CSV fields and tables,
// aligned terminal tables, markdown tables, JSON numbers that may be missing, and a file write
// that never leaves a half-written report behind (temporary name, then rename). Knows nothing of
// what the reports measure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>  // defines: nlohmann::json

namespace ssm {

using TextRow = std::vector<std::string>;

// One CSV field (RFC 4180): quoted, with quotes doubled, when it holds a comma, quote or newline.
std::string csv_field(std::string_view text);
// A header line and rows, each line ending in '\n'.
std::string csv_table(const TextRow& header, const std::vector<TextRow>& rows);

// A number for a CSV or table cell with `digits` significant digits ("%.6g"); "" for NaN,
// because an empty cell is what a missing value should look like.
std::string format_number(double value, int digits = 6);

// Space-padded columns for the terminal: every column as wide as its widest cell.
std::string aligned_table(const TextRow& header, const std::vector<TextRow>& rows);
// A GitHub-flavoured markdown table ('|' in cells escaped).
std::string markdown_table(const TextRow& header, const std::vector<TextRow>& rows);

// JSON null for NaN / nullopt, the number otherwise (JSON has no NaN).
nlohmann::json json_number_or_null(double value);
nlohmann::json json_number_or_null(const std::optional<int64_t>& value);

// Where a report's files go and how its figures are titled.
struct ReportTarget {
  std::string dir;           // created when missing
  std::string prefix;        // prepended to every file name: "" or e.g. "mitigated_"
  std::string title;         // for figure titles: the model, and the mitigations if any
  int64_t train_length = 0;  // the dashed marker on position and length axes (0 = none)

  // dir/prefix+name, creating dir. UserError naming dir if it cannot be created.
  std::string path(const std::string& name) const;
};

// Writes `text` to `path` through `path`.tmp and a rename, so a reader never sees half a file
// and an existing file is only replaced by a complete one. UserError naming the path on failure.
void write_text_file(const std::string& path, std::string_view text);

}  // namespace ssm
