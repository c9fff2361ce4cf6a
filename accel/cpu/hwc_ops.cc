#include "accel/cpu/hwc_ops.h"

#include <algorithm>
#include <cstring>

namespace pynq::accel::cpu {

namespace {

// Im2col() copying each kernel row in whole kChunk-byte pieces (see kIm2colOvershoot).
template <size_t kChunk>
void Im2colChunks(const int8_t* in, const ConvShape& shape, int8_t* patches, size_t taps_stride) {
  const size_t ow = shape.out_w();
  const size_t row = shape.k * shape.c;        // Contiguous taps per kernel row.
  const size_t in_row = shape.w * shape.c;     // Bytes per input row.
  for (size_t y = 0; y < shape.out_h(); ++y) {
    for (size_t x = 0; x < ow; ++x) {
      int8_t* dst = patches + (y * ow + x) * taps_stride;
      const int8_t* src = in + (y * shape.w + x) * shape.c;
      for (size_t ky = 0; ky < shape.k; ++ky, dst += row, src += in_row) {
        // The last piece runs past `row`: what it writes there is overwritten by the next
        // kernel row or the next patch (both written later), or lands in the padding or the
        // slack the caller keeps.
        for (size_t i = 0; i < row; i += kChunk) std::memcpy(dst + i, src + i, kChunk);
      }
    }
  }
}

}  // namespace

void Im2col(const int8_t* in, const ConvShape& shape, int8_t* patches, size_t taps_stride) {
  if (shape.k * shape.c <= 8) {
    Im2colChunks<8>(in, shape, patches, taps_stride);
  } else {
    Im2colChunks<16>(in, shape, patches, taps_stride);
  }
}

std::vector<uint32_t> ConvTapSource(const ConvShape& shape) {
  std::vector<uint32_t> source(shape.taps());
  for (size_t ky = 0; ky < shape.k; ++ky) {
    for (size_t kx = 0; kx < shape.k; ++kx) {
      for (size_t c = 0; c < shape.c; ++c) {
        source[(ky * shape.k + kx) * shape.c + c] =
            static_cast<uint32_t>((c * shape.k + ky) * shape.k + kx);
      }
    }
  }
  return source;
}

std::vector<uint32_t> HwcSource(size_t c, size_t h, size_t w) {
  if (c == 1 || h * w == 1) return {};
  std::vector<uint32_t> source(c * h * w);
  for (size_t y = 0; y < h; ++y) {
    for (size_t x = 0; x < w; ++x) {
      for (size_t ch = 0; ch < c; ++ch) {
        source[(y * w + x) * c + ch] = static_cast<uint32_t>((ch * h + y) * w + x);
      }
    }
  }
  return source;
}

void MaxPoolHwc(const int8_t* in, size_t c, size_t h, size_t w, size_t p, int8_t* out) {
  const size_t row = w * c;
  const size_t ow = w / p;
  // Values, not std::max's references, in every loop below: an unconditional store, which the
  // compiler vectorizes.
  int8_t column_max[kMaxPoolRow];
  int8_t window_max[kMaxPoolRow + kMaxPoolOvershoot];  // + the last copy's overread
  for (size_t oy = 0; oy < h / p; ++oy) {
    // The maximum down each window's P rows; then across P columns, at every position
    // (contiguous, shifted by c bytes per column); then window (ox)'s c maxima, which start at
    // byte ox * p * c, copied out side by side.
    const int8_t* first = in + oy * p * row;
    std::copy(first, first + row, column_max);
    for (size_t dy = 1; dy < p; ++dy) {
      const int8_t* r = first + dy * row;
      for (size_t i = 0; i < row; ++i) {
        const int8_t a = column_max[i];
        const int8_t b = r[i];
        column_max[i] = a > b ? a : b;
      }
    }
    const size_t span = row - (p - 1) * c;
    std::copy(column_max, column_max + span, window_max);
    for (size_t dx = 1; dx < p; ++dx) {
      for (size_t i = 0; i < span; ++i) {
        const int8_t a = window_max[i];
        const int8_t b = column_max[i + dx * c];
        window_max[i] = a > b ? a : b;
      }
    }
    int8_t* o = out + oy * ow * c;
    for (size_t ox = 0; ox < ow; ++ox) {
      // Whole 8-byte pieces; what the last one writes past this window's c bytes is the next
      // window's (written next) or, after the last, slack the caller keeps (kMaxPoolOvershoot).
      for (size_t i = 0; i < c; i += 8) std::memcpy(o + ox * c + i, window_max + ox * p * c + i, 8);
    }
  }
}

}  // namespace pynq::accel::cpu
