#include "accel/cpu/packed_weights.h"

#include <algorithm>

namespace pynq::accel::cpu {

namespace {

size_t RoundUp(size_t n, size_t multiple) { return (n + multiple - 1) / multiple * multiple; }

}  // namespace

BitMatrix PackBitMatrix(absl::Span<const uint64_t> rows, size_t n_rows, size_t words,
                        size_t row_block) {
  BitMatrix m;
  m.rows = n_rows;
  m.words = words;
  m.row_block = row_block;
  m.padded_rows = RoundUp(n_rows, row_block);
  m.data.assign(m.padded_rows * words, 0);
  for (size_t r = 0; r < n_rows; ++r) {
    for (size_t k = 0; k < words; ++k) {
      m.data[((r / row_block) * words + k) * row_block + r % row_block] = rows[r * words + k];
    }
  }
  return m;
}

Int8Matrix PackInt8Matrix(absl::Span<const int8_t> weights, size_t rows, size_t cols,
                          absl::Span<const uint32_t> column_source, const Int8Layout& layout) {
  Int8Matrix m;
  m.rows = rows;
  m.cols = cols;
  m.layout = layout;
  m.padded_rows = RoundUp(rows, layout.row_block);
  m.padded_cols = RoundUp(cols, layout.col_align);
  m.data.assign(m.padded_rows * m.padded_cols, 0);
  m.row_sums.assign(m.padded_rows, 0);
  const size_t groups = m.padded_cols / layout.k_group;
  for (size_t r = 0; r < rows; ++r) {
    const size_t block = r / layout.row_block;
    for (size_t k = 0; k < cols; ++k) {
      const int8_t w = weights[r * cols + (column_source.empty() ? k : column_source[k])];
      const size_t group = k / layout.k_group;
      m.data[((block * groups + group) * layout.row_block + r % layout.row_block) *
                 layout.k_group +
             k % layout.k_group] = w;
      m.row_sums[r] += w;
    }
  }
  return m;
}

RequantTable MakeRequantTable(const Model::Requantization& params, int32_t lo) {
  RequantTable t;
  t.channels = params.bias.size();
  t.padded_channels = RoundUp(std::max<size_t>(t.channels, 1), kRequantLanes);
  t.lo = lo;
  // Padding channels: M = 0 gives 0 whatever the accumulator, clamped to 0 (lo <= 0 <= 127).
  t.bias.assign(t.padded_channels, 0);
  t.multiplier.assign(t.padded_channels, 0);
  t.shift.assign(t.padded_channels, 0);
  t.rounding.assign(t.padded_channels, 0);
  t.high_rounding.assign(t.padded_channels, 0);
  t.high_shift.assign(t.padded_channels, 1);
  t.all_shifts_high = true;
  for (size_t c = 0; c < t.channels; ++c) {
    const int32_t n = params.shift[c];
    t.bias[c] = params.bias[c];
    t.multiplier[c] = params.multiplier[c];
    t.shift[c] = n;
    t.rounding[c] = n == 0 ? 0 : int64_t{1} << (n - 1);
    if (n >= 33) {
      t.high_rounding[c] = int32_t{1} << (n - 33);
      t.high_shift[c] = n - 32;
    } else {
      t.all_shifts_high = false;
    }
  }
  return t;
}

}  // namespace pynq::accel::cpu
