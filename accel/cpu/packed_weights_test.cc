#include "accel/cpu/packed_weights.h"

#include <cstdint>
#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pynq::accel::cpu {
namespace {

TEST(PackedWeightsTest, Int8MatrixHoldsEveryWeightWhereAtSaysAndZerosElsewhere) {
  std::mt19937 rng(5);
  const size_t rows = 11, cols = 7;
  std::vector<int8_t> w(rows * cols);
  for (int8_t& v : w) v = static_cast<int8_t>(rng());
  const std::vector<uint32_t> reversed = {6, 5, 4, 3, 2, 1, 0};
  for (const Int8Layout layout : {Int8Layout{1, 1, 1}, Int8Layout{1, 1, 16}, Int8Layout{8, 4, 4},
                                  Int8Layout{16, 4, 4}, Int8Layout{4, 4, 16}}) {
    for (const bool reorder : {false, true}) {
      const Int8Matrix m = PackInt8Matrix(
          w, rows, cols, reorder ? absl::MakeConstSpan(reversed) : absl::Span<const uint32_t>(),
          layout);
      ASSERT_EQ(m.padded_rows % layout.row_block, 0u);
      ASSERT_EQ(m.padded_cols % layout.col_align, 0u);
      ASSERT_EQ(m.data.size(), m.padded_rows * m.padded_cols);
      int64_t nonzero_padding = 0;
      for (size_t r = 0; r < m.padded_rows; ++r) {
        int32_t sum = 0;
        for (size_t k = 0; k < m.padded_cols; ++k) {
          const int8_t expected =
              r < rows && k < cols ? w[r * cols + (reorder ? reversed[k] : k)] : int8_t{0};
          ASSERT_EQ(m.at(r, k), expected) << "row " << r << " col " << k;
          sum += expected;
          nonzero_padding += (r >= rows || k >= cols) && m.at(r, k) != 0;
        }
        EXPECT_EQ(m.row_sums[r], sum);
      }
      EXPECT_EQ(nonzero_padding, 0);
    }
  }
  // The AVX2 layout: the first 32 bytes are rows 0..7, inputs 0..3.
  const Int8Matrix avx2 = PackInt8Matrix(w, rows, cols, {}, {8, 4, 4});
  EXPECT_EQ(avx2.data[1 * 4 + 2], w[1 * cols + 2]);
  EXPECT_EQ(avx2.data[32 + 0], w[0 * cols + 4]);
}

TEST(PackedWeightsTest, BitMatrixInterleavesRowsWordByWord) {
  const std::vector<uint64_t> rows = {1, 2, 3, 4, 5, 6};  // 3 rows of 2 words
  const BitMatrix m = PackBitMatrix(rows, 3, 2, 4);
  EXPECT_EQ(m.padded_rows, 4u);
  // Word 0 of rows 0..3, then word 1 of rows 0..3 (row 3 is padding).
  EXPECT_THAT(m.data, ::testing::ElementsAre(1, 3, 5, 0, 2, 4, 6, 0));
  EXPECT_EQ(m.at(2, 1), 6u);
  EXPECT_THAT(PackBitMatrix(rows, 3, 2, 1).data, ::testing::ElementsAreArray(rows));
}

TEST(PackedWeightsTest, RequantTableSplitsTheShiftForTheHighWordPath) {
  const std::vector<int32_t> bias = {5, -7}, multiplier = {3, 1 << 30}, shift = {33, 62};
  const RequantTable t =
      MakeRequantTable({.bias = bias, .multiplier = multiplier, .shift = shift}, -128);
  EXPECT_EQ(t.channels, 2u);
  EXPECT_EQ(t.padded_channels, kRequantLanes);
  EXPECT_TRUE(t.all_shifts_high);
  EXPECT_THAT(std::vector<int32_t>(t.high_rounding.begin(), t.high_rounding.begin() + 2),
              ::testing::ElementsAre(1, 1 << 29));
  EXPECT_THAT(std::vector<int32_t>(t.high_shift.begin(), t.high_shift.begin() + 2),
              ::testing::ElementsAre(1, 30));
  EXPECT_EQ(t.rounding[1], int64_t{1} << 61);
  EXPECT_EQ(t.multiplier[5], 0);  // Padding channels requantize to 0.

  const std::vector<int32_t> low_shift = {0, 40};
  const RequantTable mixed =
      MakeRequantTable({.bias = bias, .multiplier = multiplier, .shift = low_shift}, 0);
  EXPECT_FALSE(mixed.all_shifts_high);
  EXPECT_EQ(mixed.rounding[0], 0);
  EXPECT_EQ(mixed.lo, 0);
}

}  // namespace
}  // namespace pynq::accel::cpu
