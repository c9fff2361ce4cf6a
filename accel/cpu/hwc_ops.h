// The data-movement steps of the int8 layers, common to every kernel set, on activations kept
// channel-last (HWC: element (c, y, x) of a C x H x W tensor at (y * W + x) * C + c), which makes
// a convolution's patch rows K * C contiguous bytes:
//
//   Im2col(in, shape, patches, taps_stride);    // one row of K*K*C taps per output pixel
//   MaxPoolHwc(in, c, h, w, p, out);
//
// Pure functions on caller-owned memory; safe from any thread.
#ifndef PYNQ_ACCEL_CPU_HWC_OPS_H_
#define PYNQ_ACCEL_CPU_HWC_OPS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "overlays/nn_engine/abi/limits.h"

namespace pynq::accel::cpu {

// A valid, stride-1 K x K convolution of a C x H x W input.
struct ConvShape {
  size_t c, h, w;  // Input.
  size_t k;        // Kernel side.

  size_t out_h() const { return h - k + 1; }
  size_t out_w() const { return w - k + 1; }
  size_t out_pixels() const { return out_h() * out_w(); }
  size_t taps() const { return k * k * c; }
};

// Bytes Im2col() may read past the end of `in` and write past the last patch's taps.
inline constexpr size_t kIm2colOvershoot = 16;

// Row p = y * out_w + x of `patches` (taps_stride >= taps() bytes apart) receives the taps of
// output pixel (y, x) in (ky, kx, c) order: in[((y + ky) * W + x + kx) * C + c]. The bytes from
// taps() to taps_stride of each row are left with unspecified values.
void Im2col(const int8_t* in, const ConvShape& shape, int8_t* patches, size_t taps_stride);

// Column order of Im2col()'s taps in the model's [C][K][K] kernel layout: packed tap
// (ky * K + kx) * C + c is model tap (c * K + ky) * K + kx.
std::vector<uint32_t> ConvTapSource(const ConvShape& shape);

// Column order of an HWC-flattened C x H x W tensor in the model's CHW flattening: element
// (y * W + x) * C + c is model element (c * H + y) * W + x. Empty when the two agree (C = 1, or
// H = W = 1).
std::vector<uint32_t> HwcSource(size_t c, size_t h, size_t w);

// Largest input row MaxPoolHwc() takes, in bytes (W * C): a row of the largest tensor.
inline constexpr size_t kMaxPoolRow = engine::kMaxFeatures;
// Bytes MaxPoolHwc() may write past the end of `out`.
inline constexpr size_t kMaxPoolOvershoot = 8;

// out (C x H/P x W/P, HWC) = the maximum of each P x P window of in (C x H x W, HWC);
// W * C <= kMaxPoolRow. Uses about 2 * kMaxPoolRow bytes of stack.
void MaxPoolHwc(const int8_t* in, size_t c, size_t h, size_t w, size_t p, int8_t* out);

}  // namespace pynq::accel::cpu

#endif  // PYNQ_ACCEL_CPU_HWC_OPS_H_
