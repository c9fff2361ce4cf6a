#include "accel/cpu/int8_kernels.h"

#include <cstdint>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pynq::accel::int8 {
namespace {

using ::testing::ElementsAre;

// RoundShift() and Requantize() themselves are the engine ABI's, tested in
// overlays/nn_engine/abi/abi_test.cc.
constexpr int32_t kMin = engine::kNoReluLo;

TEST(Int8KernelsTest, QuantizeInputSaturatesAt127) {
  const std::vector<uint8_t> pixels = {0, 1, 2, 3, 127, 128, 255};
  std::vector<int16_t> out(pixels.size());
  QuantizeInput(pixels.data(), pixels.size(), 1, 0, out.data());
  EXPECT_THAT(out, ElementsAre(0, 1, 2, 3, 127, 127, 127));
  // q = pixel * 3 / 8: 0, 0.375, 0.75, 1.125, 47.625, 48, 95.625.
  QuantizeInput(pixels.data(), pixels.size(), 3, 3, out.data());
  EXPECT_THAT(out, ElementsAre(0, 0, 1, 1, 48, 48, 96));
  // The largest multiplier and shift: pixel * 2^16 / 2^31 = pixel / 2^15.
  QuantizeInput(pixels.data(), pixels.size(), 1 << 16, 31, out.data());
  EXPECT_THAT(out, ElementsAre(0, 0, 0, 0, 0, 0, 0));
}

TEST(Int8KernelsTest, DenseAndScores) {
  // Two rows over three inputs.
  const std::vector<int16_t> weights = {1, -2, 3, -128, 127, 0};
  const std::vector<int16_t> in = {10, 20, -30};
  const std::vector<int32_t> bias = {5, -1};
  const std::vector<int32_t> multiplier = {1, 1};
  const std::vector<int32_t> shift = {1, 0};
  std::vector<int32_t> scores(2);
  DenseScores(weights.data(), bias.data(), in.data(), 3, 2, scores.data());
  // Row 0: 5 + 10 - 40 - 90 = -115. Row 1: -1 - 1280 + 2540 = 1259.
  EXPECT_THAT(scores, ElementsAre(-115, 1259));
  std::vector<int16_t> out(2);
  Dense(weights.data(), in.data(), 3, 2, {bias.data(), multiplier.data(), shift.data(), kMin},
        out.data());
  EXPECT_THAT(out, ElementsAre(-57, 127));  // -57.5 -> -57; 1259 saturates
  Dense(weights.data(), in.data(), 3, 2, {bias.data(), multiplier.data(), shift.data(), 0},
        out.data());
  EXPECT_THAT(out, ElementsAre(0, 127));
}

TEST(Int8KernelsTest, ConvIsValidAndStrideOne) {
  // One 3x3 input channel, two 2x2 kernels: out is 2 x 2 x 2.
  const std::vector<int16_t> in = {1, 2, 3,
                                   4, 5, 6,
                                   7, 8, -9};
  const ConvShape shape{.c = 1, .h = 3, .w = 3, .oc = 2, .k = 2};
  ASSERT_EQ(shape.taps(), 4u);
  ASSERT_EQ(shape.padded_taps(), 8u);
  ASSERT_EQ(shape.patch_elements(), 4u * 8u);
  // Rows padded to 8 taps: channel 0 is in[y][x] + in[y+1][x+1], channel 1 -in[y][x+1] +
  // 2 in[y+1][x].
  const std::vector<int16_t> weights = {1, 0, 0, 1, 0, 0, 0, 0,
                                        0, -1, 2, 0, 0, 0, 0, 0};
  const std::vector<int32_t> bias = {0, 10};
  const std::vector<int32_t> multiplier = {1, 1};
  const std::vector<int32_t> shift = {0, 0};
  // Stale values in the scratch must not leak into the padding.
  std::vector<int16_t> patches(shape.patch_elements(), 99);
  std::vector<int16_t> out(8);
  Conv(weights.data(), in.data(), shape, {bias.data(), multiplier.data(), shift.data(), kMin},
       patches.data(), out.data());
  EXPECT_THAT(out, ElementsAre(1 + 5, 2 + 6, 4 + 8, 5 - 9,
                               10 - 2 + 8, 10 - 3 + 10, 10 - 5 + 14, 10 - 6 + 16));
  EXPECT_THAT(std::vector<int16_t>(patches.begin() + 8, patches.begin() + 16),
              ElementsAre(2, 3, 5, 6, 0, 0, 0, 0));  // The patch of output pixel (0, 1).
}

TEST(Int8KernelsTest, MaxPoolTakesEachWindowsMaximum) {
  // Two channels of 2 x 4, windows of 2: out is 2 x 1 x 2.
  const std::vector<int16_t> in = {-128, -5, 3, 2,
                                   -7, -6, 1, 9,
                                   0, 0, -1, -2,
                                   0, 1, -3, -4};
  std::vector<int16_t> out(4);
  MaxPool(in.data(), 2, 2, 4, 2, out.data());
  EXPECT_THAT(out, ElementsAre(-5, 9, 1, -1));
}

}  // namespace
}  // namespace pynq::accel::int8
