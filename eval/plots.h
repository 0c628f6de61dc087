// eval/plots.h — a small, dependency-free SVG writer for the evaluation reports' figures.
//
// LinePlot: named series of (x, y) points (lines, or dots alone for measured points) with axes,
// round ticks, a legend, optional log-x and log-y, an optional vertical dashed marker (the
// paper's red line at the training length) and an optional horizontal one (e.g. the 95% accuracy
// threshold). Non-finite points leave a gap.
// Heatmap: rows x cols of values (NaN = empty cell) on matplotlib's RdYlGn scale. The paper's
// passkey heatmaps (docs/passkey.md) use vmin -0.2 and vmax 1.2, so accuracy 0 is a soft red
// rather than the darkest one and 1 a soft green.
// Output is plain SVG 1.1 with every text node XML-escaped, viewable in any browser. Not a
// plotting library: just what the reports draw.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ssm {

struct Series {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y); a non-finite y leaves a gap
  bool points_only = false;  // measured points: larger dots and no line (a scatter)
};

struct LinePlot {
  std::string title, x_label, y_label;
  std::vector<Series> series;
  bool log_x = false;               // points with x <= 0 are skipped on a log axis
  bool log_y = false;               // points with y <= 0 are skipped on a log axis
  std::optional<double> marker_x;   // vertical dashed line, e.g. the training length
  std::string marker_label;         // e.g. "training length"
  std::optional<double> marker_y;   // horizontal dotted line, e.g. 0.95
  std::string marker_y_label;

  std::string to_svg() const;
  void save(const std::string& path) const;  // UserError naming the path if it cannot be written
};

struct Heatmap {
  std::string title, x_label, y_label;
  std::vector<std::string> row_labels, col_labels;
  std::vector<std::vector<double>> values;  // [row][col], NaN = no data (drawn grey)
  double vmin = -0.2, vmax = 1.2;           // colour scale limits, as in the paper's heatmaps
  bool cell_text = true;                    // print each value in its cell when it fits

  std::string to_svg() const;
  void save(const std::string& path) const;
};

// &, <, >, " and ' replaced by entities.
std::string xml_escape(std::string_view text);
// About `target` round values (1, 2 or 5 times a power of ten apart) covering [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int target = 5);
// "#rrggbb" for `value` on the RdYlGn scale between vmin (red) and vmax (green).
std::string rdylgn_colour(double value, double vmin = -0.2, double vmax = 1.2);

}  // namespace ssm
