#include "accel/cpu/hwc_ops.h"

#include <algorithm>
#include <cstring>

namespace pynq::accel::cpu {

void Im2col(const int8_t* in, const ConvShape& shape, int8_t* patches, size_t taps_stride) {
  const size_t ow = shape.out_w();
  const size_t row = shape.k * shape.c;  // Contiguous taps per kernel row.
  for (size_t y = 0; y < shape.out_h(); ++y) {
    for (size_t x = 0; x < ow; ++x) {
      int8_t* patch = patches + (y * ow + x) * taps_stride;
      for (size_t ky = 0; ky < shape.k; ++ky) {
        const int8_t* src = in + ((y + ky) * shape.w + x) * shape.c;
        int8_t* dst = patch + ky * row;
        // Whole 8-byte chunks, the last one running past `row`: what it writes there is
        // overwritten by the next kernel row or the next patch (both written later), or lands in
        // the padding or the slack the caller keeps (kIm2colOvershoot).
        for (size_t i = 0; i < row; i += 8) std::memcpy(dst + i, src + i, 8);
      }
    }
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
  const size_t ow = w / p;
  const size_t out_row = ow * c;
  for (size_t oy = 0; oy < h / p; ++oy) {
    int8_t* o = out + oy * out_row;
    // The first input row of the windows, then the maximum with each further row. Within a row,
    // window (ox) covers the p * c consecutive bytes from ox * p * c.
    for (size_t dy = 0; dy < p; ++dy) {
      const int8_t* r = in + (oy * p + dy) * w * c;
      for (size_t ox = 0; ox < ow; ++ox) {
        for (size_t ch = 0; ch < c; ++ch) {
          int8_t m = r[ox * p * c + ch];
          for (size_t dx = 1; dx < p; ++dx) m = std::max(m, r[(ox * p + dx) * c + ch]);
          o[ox * c + ch] = dy == 0 ? m : std::max(o[ox * c + ch], m);
        }
      }
    }
  }
}

}  // namespace pynq::accel::cpu
