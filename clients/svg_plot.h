// A small SVG line-plot writer for `pynq-infer bench`'s throughput-vs-latency chart: one or more
// series of labelled points, linear or logarithmic axes with round tick values, a legend.
//
//   PlotSpec plot{.title = "mnist-bnn-tfc, unary", .x_label = "latency (ms)",
//                 .y_label = "images/s", .log_x = true};
//   plot.series.push_back({.name = "p99", .color = "#d62728", .points = {{0.4, 9000, "c=1"}}});
//   std::string svg = RenderSvgPlot(plot);
//
// Pure functions; thread-safe.
#ifndef PYNQ_CLIENTS_SVG_PLOT_H_
#define PYNQ_CLIENTS_SVG_PLOT_H_

#include <string>
#include <vector>

namespace pynq::clients {

struct PlotPoint {
  double x = 0;
  double y = 0;
  // Drawn beside the point; may be empty.
  std::string label;
};

struct PlotSeries {
  std::string name;
  // Any SVG color, e.g. "#1f77b4".
  std::string color;
  // Joined in the given order.
  std::vector<PlotPoint> points;
};

struct PlotSpec {
  std::string title;
  std::string x_label;
  std::string y_label;
  // A logarithmic x axis (points with x <= 0 are left out).
  bool log_x = false;
  int width = 900;
  int height = 560;
  std::vector<PlotSeries> series;
};

// The plot as a standalone SVG document. Axes span the points (y from 0); a plot without points
// has empty axes.
std::string RenderSvgPlot(const PlotSpec& plot);

// Round tick values on a linear axis, from the last at or below `lo` to the first at or above
// `hi`: about `target` steps of 1, 2 or 5 times a power of ten. Requires lo < hi.
std::vector<double> LinearTicks(double lo, double hi, int target);

// Tick values for a logarithmic axis over [lo, hi] (0 < lo < hi): 1, 2 and 5 times each power of
// ten inside the range, or only the powers of ten when the range spans more than 3 decades.
std::vector<double> LogTicks(double lo, double hi);

}  // namespace pynq::clients

#endif  // PYNQ_CLIENTS_SVG_PLOT_H_
