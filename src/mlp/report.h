// Reports for `fanfill validate`: plain-text tables, CSV and small SVG line
// plots (written here, no plotting library).
#ifndef FANFILL_SRC_MLP_REPORT_H_
#define FANFILL_SRC_MLP_REPORT_H_

#include <filesystem>
#include <limits>
#include <string>
#include <vector>

namespace fanfill::mlp {

struct Table {
  std::string title;
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;  // each as many cells as columns
};

// Columns padded to their widest cell, a rule under the header; title first.
// Throws std::invalid_argument if a row's size differs from the columns'.
std::string FormatTable(const Table& table);
// RFC 4180: comma separated, CRLF-free ("\n" line ends), cells with a comma,
// quote or line break quoted with quotes doubled. Header row first; no title.
std::string ToCsv(const Table& table);

// "%.*g" with `digits` significant digits; "inf", "-inf", "nan" as such.
std::string FormatNumber(double value, int digits = 4);

struct Series {
  std::string name;
  std::vector<double> x,
      y;  // same size; non-finite points (and y <= 0 on a log axis) break the line
};

struct Plot {
  std::string title, x_label, y_label;
  bool log_y = false;
  std::vector<Series> series;
  // Fixed y range in data units (NaN: from the data); points outside are clipped by the frame.
  double y_min = std::numeric_limits<double>::quiet_NaN();
  double y_max = std::numeric_limits<double>::quiet_NaN();
};

// An SVG document (760 x 400): axes with "nice" ticks (1, 2, 5 x 10^k; on a
// log axis one tick per decade, or per few decades if there are many),
// labels (log axis: 0.001 ... 1000 as plain numbers, 1eK beyond; 2 and 5
// times each power too when the axis spans at most 2 decades), a legend,
// one polyline per series (coordinates rounded to 0.1 px, clipped to the
// frame).
// Points outside the finite range are left out and split the line.
// Throws std::invalid_argument if a series' x and y differ in size.
std::string RenderSvg(const Plot& plot);

// Long-form CSV of a plot's data: "series,x,y", one row per point.
std::string SeriesCsv(const Plot& plot);

// Writes `text` to `path` (truncating); throws std::runtime_error naming the
// path on failure.
void WriteTextFile(const std::filesystem::path& path, const std::string& text);

}  // namespace fanfill::mlp

#endif  // FANFILL_SRC_MLP_REPORT_H_
