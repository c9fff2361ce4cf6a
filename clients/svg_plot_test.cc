#include "clients/svg_plot.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pynq::clients {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(SvgPlotTest, LinearTicksAreRoundAndCoverTheRange) {
  EXPECT_THAT(LinearTicks(0, 10, 5), ElementsAre(0, 2, 4, 6, 8, 10));
  EXPECT_THAT(LinearTicks(0, 2400000, 6),
              ElementsAre(0, 500000, 1000000, 1500000, 2000000, 2500000));
  EXPECT_THAT(LinearTicks(3, 14087, 6), ElementsAre(0, 5000, 10000, 15000));
}

TEST(SvgPlotTest, LogTicksUseOneTwoFive) {
  EXPECT_THAT(LogTicks(0.1, 10), ElementsAre(0.1, 0.2, 0.5, 1, 2, 5, 10));
  EXPECT_THAT(LogTicks(0.01, 1000), ElementsAre(0.01, 0.1, 1, 10, 100, 1000));
}

TEST(SvgPlotTest, RendersSeriesLabelsAndEscapesText) {
  PlotSpec plot{.title = "a <b> & c", .x_label = "latency (ms)", .y_label = "images/s",
                .log_x = true};
  plot.series.push_back({.name = "p99", .color = "#d62728",
                         .points = {{0.5, 1000, "c=1"}, {2.0, 4000, "c=8"}}});
  const std::string svg = RenderSvgPlot(plot);
  EXPECT_THAT(svg, HasSubstr("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  EXPECT_THAT(svg, HasSubstr("a &lt;b&gt; &amp; c"));
  EXPECT_THAT(svg, HasSubstr(">c=8</text>"));
  EXPECT_THAT(svg, HasSubstr("<polyline points=\""));
  EXPECT_THAT(svg, HasSubstr(">p99</text>"));
  EXPECT_THAT(svg, HasSubstr(">latency (ms)</text>"));
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
}

}  // namespace
}  // namespace pynq::clients
