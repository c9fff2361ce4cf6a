#include "accel/cpu/hwc_ops.h"

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pynq::accel::cpu {
namespace {

using ::testing::ElementsAre;

// in[c][y][x] of a CHW tensor, stored channel-last.
int8_t At(const std::vector<int8_t>& hwc, const ConvShape& s, size_t c, size_t y, size_t x) {
  return hwc[(y * s.w + x) * s.c + c];
}

TEST(HwcOpsTest, Im2colRowsAreEachPixelsTapsInKyKxCOrder) {
  std::mt19937 rng(3);
  for (const ConvShape shape : {ConvShape{.c = 1, .h = 28, .w = 28, .k = 5},
                                ConvShape{.c = 6, .h = 12, .w = 12, .k = 5},
                                ConvShape{.c = 3, .h = 5, .w = 7, .k = 3},
                                ConvShape{.c = 2, .h = 7, .w = 7, .k = 7},
                                ConvShape{.c = 4, .h = 3, .w = 2, .k = 1}}) {
    std::vector<int8_t> in(shape.c * shape.h * shape.w + kIm2colOvershoot);
    for (int8_t& v : in) v = static_cast<int8_t>(rng());
    const size_t stride = shape.taps() + 3;
    std::vector<int8_t> patches(shape.out_pixels() * stride + kIm2colOvershoot);
    Im2col(in.data(), shape, patches.data(), stride);
    for (size_t y = 0; y < shape.out_h(); ++y) {
      for (size_t x = 0; x < shape.out_w(); ++x) {
        for (size_t ky = 0; ky < shape.k; ++ky) {
          for (size_t kx = 0; kx < shape.k; ++kx) {
            for (size_t c = 0; c < shape.c; ++c) {
              ASSERT_EQ(patches[(y * shape.out_w() + x) * stride + (ky * shape.k + kx) * shape.c + c],
                        At(in, shape, c, y + ky, x + kx))
                  << "c=" << shape.c << " k=" << shape.k << " pixel " << y << "," << x;
            }
          }
        }
      }
    }
  }
}

TEST(HwcOpsTest, SourcesMapPackedColumnsToTheModelsLayout) {
  // 2 channels, 2x2 kernel: packed (ky, kx, c) -> model (c, ky, kx).
  EXPECT_THAT(ConvTapSource({.c = 2, .h = 3, .w = 3, .k = 2}),
              ElementsAre(0, 4, 1, 5, 2, 6, 3, 7));
  // 2 channels of 1x3: HWC element (x, c) -> CHW element c * 3 + x.
  EXPECT_THAT(HwcSource(2, 1, 3), ElementsAre(0, 3, 1, 4, 2, 5));
  EXPECT_TRUE(HwcSource(1, 4, 4).empty());
  EXPECT_TRUE(HwcSource(16, 1, 1).empty());
}

TEST(HwcOpsTest, MaxPoolTakesEachWindowsMaximumPerChannel) {
  std::mt19937 rng(4);
  for (const size_t p : {2, 3, 4}) {
    for (const size_t c : {1, 2, 6, 9, 16}) {
      const size_t h = 2 * p, w = 3 * p;
      std::vector<int8_t> in(c * h * w);
      for (int8_t& v : in) v = static_cast<int8_t>(rng());
      in[0] = -128;
      std::vector<int8_t> out(c * 2 * 3 + kMaxPoolOvershoot + 8, 0x5a);
      MaxPoolHwc(in.data(), c, h, w, p, out.data());
      for (size_t i = c * 2 * 3 + kMaxPoolOvershoot; i < out.size(); ++i) {
        ASSERT_EQ(out[i], 0x5a) << "wrote past the allowed overshoot";
      }
      for (size_t oy = 0; oy < 2; ++oy) {
        for (size_t ox = 0; ox < 3; ++ox) {
          for (size_t ch = 0; ch < c; ++ch) {
            int8_t m = -128;
            for (size_t dy = 0; dy < p; ++dy) {
              for (size_t dx = 0; dx < p; ++dx) {
                m = std::max(m, in[((oy * p + dy) * w + ox * p + dx) * c + ch]);
              }
            }
            ASSERT_EQ(out[(oy * 3 + ox) * c + ch], m) << "p=" << p << " c=" << c;
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace pynq::accel::cpu
