// eval/plots.h — a small, dependency-free SVG writer for the report's figures.
//
// LinePlot: named series of (x, y) points, optional log-x, optional vertical marker (e.g. the
// training length). Heatmap: a grid of values in [0, 1] (NaN = empty cell) on the red-yellow-green
// scale the paper's passkey heatmaps use (vmin -0.2, vmax 1.2, so 0 is red and 1 is green).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace ssm {

struct Series {
  std::string name;
  std::vector<std::pair<double, double>> points;
};

struct LinePlot {
  std::string title, x_label, y_label;
  std::vector<Series> series;
  bool log_x = false;
  double marker_x = -1;        // vertical dashed line when >= 0
  std::string marker_label;
  std::string to_svg() const;
  void save(const std::string& path) const;
};

struct Heatmap {
  std::string title, x_label, y_label;
  std::vector<std::string> col_labels, row_labels;
  std::vector<std::vector<double>> values;  // [row][col]
  std::string to_svg() const;
  void save(const std::string& path) const;
};

std::string xml_escape(const std::string& text);

}  // namespace ssm
