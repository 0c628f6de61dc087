// eval/report_io.cpp — CSV / table / JSON helpers and the atomic text-file write.
#include "eval/report_io.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_format.h"  // defines: absl::StrFormat
#include "core/error.h"               // defines: SSM_USER_CHECK

namespace ssm {

std::string csv_field(std::string_view text) {
  if (text.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';  // RFC 4180 escapes a quote by doubling it
    out += c;
  }
  return out + "\"";
}

std::string csv_table(const TextRow& header, const std::vector<TextRow>& rows) {
  auto line = [](const TextRow& row) {
    std::string s;
    for (size_t i = 0; i < row.size(); ++i) {
      if (i > 0) s += ',';
      s += csv_field(row[i]);
    }
    return s + "\n";
  };
  std::string out = line(header);
  for (const TextRow& row : rows) out += line(row);
  return out;
}

std::string format_number(double value, int digits) {
  if (std::isnan(value)) return "";
  return absl::StrFormat("%.*g", digits, value);
}

std::string aligned_table(const TextRow& header, const std::vector<TextRow>& rows) {
  std::vector<size_t> width(header.size(), 0);
  auto widen = [&](const TextRow& row) {
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) width[i] = std::max(width[i], row[i].size());
  };
  widen(header);
  for (const TextRow& row : rows) widen(row);
  auto line = [&](const TextRow& row) {
    std::string s;
    for (size_t i = 0; i < width.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      s += cell;
      if (i + 1 < width.size()) s += std::string(width[i] - cell.size() + 2, ' ');
    }
    return s + "\n";
  };
  std::string out = line(header);
  size_t total = 0;
  for (size_t w : width) total += w + 2;
  out += std::string(total > 2 ? total - 2 : 0, '-') + "\n";
  for (const TextRow& row : rows) out += line(row);
  return out;
}

std::string markdown_table(const TextRow& header, const std::vector<TextRow>& rows) {
  auto line = [](const TextRow& row) {
    std::string s = "|";
    for (const std::string& cell : row) {
      std::string escaped;
      for (char c : cell) {
        if (c == '|') escaped += '\\';
        escaped += c;
      }
      s += " " + escaped + " |";
    }
    return s + "\n";
  };
  std::string out = line(header) + "|";
  for (size_t i = 0; i < header.size(); ++i) out += " --- |";
  out += "\n";
  for (const TextRow& row : rows) out += line(row);
  return out;
}

nlohmann::json json_number_or_null(double value) {
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json();
}

nlohmann::json json_number_or_null(const std::optional<int64_t>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json();
}

std::string ReportTarget::path(const std::string& name) const {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  SSM_USER_CHECK(!ec, "cannot create the report folder '", dir, "': ", ec.message());
  return (std::filesystem::path(dir) / (prefix + name)).string();
}

void write_text_file(const std::string& path, std::string_view text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    SSM_USER_CHECK(out.good(), "cannot write '", tmp, "' (does the folder exist and is it writable?)");
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.flush();
    SSM_USER_CHECK(out.good(), "failed while writing '", tmp, "' (disk full?)");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  SSM_USER_CHECK(!ec, "cannot rename '", tmp, "' to '", path, "': ", ec.message());
}

}  // namespace ssm
