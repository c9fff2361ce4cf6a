// The "portable" kernel set: plain C++ for any CPU, and the reference every other set is tested
// against. Still blocked like the others (several rows x several images per pass, independent
// accumulators), so that a core without a SIMD set is not left with a needlessly slow one.
#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>

#include "accel/cpu/kernel_set.h"
#include "accel/model/model_format.h"
#include "overlays/nn_engine/abi/arith.h"

namespace pynq::accel::cpu {
namespace {

void Binarize(const uint8_t* pixels, size_t n, uint8_t threshold, uint64_t* out) {
  for (size_t w = 0; w < engine::WordsForBits(n); ++w) {
    const size_t bits = std::min<size_t>(engine::kBitsPerWord, n - w * engine::kBitsPerWord);
    const uint8_t* p = pixels + w * engine::kBitsPerWord;
    uint64_t word = 0;
    for (size_t b = 0; b < bits; ++b) word |= uint64_t{p[b] >= threshold} << b;
    out[w] = word;
  }
}

// Row-major rows (bnn_row_block 1), two rows x two images per pass: each row word is loaded
// once for both images and each image word once for both rows, and the four sums are
// independent.
void XorPopcount(const BitMatrix& w, const uint64_t* x, size_t images, int32_t* out,
                 size_t out_stride) {
  const size_t words = w.words;
  for (size_t b = 0; b < images; b += 2) {
    const uint64_t* x0 = x + b * words;
    const uint64_t* x1 = b + 1 < images ? x0 + words : x0;
    for (size_t r = 0; r < w.padded_rows; r += 2) {
      const uint64_t* w0 = w.data.data() + r * words;
      const uint64_t* w1 = r + 1 < w.padded_rows ? w0 + words : w0;
      int32_t s00 = 0, s01 = 0, s10 = 0, s11 = 0;
      for (size_t k = 0; k < words; ++k) {
        s00 += std::popcount(w0[k] ^ x0[k]);
        s01 += std::popcount(w0[k] ^ x1[k]);
        s10 += std::popcount(w1[k] ^ x0[k]);
        s11 += std::popcount(w1[k] ^ x1[k]);
      }
      out[b * out_stride + r] = s00;
      if (r + 1 < w.padded_rows) out[b * out_stride + r + 1] = s10;
      if (b + 1 < images) {
        out[(b + 1) * out_stride + r] = s01;
        if (r + 1 < w.padded_rows) out[(b + 1) * out_stride + r + 1] = s11;
      }
    }
  }
}

void SignBits(const int32_t* differing, const int32_t* max_differing, size_t n, uint64_t* out) {
  for (size_t w = 0; w < engine::WordsForBits(n); ++w) {
    uint64_t word = 0;
    for (size_t b = 0; b < engine::kBitsPerWord; ++b) {
      const size_t r = w * engine::kBitsPerWord + b;
      word |= uint64_t{differing[r] <= max_differing[r]} << b;
    }
    out[w] = word;
  }
}

// Row-major weights (row_block 1): four rows x two images per pass.
void Int8Gemm(const Int8Matrix& w, const int8_t* x, size_t x_stride, size_t images,
              bool /*nonnegative*/, int32_t* out, size_t out_stride) {
  const size_t k_end = w.cols;
  const size_t ld = w.padded_cols;
  for (size_t b = 0; b < images; b += 2) {
    const int8_t* x0 = x + b * x_stride;
    const int8_t* x1 = b + 1 < images ? x0 + x_stride : x0;
    for (size_t r = 0; r < w.padded_rows; r += 4) {
      const size_t n = std::min<size_t>(4, w.padded_rows - r);
      int32_t acc[4][2] = {};
      for (size_t i = 0; i < n; ++i) {
        const int8_t* row = w.data.data() + (r + i) * ld;
        int32_t s0 = 0, s1 = 0;
        for (size_t k = 0; k < k_end; ++k) {
          s0 += int32_t{row[k]} * int32_t{x0[k]};
          s1 += int32_t{row[k]} * int32_t{x1[k]};
        }
        acc[i][0] = s0;
        acc[i][1] = s1;
      }
      for (size_t i = 0; i < n; ++i) {
        out[b * out_stride + r + i] = acc[i][0];
        if (b + 1 < images) out[(b + 1) * out_stride + r + i] = acc[i][1];
      }
    }
  }
}

void Requantize(const int32_t* acc, size_t acc_stride, size_t count, const RequantTable& t,
                int8_t* out, size_t out_stride) {
  for (size_t b = 0; b < count; ++b) {
    for (size_t c = 0; c < t.channels; ++c) {
      out[b * out_stride + c] = static_cast<int8_t>(
          engine::Requantize(acc[b * acc_stride + c] + t.bias[c], t.multiplier[c],
                             static_cast<uint32_t>(t.shift[c]), t.lo));
    }
  }
}

void QuantizeInput(const uint8_t* pixels, size_t n, int32_t multiplier, int32_t shift,
                   int8_t* out) {
  for (size_t i = 0; i < n; ++i) {
    out[i] = static_cast<int8_t>(
        engine::QuantizePixel(pixels[i], multiplier, static_cast<uint32_t>(shift)));
  }
}

}  // namespace

const KernelSet& PortableKernels() {
  static constexpr KernelSet kSet = {
      .name = "portable",
      .binarize = Binarize,
      .bnn_row_block = 1,
      .xor_popcount = XorPopcount,
      .sign_bits = SignBits,
      .int8_layout = {.row_block = 1, .k_group = 1, .col_align = 1},
      .int8_gemm = Int8Gemm,
      .requantize = Requantize,
      .quantize_input = QuantizeInput,
  };
  return kSet;
}

}  // namespace pynq::accel::cpu
