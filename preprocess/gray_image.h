// What the picture decoders produce and the limits they keep: an 8-bit gray image, and the most
// pixels and bytes one decode may take.
//
//   absl::StatusOr<GrayImage> image = DecodePng(bytes, DecodeLimits{});
//   uint8_t corner = image->at(0, 0);   // 0 is black, 255 white
//
// Plain value types; safe to copy and to share read-only between threads.
#ifndef PYNQ_PREPROCESS_GRAY_IMAGE_H_
#define PYNQ_PREPROCESS_GRAY_IMAGE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace pynq::preprocess {

// Row-major 8-bit gray pixels, 0 = black. Invariant: pixels.size() == width * height.
struct GrayImage {
  uint32_t width = 0;
  uint32_t height = 0;
  std::vector<uint8_t> pixels;

  uint8_t at(uint32_t x, uint32_t y) const { return pixels[size_t{y} * width + x]; }
};

// Bounds on one decode, checked from the picture's header before anything of its size is
// allocated. A picture over either is refused (kInvalidArgument naming the figures).
struct DecodeLimits {
  // Pixels the picture may declare (width x height, at full size).
  uint64_t max_pixels = uint64_t{1} << 24;  // 16.8 Mpx, e.g. 4096 x 4096 or 4000 x 3000
  // Bytes the decoder may allocate for pixels: its output and the buffers the format needs
  // (a whole interlaced PNG at up to 4 bytes per pixel, a progressive JPEG's coefficients).
  uint64_t max_decoded_bytes = uint64_t{64} << 20;
};

// How the colour types become gray, shared by the decoders so every format agrees: luma with
// ITU-R BT.601 weights (what a JPEG stores as Y), alpha composited over white.
inline uint8_t LumaOf(uint32_t r, uint32_t g, uint32_t b) {
  return static_cast<uint8_t>((299 * r + 587 * g + 114 * b + 500) / 1000);
}
inline uint8_t OverWhite(uint32_t gray, uint32_t alpha) {
  return static_cast<uint8_t>((gray * alpha + 255 * (255 - alpha) + 127) / 255);
}

}  // namespace pynq::preprocess

#endif  // PYNQ_PREPROCESS_GRAY_IMAGE_H_
