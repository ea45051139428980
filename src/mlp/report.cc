#include "src/mlp/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace fanfill::mlp {
namespace {

void CheckRows(const Table& table) {
  for (const auto& row : table.rows) {
    if (row.size() != table.columns.size()) {
      throw std::invalid_argument("Table '" + table.title + "': a row has " +
                                  std::to_string(row.size()) + " cells for " +
                                  std::to_string(table.columns.size()) + " columns");
    }
  }
}

std::string CsvCell(const std::string& cell) {
  if (cell.find_first_of(",\"\n\r") == std::string::npos) return cell;
  std::string out = "\"";
  for (char c : cell) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string XmlEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Px(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// 1, 2 or 5 times a power of ten, at least raw.
double NiceStep(double raw) {
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * p >= raw * (1 - 1e-12)) return m * p;
  }
  return 10 * p;
}

// Colour-blind-safe palette (Okabe-Ito, then greys).
constexpr const char* kColors[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00",
                                   "#56B4E9", "#000000", "#F0E442", "#777777", "#AA4499"};

}  // namespace

std::string FormatNumber(double value, int digits) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, value);
  return buf;
}

std::string FormatTable(const Table& table) {
  CheckRows(table);
  std::vector<size_t> width(table.columns.size());
  for (size_t c = 0; c < width.size(); ++c) width[c] = table.columns[c].size();
  for (const auto& row : table.rows) {
    for (size_t c = 0; c < width.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  std::ostringstream out;
  if (!table.title.empty()) out << table.title << "\n";
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (size_t c = 0; c < cells.size(); ++c) {
      if (c > 0) s += "  ";
      s += cells[c] + std::string(width[c] - cells[c].size(), ' ');
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    out << s << "\n";
  };
  line(table.columns);
  std::vector<std::string> rule(width.size());
  for (size_t c = 0; c < width.size(); ++c) rule[c] = std::string(width[c], '-');
  line(rule);
  for (const auto& row : table.rows) line(row);
  return out.str();
}

std::string ToCsv(const Table& table) {
  CheckRows(table);
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    for (size_t c = 0; c < cells.size(); ++c) {
      if (c > 0) out += ',';
      out += CsvCell(cells[c]);
    }
    out += '\n';
  };
  line(table.columns);
  for (const auto& row : table.rows) line(row);
  return out;
}

std::string SeriesCsv(const Plot& plot) {
  std::string out = "series,x,y\n";
  for (const Series& s : plot.series) {
    if (s.x.size() != s.y.size()) {
      throw std::invalid_argument("series '" + s.name + "': x and y differ in size");
    }
    for (size_t i = 0; i < s.x.size(); ++i) {
      out += CsvCell(s.name) + "," + FormatNumber(s.x[i], 9) + "," + FormatNumber(s.y[i], 9) + "\n";
    }
  }
  return out;
}

std::string RenderSvg(const Plot& plot) {
  constexpr double kWidth = 760, kHeight = 400;
  constexpr double kLeft = 72, kRight = 490, kTop = 36, kBottom = 345;  // plot area
  auto usable = [&](double x, double y) {
    return std::isfinite(x) && std::isfinite(y) && (!plot.log_y || y > 0);
  };
  double xmin = std::numeric_limits<double>::infinity(), xmax = -xmin, ymin = xmin, ymax = -xmin;
  for (const Series& s : plot.series) {
    if (s.x.size() != s.y.size()) {
      throw std::invalid_argument("series '" + s.name + "': x and y differ in size");
    }
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!usable(s.x[i], s.y[i])) continue;
      const double y = plot.log_y ? std::log10(s.y[i]) : s.y[i];
      xmin = std::min(xmin, s.x[i]);
      xmax = std::max(xmax, s.x[i]);
      ymin = std::min(ymin, y);
      ymax = std::max(ymax, y);
    }
  }
  const bool any = xmin <= xmax;
  if (!any) xmin = 0, xmax = 1, ymin = 0, ymax = 1;
  auto axis = [&](double v) { return plot.log_y ? std::log10(v) : v; };
  if (std::isfinite(axis(plot.y_min))) ymin = axis(plot.y_min);
  if (std::isfinite(axis(plot.y_max))) ymax = axis(plot.y_max);
  if (xmax == xmin) xmin -= 0.5, xmax += 0.5;
  if (ymax <= ymin) ymax = ymin + 1;

  // Ticks (positions in data units; log axis: exponents).
  std::vector<double> xticks, yticks;
  const double xstep = NiceStep((xmax - xmin) / 6);
  for (double t = std::ceil(xmin / xstep - 1e-9) * xstep; t <= xmax + 1e-9 * xstep; t += xstep) {
    xticks.push_back(std::abs(t) < 1e-12 * xstep ? 0.0 : t);
  }
  if (plot.log_y) {
    ymin = std::floor(ymin);
    ymax = std::ceil(ymax);
    if (ymax == ymin) ymax += 1;
    const int stride = std::max(1, static_cast<int>(std::ceil((ymax - ymin) / 8)));
    for (double k = ymin; k <= ymax; k += 1) {
      if (static_cast<long long>(k) % stride == 0) yticks.push_back(k);
      // Few decades: 2 and 5 times each power of ten as well.
      if (ymax - ymin <= 2 && k < ymax) {
        yticks.push_back(k + std::log10(2.0));
        yticks.push_back(k + std::log10(5.0));
      }
    }
  } else {
    const double ystep = NiceStep((ymax - ymin) / 6);
    ymin = std::floor(ymin / ystep) * ystep;
    ymax = std::ceil(ymax / ystep) * ystep;
    for (double t = ymin; t <= ymax + 1e-9 * ystep; t += ystep) {
      yticks.push_back(std::abs(t) < 1e-12 * ystep ? 0.0 : t);
    }
  }
  auto px = [&](double x) { return kLeft + (x - xmin) / (xmax - xmin) * (kRight - kLeft); };
  auto py = [&](double y) { return kBottom - (y - ymin) / (ymax - ymin) * (kBottom - kTop); };

  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kWidth << "\" height=\"" << kHeight
      << "\" viewBox=\"0 0 " << kWidth << " " << kHeight
      << "\" font-family=\"sans-serif\" font-size=\"11\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << Px(kWidth / 2) << "\" y=\"20\" text-anchor=\"middle\" font-size=\"13\">"
      << XmlEscape(plot.title) << "</text>\n";
  // Grid and tick labels.
  svg << "<g stroke=\"#ddd\" stroke-width=\"1\">\n";
  for (double t : xticks) {
    svg << "<line x1=\"" << Px(px(t)) << "\" y1=\"" << Px(kTop) << "\" x2=\"" << Px(px(t))
        << "\" y2=\"" << Px(kBottom) << "\"/>\n";
  }
  for (double t : yticks) {
    svg << "<line x1=\"" << Px(kLeft) << "\" y1=\"" << Px(py(t)) << "\" x2=\"" << Px(kRight)
        << "\" y2=\"" << Px(py(t)) << "\"/>\n";
  }
  svg << "</g>\n<g fill=\"#333\">\n";
  for (double t : xticks) {
    svg << "<text x=\"" << Px(px(t)) << "\" y=\"" << Px(kBottom + 15)
        << "\" text-anchor=\"middle\">" << FormatNumber(t, 4) << "</text>\n";
  }
  for (double t : yticks) {
    // Log axis: plain numbers from 0.001 to 1000, powers of ten as 1eK beyond.
    std::string label = FormatNumber(plot.log_y ? std::pow(10.0, t) : t, 4);
    if (plot.log_y && (t < -3 || t > 3)) {
      label = t == std::round(t) ? "1e" + std::to_string(static_cast<long long>(std::round(t)))
                                 : FormatNumber(std::pow(10.0, t), 2);
    }
    svg << "<text x=\"" << Px(kLeft - 5) << "\" y=\"" << Px(py(t) + 4) << "\" text-anchor=\"end\">"
        << label << "</text>\n";
  }
  svg << "</g>\n";
  svg << "<rect x=\"" << Px(kLeft) << "\" y=\"" << Px(kTop) << "\" width=\"" << Px(kRight - kLeft)
      << "\" height=\"" << Px(kBottom - kTop) << "\" fill=\"none\" stroke=\"#333\"/>\n";
  svg << "<text x=\"" << Px((kLeft + kRight) / 2) << "\" y=\"" << Px(kBottom + 35)
      << "\" text-anchor=\"middle\">" << XmlEscape(plot.x_label) << "</text>\n";
  svg << "<text transform=\"translate(16," << Px((kTop + kBottom) / 2)
      << ") rotate(-90)\" text-anchor=\"middle\">"
      << XmlEscape(plot.y_label + (plot.log_y ? " (log scale)" : "")) << "</text>\n";
  if (!any) {
    svg << "<text x=\"" << Px((kLeft + kRight) / 2) << "\" y=\"" << Px((kTop + kBottom) / 2)
        << "\" text-anchor=\"middle\">no finite data</text>\n";
  }
  svg << "<clipPath id=\"frame\"><rect x=\"" << Px(kLeft) << "\" y=\"" << Px(kTop) << "\" width=\""
      << Px(kRight - kLeft) << "\" height=\"" << Px(kBottom - kTop) << "\"/></clipPath>\n";
  // Series and legend.
  for (size_t k = 0; k < plot.series.size(); ++k) {
    const Series& s = plot.series[k];
    const char* color = kColors[k % std::size(kColors)];
    std::string points;
    auto flush = [&] {
      if (!points.empty()) {
        svg << "<polyline clip-path=\"url(#frame)\" fill=\"none\" stroke=\"" << color
            << "\" stroke-width=\"1.5\" points=\"" << points << "\"/>\n";
      }
      points.clear();
    };
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!usable(s.x[i], s.y[i])) {
        flush();
        continue;
      }
      const double y = plot.log_y ? std::log10(s.y[i]) : s.y[i];
      if (!points.empty()) points += ' ';
      points += Px(px(s.x[i])) + "," + Px(py(y));
    }
    flush();
    const double ly = kTop + 8 + 16 * static_cast<double>(k);
    svg << "<line x1=\"500\" y1=\"" << Px(ly) << "\" x2=\"520\" y2=\"" << Px(ly) << "\" stroke=\""
        << color << "\" stroke-width=\"2\"/><text x=\"525\" y=\"" << Px(ly + 4) << "\">"
        << XmlEscape(s.name) << "</text>\n";
  }
  svg << "</svg>\n";
  return svg.str();
}

void WriteTextFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw std::runtime_error("cannot write '" + path.string() + "'");
}

}  // namespace fanfill::mlp
