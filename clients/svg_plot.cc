#include "clients/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"

namespace pynq::clients {
namespace {

// Plot area margins, pixels: room for tick labels, axis titles and the title.
constexpr double kLeft = 90;
constexpr double kRight = 30;
constexpr double kTop = 50;
constexpr double kBottom = 60;

std::string Escape(const std::string& text) {
  return absl::StrReplaceAll(text, {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"}});
}

// A tick value as a person writes it: 0.5, 2, 10, 2.5k, 1.2M.
std::string TickLabel(double v) {
  const double a = std::abs(v);
  if (a >= 1e6) return absl::StrFormat("%gM", v / 1e6);
  if (a >= 1e4) return absl::StrFormat("%gk", v / 1e3);
  return absl::StrFormat("%g", v);
}

struct Axis {
  double lo = 0;
  double hi = 1;
  bool log = false;
  // Pixel range.
  double from = 0;
  double to = 1;

  double Map(double v) const {
    const double t = log ? (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo))
                         : (v - lo) / (hi - lo);
    return from + t * (to - from);
  }
};

}  // namespace

std::vector<double> LinearTicks(double lo, double hi, int target) {
  const double raw = (hi - lo) / std::max(1, target);
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  double step = power;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * power;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  const double last = std::ceil(hi / step - 1e-9) * step;
  for (double v = std::floor(lo / step + 1e-9) * step; v <= last + step * 1e-9; v += step) {
    ticks.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  }
  return ticks;
}

std::vector<double> LogTicks(double lo, double hi) {
  const bool dense = std::log10(hi / lo) <= 3;
  std::vector<double> ticks;
  for (int e = static_cast<int>(std::floor(std::log10(lo))); e <= std::ceil(std::log10(hi)); ++e) {
    for (double m : {1.0, 2.0, 5.0}) {
      if (!dense && m != 1.0) continue;
      const double v = m * std::pow(10.0, e);
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) ticks.push_back(v);
    }
  }
  return ticks;
}

std::string RenderSvgPlot(const PlotSpec& plot) {
  const double w = plot.width;
  const double h = plot.height;
  double x_lo = std::numeric_limits<double>::infinity();
  double x_hi = -x_lo;
  double y_hi = 0;
  for (const PlotSeries& s : plot.series) {
    for (const PlotPoint& p : s.points) {
      if (plot.log_x && p.x <= 0) continue;
      x_lo = std::min(x_lo, p.x);
      x_hi = std::max(x_hi, p.x);
      y_hi = std::max(y_hi, p.y);
    }
  }
  if (!(x_lo < x_hi)) {
    // No points, or all at one x: a range around them.
    const double c = std::isfinite(x_lo) ? x_lo : 1.0;
    x_lo = plot.log_x ? c / 2 : c - 1;
    x_hi = plot.log_x ? c * 2 : c + 1;
  }
  Axis x{.lo = x_lo, .hi = x_hi, .log = plot.log_x, .from = kLeft, .to = w - kRight};
  if (plot.log_x) {
    // Out to the powers of ten around the points, at most a factor of 2 beyond them.
    x.lo = std::max(std::pow(10.0, std::floor(std::log10(x_lo))), x_lo / 2);
    x.hi = std::min(std::pow(10.0, std::ceil(std::log10(x_hi))), x_hi * 2);
  } else {
    const double pad = (x_hi - x_lo) * 0.05;
    x.lo = std::max(0.0, x_lo - pad);
    x.hi = x_hi + pad;
  }
  const std::vector<double> y_ticks = LinearTicks(0, y_hi > 0 ? y_hi * 1.08 : 1, 6);
  Axis y{.lo = 0, .hi = y_ticks.back(), .log = false, .from = h - kBottom, .to = kTop};
  const std::vector<double> x_ticks = plot.log_x ? LogTicks(x.lo, x.hi) : LinearTicks(x.lo, x.hi, 8);

  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
      "viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"13\">\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
      "<text x=\"%g\" y=\"28\" text-anchor=\"middle\" font-size=\"17\" "
      "font-weight=\"bold\">%s</text>\n",
      plot.width, plot.height, plot.width, plot.height, w / 2, Escape(plot.title));
  // Grid and tick labels.
  for (double v : x_ticks) {
    const double px = x.Map(v);
    absl::StrAppendFormat(&svg,
                          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>\n"
                          "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
                          px, y.from, px, y.to, px, y.from + 18, TickLabel(v));
  }
  for (double v : y_ticks) {
    const double py = y.Map(v);
    absl::StrAppendFormat(&svg,
                          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>\n"
                          "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
                          x.from, py, x.to, py, x.from - 8, py + 4, TickLabel(v));
  }
  // Axes and their titles.
  absl::StrAppendFormat(
      &svg,
      "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#333\"/>\n"
      "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n"
      "<text transform=\"translate(22 %.1f) rotate(-90)\" text-anchor=\"middle\">%s</text>\n",
      x.from, y.to, x.to - x.from, y.from - y.to, (x.from + x.to) / 2, h - 15,
      Escape(plot.x_label), (y.from + y.to) / 2, Escape(plot.y_label));
  // Series: a line through the points, a dot and a label at each.
  for (size_t i = 0; i < plot.series.size(); ++i) {
    const PlotSeries& s = plot.series[i];
    std::string path;
    for (const PlotPoint& p : s.points) {
      if (plot.log_x && p.x <= 0) continue;
      absl::StrAppendFormat(&path, "%s%.1f,%.1f", path.empty() ? "" : " ", x.Map(p.x), y.Map(p.y));
    }
    absl::StrAppendFormat(&svg,
                          "<polyline points=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"/>\n",
                          path, s.color);
    for (const PlotPoint& p : s.points) {
      if (plot.log_x && p.x <= 0) continue;
      absl::StrAppendFormat(&svg, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/>\n",
                            x.Map(p.x), y.Map(p.y), s.color);
      if (!p.label.empty()) {
        absl::StrAppendFormat(&svg,
                              "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"%s\">%s</text>\n",
                              x.Map(p.x) + 6, y.Map(p.y) - 6, s.color, Escape(p.label));
      }
    }
    // Legend, top left inside the plot area.
    const double ly = y.to + 20 + 20 * static_cast<double>(i);
    absl::StrAppendFormat(&svg,
                          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                          "stroke-width=\"3\"/>\n<text x=\"%.1f\" y=\"%.1f\">%s</text>\n",
                          x.from + 12, ly, x.from + 40, ly, s.color, x.from + 46, ly + 4,
                          Escape(s.name));
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace pynq::clients
