// A layer's weights and parameters, rearranged once, when a model is loaded, into the layout a
// kernel set reads (kernel_set.h): binarized rows as a BitMatrix, int8 weights as an Int8Matrix,
// requantization parameters as a RequantTable.
//
//   const BitMatrix bits = PackBitMatrix(model.BitRows(layer), 64, 13, set.bnn_row_block);
//   const Int8Matrix w = PackInt8Matrix(model.Int8Weights(layer), 128, 784, {}, set.int8_layout);
//   const RequantTable t = MakeRequantTable(model.RequantParams(layer), engine::kReluLo);
//
// Padding rows and columns are 0 (bits and weights alike), so they add nothing to any dot
// product. Immutable after construction; safe to share between threads.
#ifndef PYNQ_ACCEL_CPU_PACKED_WEIGHTS_H_
#define PYNQ_ACCEL_CPU_PACKED_WEIGHTS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "accel/model/model.h"

namespace pynq::accel::cpu {

// Binarized weight rows, in blocks of `row_block` rows interleaved word by word: word k of the
// block's rows r0..r0+row_block-1 lie side by side, so one vector load gives the same word of
// several rows (row_block 1 is the model file's row-major layout).
struct BitMatrix {
  size_t rows = 0;
  size_t words = 0;        // Per row.
  size_t padded_rows = 0;  // rows rounded up to row_block.
  size_t row_block = 1;
  std::vector<uint64_t> data;

  uint64_t at(size_t r, size_t k) const {
    return data[((r / row_block) * words + k) * row_block + r % row_block];
  }
};

BitMatrix PackBitMatrix(absl::Span<const uint64_t> rows, size_t n_rows, size_t words,
                        size_t row_block);

// How a kernel set's int8 GEMM wants its weights. The rows (output channels) are cut into
// blocks of `row_block` rows, the columns (inputs) into groups of `k_group`; block by block,
// group by group, each of the block's rows gives its k_group consecutive weights. row_block 8,
// k_group 4 puts 8 rows x 4 inputs in 32 bytes, what one AVX2 vpmaddubsw multiplies with a
// broadcast 4-byte group of an image; row_block 1 is plain row-major.
struct Int8Layout {
  size_t row_block = 1;
  size_t k_group = 1;
  // Columns are padded to a multiple of this (itself a multiple of k_group); activations the
  // GEMM reads have rows at least that long.
  size_t col_align = 1;
};

struct Int8Matrix {
  size_t rows = 0;         // Output channels.
  size_t cols = 0;         // Inputs per output channel.
  size_t padded_rows = 0;  // rows rounded up to the layout's row_block.
  size_t padded_cols = 0;  // cols rounded up to the layout's col_align.
  Int8Layout layout;
  std::vector<int8_t> data;       // padded_rows * padded_cols bytes in the layout above.
  std::vector<int32_t> row_sums;  // sum over k of w(r, k), for each padded row.

  int8_t at(size_t r, size_t k) const {
    const size_t groups = padded_cols / layout.k_group;
    return data[(((r / layout.row_block) * groups + k / layout.k_group) * layout.row_block +
                 r % layout.row_block) *
                    layout.k_group +
                k % layout.k_group];
  }
};

// Packs `weights` ([rows][cols] row-major, as in the model file) in `layout`. Column k of the
// packed matrix is column column_source[k] of `weights` (empty: the identity), which is how the
// backend reorders a convolution's taps and a dense layer's inputs to the channel-last order its
// activations are kept in.
Int8Matrix PackInt8Matrix(absl::Span<const int8_t> weights, size_t rows, size_t cols,
                          absl::Span<const uint32_t> column_source, const Int8Layout& layout);

// Per output channel, what engine::Requantize() needs, padded to a multiple of kRequantLanes
// channels with channels that requantize everything to 0.
inline constexpr size_t kRequantLanes = 16;
struct RequantTable {
  size_t channels = 0;
  size_t padded_channels = 0;
  int32_t lo = 0;                   // engine::kReluLo or engine::kNoReluLo.
  std::vector<int32_t> bias;        // Added to the accumulator before requantizing.
  std::vector<int32_t> multiplier;  // M.
  std::vector<int32_t> shift;       // n.
  std::vector<int64_t> rounding;    // 2^(n-1), or 0 for n = 0: RoundShift()'s rounding term.
  // True when every shift is 33 or more, as trained models' are (M near 2^30, n near 40). Then
  //   RoundShift(P, n) == (hi32(P) + high_rounding) >> high_shift      (int32 arithmetic)
  // with hi32(P) = floor(P / 2^32), high_rounding = 2^(n-33), high_shift = n - 32: the rounding
  // term has no bits in P's low word, so the low word cannot carry into the result. This lets a
  // SIMD set without 64-bit arithmetic shifts (AVX2) stay in 32-bit lanes.
  bool all_shifts_high = false;
  std::vector<int32_t> high_rounding;
  std::vector<int32_t> high_shift;
};

RequantTable MakeRequantTable(const Model::Requantization& params, int32_t lo);

}  // namespace pynq::accel::cpu

#endif  // PYNQ_ACCEL_CPU_PACKED_WEIGHTS_H_
