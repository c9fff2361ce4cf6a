// Encodes pictures for tests, benchmarks and the pictures test set: PNG in every colour type, bit
// depth and interlacing libpng writes, and JPEG (gray, colour, CMYK; baseline or progressive), so
// the decoders in preprocess/ are checked against what real encoders produce.
//
//   Rgba picture(64, 48, {255, 255, 255, 255});     // white
//   picture.at(3, 4) = {0, 0, 0, 255};
//   absl::StatusOr<std::string> png = EncodePng(picture, {.colour = PngColour::kPalette, .bit_depth = 4});
//   absl::StatusOr<std::string> jpeg = EncodeJpeg(picture, {.quality = 80, .progressive = true});
//
// Pure functions; safe from any thread.
#ifndef PYNQ_TESTS_SUPPORT_PICTURE_WRITER_H_
#define PYNQ_TESTS_SUPPORT_PICTURE_WRITER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace pynq::testing {

using Pixel = std::array<uint8_t, 4>;  // R, G, B, A

// 8-bit RGBA, row-major.
struct Rgba {
  uint32_t width = 0;
  uint32_t height = 0;
  std::vector<Pixel> pixels;

  Rgba() = default;
  Rgba(uint32_t w, uint32_t h, Pixel fill) : width(w), height(h), pixels(size_t{w} * h, fill) {}
  Pixel& at(uint32_t x, uint32_t y) { return pixels[size_t{y} * width + x]; }
  const Pixel& at(uint32_t x, uint32_t y) const { return pixels[size_t{y} * width + x]; }
};

enum class PngColour { kGray, kGrayAlpha, kRgb, kRgba, kPalette };

struct PngOptions {
  PngColour colour = PngColour::kGray;
  // 1, 2, 4, 8 or 16 as the colour type allows (gray: all; palette: up to 8; others: 8, 16).
  // Samples are the 8-bit values scaled to the depth (rounded).
  int bit_depth = 8;
  bool interlaced = false;
  // kGray, kRgb: mark this colour transparent with a tRNS chunk (palette: colours with alpha < 255
  // always get tRNS entries).
  bool transparent_black = false;
};

// kInvalidArgument for a depth the colour type cannot have, or a palette of more colours than the
// depth holds. Gray colour types take the R channel.
absl::StatusOr<std::string> EncodePng(const Rgba& picture, const PngOptions& options);

enum class JpegColour { kGray, kYCbCr, kCmyk };

struct JpegOptions {
  JpegColour colour = JpegColour::kYCbCr;
  int quality = 90;
  bool progressive = false;
};

// kCmyk writes Adobe-style inverted CMYK, as Photoshop does. Gray takes the R channel.
absl::StatusOr<std::string> EncodeJpeg(const Rgba& picture, const JpegOptions& options);

}  // namespace pynq::testing

#endif  // PYNQ_TESTS_SUPPORT_PICTURE_WRITER_H_
