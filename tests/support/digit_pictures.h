// The pictures test set: MNIST digits made to look like pictures people take or draw, to measure
// what preprocessing recovers. Each of the 28x28 digits becomes one picture of 64..256 x 64..256
// pixels: the digit scaled so its bounding box's longer side is 40-90% of MNIST's (20/28 of the
// picture's shorter side, times 0.4..0.9) with bilinear interpolation, shifted anywhere in the
// frame, dark ink on light paper (paper 170..250, ink 10..90), a third with uneven lighting
// (a gradient and a darker edge), a third with Gaussian noise (sigma 3..12), a quarter in
// colour (tinted paper, blue-black ink); written as PNG (even indices; gray, RGB or 16-bit
// gray) or JPEG (odd; quality 60..95, some progressive).
//
//   std::vector<DigitPicture> set = MakeDigitPictures(digits, labels, 13);
//   absl::StatusOr<std::string> photo = MakeDigitPhoto(digit, 1024, 768, 13);
//
// Deterministic: the same digits and seed give the same bytes on every machine (splitmix64, no
// library random numbers; libpng and libjpeg-turbo of the same versions).
#ifndef PYNQ_TESTS_SUPPORT_DIGIT_PICTURES_H_
#define PYNQ_TESTS_SUPPORT_DIGIT_PICTURES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace pynq::testing {

struct DigitPicture {
  std::string bytes;      // the encoded file
  std::string extension;  // "png" or "jpg"
  uint32_t width = 0;
  uint32_t height = 0;
  uint8_t label = 0;
};

// `digits`: count x 784 bytes (28x28, light on dark, as MNIST), `labels`: count bytes.
absl::StatusOr<std::vector<DigitPicture>> MakeDigitPictures(absl::Span<const uint8_t> digits,
                                                            absl::Span<const uint8_t> labels,
                                                            uint64_t seed);

// One photo-like JPEG of `width` x `height`: the 28x28 `digit` drawn dark on uneven, noisy
// paper, its box about 45% of the shorter side, off centre.
absl::StatusOr<std::string> MakeDigitPhoto(absl::Span<const uint8_t> digit, uint32_t width,
                                           uint32_t height, uint64_t seed);

}  // namespace pynq::testing

#endif  // PYNQ_TESTS_SUPPORT_DIGIT_PICTURES_H_
