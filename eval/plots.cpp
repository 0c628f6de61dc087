// eval/plots.cpp — SVG rendering of line plots and heatmaps.
#include "eval/plots.h"

#include <algorithm>
#include <cmath>
#include <fstream>

#include "absl/strings/str_format.h"  // defines: absl::StrFormat, absl::StrAppendFormat
#include "core/error.h"

namespace ssm {
namespace {

constexpr double kWidth = 720, kHeight = 420, kLeft = 70, kRight = 170, kTop = 40, kBottom = 55;
const char* kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  SSM_USER_CHECK(out.good(), "cannot write '", path, "'");
}

// About five round tick values covering [lo, hi].
std::vector<double> nice_ticks(double lo, double hi) {
  const double span = hi - lo > 0 ? hi - lo : 1.0;
  const double raw = span / 5;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double step = raw / mag < 1.5 ? mag : raw / mag < 3 ? 2 * mag : raw / mag < 7 ? 5 * mag : 10 * mag;
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step) * step; t <= hi + 1e-9 * span; t += step) ticks.push_back(t);
  return ticks;
}

std::string format_tick(double v) {
  if (std::fabs(v) >= 1000 && std::fmod(v, 1000) == 0) return absl::StrFormat("%gK", v / 1000);
  return absl::StrFormat("%g", v);
}

// Red -> yellow -> green for v in [0, 1] after mapping [vmin, vmax] = [-0.2, 1.2] onto it.
std::string rdylgn(double v) {
  double t = std::clamp((v + 0.2) / 1.4, 0.0, 1.0);
  const double r0[3] = {215, 48, 39}, y0[3] = {255, 255, 191}, g0[3] = {26, 152, 80};
  double c[3];
  for (int i = 0; i < 3; ++i) c[i] = t < 0.5 ? r0[i] + (y0[i] - r0[i]) * t * 2 : y0[i] + (g0[i] - y0[i]) * (t - 0.5) * 2;
  return absl::StrFormat("#%02x%02x%02x", static_cast<int>(c[0]), static_cast<int>(c[1]), static_cast<int>(c[2]));
}

std::string header(const std::string& title) {
  return absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" font-family=\"sans-serif\" "
      "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
      "<text x=\"%g\" y=\"22\" font-size=\"15\" text-anchor=\"middle\">%s</text>\n",
      kWidth, kHeight, kLeft + (kWidth - kLeft - kRight) / 2, xml_escape(title));
}

}  // namespace

std::string xml_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string LinePlot::to_svg() const {
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  auto tx = [&](double x) { return log_x ? std::log10(std::max(x, 1e-12)) : x; };
  for (const Series& s : series) {
    for (auto [x, y] : s.points) {
      if (!std::isfinite(y)) continue;
      x0 = std::min(x0, tx(x)), x1 = std::max(x1, tx(x)), y0 = std::min(y0, y), y1 = std::max(y1, y);
    }
  }
  if (marker_x >= 0) x0 = std::min(x0, tx(marker_x)), x1 = std::max(x1, tx(marker_x));
  if (!std::isfinite(x0)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (x1 == x0) x1 = x0 + 1;
  if (y1 == y0) y1 = y0 + 1;
  const double pad = 0.05 * (y1 - y0);
  y0 -= pad, y1 += pad;
  const double pw = kWidth - kLeft - kRight, ph = kHeight - kTop - kBottom;
  auto px = [&](double x) { return kLeft + (tx(x) - x0) / (x1 - x0) * pw; };
  auto py = [&](double y) { return kTop + (1 - (y - y0) / (y1 - y0)) * ph; };

  std::string svg = header(title);
  absl::StrAppendFormat(&svg, "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"none\" stroke=\"#444\"/>\n",
                        kLeft, kTop, pw, ph);
  for (double t : nice_ticks(y0, y1)) {
    absl::StrAppendFormat(&svg, "<line x1=\"%g\" x2=\"%g\" y1=\"%g\" y2=\"%g\" stroke=\"#ddd\"/>"
                          "<text x=\"%g\" y=\"%g\" text-anchor=\"end\">%s</text>\n",
                          kLeft, kLeft + pw, py(t), py(t), kLeft - 6, py(t) + 4, format_tick(t));
  }
  for (double t : nice_ticks(x0, x1)) {
    const double value = log_x ? std::pow(10.0, t) : t;
    const double X = kLeft + (t - x0) / (x1 - x0) * pw;
    absl::StrAppendFormat(&svg, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">%s</text>\n", X, kTop + ph + 18,
                          format_tick(value));
  }
  absl::StrAppendFormat(&svg, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">%s</text>\n", kLeft + pw / 2,
                        kHeight - 12, xml_escape(x_label));
  absl::StrAppendFormat(&svg, "<text transform=\"translate(16 %g) rotate(-90)\" text-anchor=\"middle\">%s</text>\n",
                        kTop + ph / 2, xml_escape(y_label));
  if (marker_x >= 0) {
    absl::StrAppendFormat(&svg, "<line x1=\"%g\" x2=\"%g\" y1=\"%g\" y2=\"%g\" stroke=\"#c00\" stroke-dasharray=\"6 4\"/>"
                          "<text x=\"%g\" y=\"%g\" fill=\"#c00\">%s</text>\n",
                          px(marker_x), px(marker_x), kTop, kTop + ph, px(marker_x) + 4, kTop + 14,
                          xml_escape(marker_label));
  }
  for (size_t k = 0; k < series.size(); ++k) {
    const char* color = kPalette[k % 8];
    std::string path;
    for (auto [x, y] : series[k].points) {
      if (!std::isfinite(y)) continue;
      absl::StrAppendFormat(&path, "%s%.2f,%.2f", path.empty() ? "M" : " L", px(x), py(y));
    }
    absl::StrAppendFormat(&svg, "<path d=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\"/>\n", path, color);
    const double ly = kTop + 10 + 18 * static_cast<double>(k);
    absl::StrAppendFormat(&svg, "<line x1=\"%g\" x2=\"%g\" y1=\"%g\" y2=\"%g\" stroke=\"%s\" stroke-width=\"3\"/>"
                          "<text x=\"%g\" y=\"%g\">%s</text>\n",
                          kWidth - kRight + 12, kWidth - kRight + 32, ly, ly, color, kWidth - kRight + 38, ly + 4,
                          xml_escape(series[k].name));
  }
  return svg + "</svg>\n";
}

void LinePlot::save(const std::string& path) const { write_file(path, to_svg()); }

std::string Heatmap::to_svg() const {
  const size_t rows = values.size(), cols = rows ? values[0].size() : 0;
  const double pw = kWidth - kLeft - kRight, ph = kHeight - kTop - kBottom;
  const double cw = cols ? pw / static_cast<double>(cols) : pw, ch = rows ? ph / static_cast<double>(rows) : ph;
  std::string svg = header(title);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < cols; ++c) {
      const double v = values[r][c];
      const double X = kLeft + static_cast<double>(c) * cw, Y = kTop + static_cast<double>(r) * ch;
      absl::StrAppendFormat(&svg, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"/>", X, Y,
                            cw, ch, std::isnan(v) ? "#eeeeee" : rdylgn(v));
      if (!std::isnan(v) && cw > 26 && ch > 14) {
        absl::StrAppendFormat(&svg, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"10\" text-anchor=\"middle\">%.2f</text>",
                              X + cw / 2, Y + ch / 2 + 4, v);
      }
      svg += "\n";
    }
  }
  for (size_t c = 0; c < cols && c < col_labels.size(); ++c) {
    absl::StrAppendFormat(&svg, "<text x=\"%.2f\" y=\"%g\" text-anchor=\"middle\" font-size=\"10\">%s</text>\n",
                          kLeft + (static_cast<double>(c) + 0.5) * cw, kTop + ph + 16, xml_escape(col_labels[c]));
  }
  for (size_t r = 0; r < rows && r < row_labels.size(); ++r) {
    absl::StrAppendFormat(&svg, "<text x=\"%g\" y=\"%.2f\" text-anchor=\"end\" font-size=\"10\">%s</text>\n",
                          kLeft - 6, kTop + (static_cast<double>(r) + 0.5) * ch + 4, xml_escape(row_labels[r]));
  }
  absl::StrAppendFormat(&svg, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">%s</text>\n", kLeft + pw / 2,
                        kHeight - 12, xml_escape(x_label));
  absl::StrAppendFormat(&svg, "<text transform=\"translate(16 %g) rotate(-90)\" text-anchor=\"middle\">%s</text>\n",
                        kTop + ph / 2, xml_escape(y_label));
  for (int i = 0; i <= 10; ++i) {  // colour bar, accuracy 0..1
    absl::StrAppendFormat(&svg, "<rect x=\"%g\" y=\"%.2f\" width=\"18\" height=\"%.2f\" fill=\"%s\"/>\n",
                          kWidth - kRight + 30, kTop + ph * (1 - (i + 1) / 11.0), ph / 11.0, rdylgn(i / 10.0));
  }
  absl::StrAppendFormat(&svg, "<text x=\"%g\" y=\"%g\">1.0</text><text x=\"%g\" y=\"%g\">0.0</text>\n",
                        kWidth - kRight + 54, kTop + 10, kWidth - kRight + 54, kTop + ph);
  return svg + "</svg>\n";
}

void Heatmap::save(const std::string& path) const { write_file(path, to_svg()); }

}  // namespace ssm
