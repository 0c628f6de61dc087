// eval/plots.cpp — rendering of LinePlot and Heatmap to SVG text.
#include "eval/plots.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "absl/strings/str_format.h"  // defines: absl::StrFormat, absl::StrAppendFormat
#include "eval/report_io.h"           // defines: write_text_file

namespace ssm {
namespace {

// Canvas: plot area in the middle, room on the left for y ticks and on the right for the legend.
constexpr double kWidth = 760, kHeight = 440, kLeft = 72, kRight = 190, kTop = 44, kBottom = 58;
constexpr double kPlotW = kWidth - kLeft - kRight, kPlotH = kHeight - kTop - kBottom;
// Distinguishable line colours (the usual categorical palette).
constexpr std::array<const char*, 8> kPalette = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                                 "#9467bd", "#8c564b", "#e377c2", "#17becf"};
// matplotlib's RdYlGn, 11 evenly spaced stops from red to green.
constexpr std::array<std::array<int, 3>, 11> kRdYlGn = {{{165, 0, 38},    {215, 48, 39},   {244, 109, 67},
                                                         {253, 174, 97},  {254, 224, 139}, {255, 255, 191},
                                                         {217, 239, 139}, {166, 217, 106}, {102, 189, 99},
                                                         {26, 152, 80},   {0, 104, 55}}};

// `width` grows past kWidth when a line plot's legend needs more room than kRight.
std::string svg_open(const std::string& title, double width = kWidth) {
  return absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%g\" height=\"%g\" "
      "viewBox=\"0 0 %g %g\" font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect x=\"0\" y=\"0\" width=\"%g\" height=\"%g\" fill=\"white\"/>\n"
      "<text x=\"%g\" y=\"26\" font-size=\"15\" text-anchor=\"middle\">%s</text>\n",
      width, kHeight, width, kHeight, width, kHeight, kLeft + kPlotW / 2, xml_escape(title));
}

// One unbroken stretch of a line, in pixels, thinned to what the screen can show: in each
// half-pixel column only the first, lowest, highest and last points are kept. The drawn envelope
// is unchanged while a 60K-position loss curve drops from thousands of points to a few per
// column (the reports' SVGs stay small enough to commit and to open).
void append_thinned_path(const std::vector<std::pair<double, double>>& stretch, std::string& path) {
  size_t a = 0;
  bool first = true;
  while (a < stretch.size()) {
    const double column = std::floor(2 * stretch[a].first);
    size_t b = a, lo = a, hi = a;
    for (; b < stretch.size() && std::floor(2 * stretch[b].first) == column; ++b) {
      if (stretch[b].second < stretch[lo].second) lo = b;
      if (stretch[b].second > stretch[hi].second) hi = b;
    }
    std::array<size_t, 4> keep = {a, lo, hi, b - 1};
    std::sort(keep.begin(), keep.end());
    for (size_t i = 0; i < keep.size(); ++i) {
      if (i > 0 && keep[i] == keep[i - 1]) continue;
      absl::StrAppendFormat(&path, "%s%.2f %.2f ", first ? "M" : "L", stretch[keep[i]].first, stretch[keep[i]].second);
      first = false;
    }
    a = b;
  }
}

std::string axis_labels(const std::string& x_label, const std::string& y_label) {
  return absl::StrFormat(
      "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">%s</text>\n"
      "<text transform=\"translate(18 %g) rotate(-90)\" text-anchor=\"middle\">%s</text>\n",
      kLeft + kPlotW / 2, kHeight - 14, xml_escape(x_label), kTop + kPlotH / 2, xml_escape(y_label));
}

// Tick text: 8192 -> "8192", 16384 -> "16K" when a whole number of K, 0.25 -> "0.25".
std::string tick_text(double v) {
  if (std::fabs(v) >= 10000 && std::fmod(v, 1024) == 0) return absl::StrFormat("%gK", v / 1024);
  if (std::fabs(v) >= 10000 && std::fmod(v, 1000) == 0) return absl::StrFormat("%gk", v / 1000);
  if (std::fabs(v) < 1e-12) return "0";
  return absl::StrFormat("%g", v);
}

// Ticks for a log axis over [lo, hi] (given as log10 values). Context lengths (x) read best as
// powers of two when the range is narrow; otherwise powers of ten, with 2x and 5x in between
// when the range spans less than two decades.
std::vector<double> log_ticks(double lo, double hi, bool powers_of_two_ok) {
  std::vector<double> ticks;
  if (powers_of_two_ok && hi - lo <= 3.0) {
    const double l0 = lo / std::log10(2.0), l1 = hi / std::log10(2.0);
    const int step = std::max(1, static_cast<int>(std::ceil((l1 - l0) / 8)));
    for (double e = std::ceil(l0 - 1e-9); e <= l1 + 1e-9; e += step) ticks.push_back(std::pow(2.0, e));
    return ticks;
  }
  const bool fine = hi - lo < 2.0;
  const int step = std::max(1, static_cast<int>(std::ceil((hi - lo) / 8)));
  for (double e = std::floor(lo) ; e <= std::ceil(hi); e += step) {
    for (double m : fine ? std::vector<double>{1, 2, 5} : std::vector<double>{1}) {
      const double v = m * std::pow(10.0, e);
      if (std::log10(v) >= lo - 1e-9 && std::log10(v) <= hi + 1e-9) ticks.push_back(v);
    }
  }
  return ticks;
}

}  // namespace

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!(hi > lo)) return {lo};
  const double raw = (hi - lo) / std::max(target, 1);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double r = raw / magnitude;
  const double step = (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * magnitude;
  std::vector<double> ticks;
  for (double k = std::ceil(lo / step - 1e-9); k * step <= hi + 1e-9 * step; k += 1) ticks.push_back(k * step);
  return ticks;
}

std::string rdylgn_colour(double value, double vmin, double vmax) {
  const double t = std::clamp((value - vmin) / (vmax - vmin), 0.0, 1.0) * (kRdYlGn.size() - 1);
  const size_t i = std::min(static_cast<size_t>(t), kRdYlGn.size() - 2);
  const double f = t - static_cast<double>(i);
  int c[3];
  for (int k = 0; k < 3; ++k) c[k] = static_cast<int>(std::lround(kRdYlGn[i][k] * (1 - f) + kRdYlGn[i + 1][k] * f));
  return absl::StrFormat("#%02x%02x%02x", c[0], c[1], c[2]);
}

std::string LinePlot::to_svg() const {
  // Data range in axis coordinates (log10 on a log axis).
  auto usable = [&](double x, double y) {
    return std::isfinite(x) && std::isfinite(y) && (!log_x || x > 0) && (!log_y || y > 0);
  };
  auto ax = [&](double x) { return log_x ? std::log10(x) : x; };
  auto ay = [&](double y) { return log_y ? std::log10(y) : y; };
  constexpr double inf = std::numeric_limits<double>::infinity();
  double x0 = inf, x1 = -inf, y0 = inf, y1 = -inf;
  for (const Series& s : series) {
    for (auto [x, y] : s.points) {
      if (!usable(x, y)) continue;
      x0 = std::min(x0, ax(x)), x1 = std::max(x1, ax(x));
      y0 = std::min(y0, ay(y)), y1 = std::max(y1, ay(y));
    }
  }
  const bool has_marker = marker_x && std::isfinite(*marker_x) && (!log_x || *marker_x > 0);
  if (has_marker) x0 = std::min(x0, ax(*marker_x)), x1 = std::max(x1, ax(*marker_x));
  const bool has_hmarker = marker_y && std::isfinite(*marker_y) && (!log_y || *marker_y > 0);
  if (has_hmarker) y0 = std::min(y0, ay(*marker_y)), y1 = std::max(y1, ay(*marker_y));
  if (!std::isfinite(x0)) x0 = 0, x1 = 1;
  if (!std::isfinite(y0)) y0 = 0, y1 = 1;
  if (x1 == x0) x0 -= 0.5, x1 += 0.5;
  if (y1 == y0) y0 -= 0.5, y1 += 0.5;
  const double pad = 0.05 * (y1 - y0);  // keep lines off the frame
  y0 -= pad, y1 += pad;
  auto px = [&](double axis_x) { return kLeft + (axis_x - x0) / (x1 - x0) * kPlotW; };
  auto py = [&](double axis_y) { return kTop + (1 - (axis_y - y0) / (y1 - y0)) * kPlotH; };

  // The legend sits right of the plot; long names (a verdict per curve) widen the canvas.
  size_t longest_name = 0;
  for (const Series& s : series) longest_name = std::max(longest_name, s.name.size());
  const double legend_w = 42 + 7.0 * static_cast<double>(longest_name) + 12;
  std::string svg = svg_open(title, std::max(kWidth, kLeft + kPlotW + legend_w));
  // Grid and ticks (tick values are data values; their positions are in axis coordinates).
  const std::vector<double> y_ticks = log_y ? log_ticks(y0, y1, false) : nice_ticks(y0, y1);
  for (double t : y_ticks) {
    const double Y = py(ay(t));
    absl::StrAppendFormat(&svg,
                          "<line x1=\"%g\" y1=\"%.2f\" x2=\"%g\" y2=\"%.2f\" stroke=\"#e4e4e4\"/>"
                          "<text x=\"%g\" y=\"%.2f\" text-anchor=\"end\">%s</text>\n",
                          kLeft, Y, kLeft + kPlotW, Y, kLeft - 6, Y + 4, tick_text(t));
  }
  const std::vector<double> x_ticks = log_x ? log_ticks(x0, x1, true) : nice_ticks(x0, x1);
  for (double t : x_ticks) {
    const double X = px(ax(t));
    absl::StrAppendFormat(&svg,
                          "<line x1=\"%.2f\" y1=\"%g\" x2=\"%.2f\" y2=\"%g\" stroke=\"#e4e4e4\"/>"
                          "<text x=\"%.2f\" y=\"%g\" text-anchor=\"middle\">%s</text>\n",
                          X, kTop, X, kTop + kPlotH, X, kTop + kPlotH + 18, tick_text(t));
  }
  absl::StrAppendFormat(&svg, "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"none\" stroke=\"#444\"/>\n",
                        kLeft, kTop, kPlotW, kPlotH);
  svg += axis_labels(x_label, y_label);
  if (has_marker) {
    const double X = px(ax(*marker_x));
    absl::StrAppendFormat(&svg,
                          "<line x1=\"%.2f\" y1=\"%g\" x2=\"%.2f\" y2=\"%g\" stroke=\"#d00000\" "
                          "stroke-dasharray=\"6 4\" stroke-width=\"1.5\"/>"
                          "<text x=\"%.2f\" y=\"%g\" fill=\"#d00000\" font-size=\"11\">%s</text>\n",
                          X, kTop, X, kTop + kPlotH, X + 4, kTop + 14, xml_escape(marker_label));
  }
  if (has_hmarker) {
    const double Y = py(ay(*marker_y));
    absl::StrAppendFormat(&svg,
                          "<line x1=\"%g\" y1=\"%.2f\" x2=\"%g\" y2=\"%.2f\" stroke=\"#555555\" "
                          "stroke-dasharray=\"2 3\" stroke-width=\"1.2\"/>"
                          "<text x=\"%g\" y=\"%.2f\" fill=\"#555555\" font-size=\"11\" text-anchor=\"end\">%s</text>\n",
                          kLeft, Y, kLeft + kPlotW, Y, kLeft + kPlotW - 4, Y - 4, xml_escape(marker_y_label));
  }
  // Series: a polyline broken at missing values, dots when there are few points, and the legend.
  // The first series is solid and wider; every later one has its own dash pattern and is drawn
  // over the earlier ones, so curves that coincide (a mitigation that changes nothing within the
  // training length) still show both: dashes of one colour over a line of another.
  static constexpr std::array<const char*, 4> kDashes = {"", "7 4", "2 3", "9 3 2 3"};
  for (size_t k = 0; k < series.size(); ++k) {
    const char* colour = kPalette[k % kPalette.size()];
    const std::string dash = k == 0 ? "" : absl::StrFormat(" stroke-dasharray=\"%s\"", kDashes[1 + (k - 1) % 3]);
    const double width = k == 0 ? 2.4 : 1.6;
    std::string path;
    std::vector<std::pair<double, double>> stretch;  // pixels, up to the next gap
    size_t drawn = 0;
    for (auto [x, y] : series[k].points) {
      if (!usable(x, y)) {
        append_thinned_path(stretch, path);
        stretch.clear();
        continue;
      }
      stretch.emplace_back(px(ax(x)), py(ay(y)));
      ++drawn;
    }
    append_thinned_path(stretch, path);
    if (!path.empty() && !series[k].points_only) {
      absl::StrAppendFormat(&svg, "<path d=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"%g\"%s/>\n", path, colour,
                            width, dash);
    }
    if (drawn > 0 && (drawn <= 40 || series[k].points_only)) {
      for (auto [x, y] : series[k].points) {
        if (usable(x, y)) {
          absl::StrAppendFormat(&svg, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"%g\" fill=\"%s\"/>\n", px(ax(x)),
                                py(ay(y)), series[k].points_only ? 4.5 : 2.5, colour);
        }
      }
    }
    const double ly = kTop + 12 + 18 * static_cast<double>(k);
    absl::StrAppendFormat(&svg,
                          "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"%s\" stroke-width=\"%g\"%s/>"
                          "<text x=\"%g\" y=\"%g\">%s</text>\n",
                          kLeft + kPlotW + 14, ly, kLeft + kPlotW + 36, ly, colour, width + 0.6, dash,
                          kLeft + kPlotW + 42, ly + 4,
                          xml_escape(series[k].name));
  }
  return svg + "</svg>\n";
}

void LinePlot::save(const std::string& path) const { write_text_file(path, to_svg()); }

std::string Heatmap::to_svg() const {
  const size_t rows = values.size();
  size_t cols = 0;
  for (const auto& row : values) cols = std::max(cols, row.size());
  const double cw = kPlotW / static_cast<double>(std::max<size_t>(cols, 1));
  const double ch = kPlotH / static_cast<double>(std::max<size_t>(rows, 1));
  const bool text_fits = cell_text && cw >= 28 && ch >= 13;

  std::string svg = svg_open(title);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < cols; ++c) {
      const double v = c < values[r].size() ? values[r][c] : std::nan("");
      const double X = kLeft + static_cast<double>(c) * cw, Y = kTop + static_cast<double>(r) * ch;
      absl::StrAppendFormat(&svg, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\" stroke=\"white\" stroke-width=\"0.5\"/>",
                            X, Y, cw, ch, std::isnan(v) ? "#eeeeee" : rdylgn_colour(v, vmin, vmax));
      if (text_fits && !std::isnan(v)) {
        absl::StrAppendFormat(&svg, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"10\" text-anchor=\"middle\">%.2f</text>",
                              X + cw / 2, Y + ch / 2 + 3.5, v);
      }
      svg += "\n";
    }
  }
  absl::StrAppendFormat(&svg, "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"none\" stroke=\"#444\"/>\n",
                        kLeft, kTop, kPlotW, kPlotH);
  // Column labels are thinned so that they never overlap (about 40 px each).
  const size_t col_step = std::max<size_t>(1, static_cast<size_t>(std::ceil(40.0 / cw)));
  for (size_t c = 0; c < cols && c < col_labels.size(); c += col_step) {
    absl::StrAppendFormat(&svg, "<text x=\"%.2f\" y=\"%g\" text-anchor=\"middle\" font-size=\"10\">%s</text>\n",
                          kLeft + (static_cast<double>(c) + 0.5) * cw, kTop + kPlotH + 16, xml_escape(col_labels[c]));
  }
  const size_t row_step = std::max<size_t>(1, static_cast<size_t>(std::ceil(12.0 / ch)));
  for (size_t r = 0; r < rows && r < row_labels.size(); r += row_step) {
    absl::StrAppendFormat(&svg, "<text x=\"%g\" y=\"%.2f\" text-anchor=\"end\" font-size=\"10\">%s</text>\n", kLeft - 6,
                          kTop + (static_cast<double>(r) + 0.5) * ch + 3.5, xml_escape(row_labels[r]));
  }
  svg += axis_labels(x_label, y_label);
  // Colour bar over the data range [0, 1] (accuracy), drawn with the same vmin/vmax mapping.
  constexpr int kSteps = 20;
  const double bar_x = kWidth - kRight + 30, bar_w = 18;
  for (int i = 0; i < kSteps; ++i) {
    const double v = (i + 0.5) / kSteps;
    absl::StrAppendFormat(&svg, "<rect x=\"%g\" y=\"%.2f\" width=\"%g\" height=\"%.2f\" fill=\"%s\"/>\n", bar_x,
                          kTop + kPlotH * (1 - static_cast<double>(i + 1) / kSteps), bar_w, kPlotH / kSteps + 0.3,
                          rdylgn_colour(v, vmin, vmax));
  }
  for (double v : {0.0, 0.5, 1.0}) {
    absl::StrAppendFormat(&svg, "<text x=\"%g\" y=\"%.2f\" font-size=\"10\">%.1f</text>\n", bar_x + bar_w + 6,
                          kTop + kPlotH * (1 - v) + 3.5, v);
  }
  absl::StrAppendFormat(&svg,
                        "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"#eeeeee\"/>"
                        "<text x=\"%g\" y=\"%g\" font-size=\"10\">no data</text>\n",
                        bar_x, kTop + kPlotH + 12, bar_w, 10.0, bar_x + bar_w + 6, kTop + kPlotH + 21);
  return svg + "</svg>\n";
}

void Heatmap::save(const std::string& path) const { write_text_file(path, to_svg()); }

}  // namespace ssm
