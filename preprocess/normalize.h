// Turns a decoded gray picture into a model's input, as the model file's input preprocessing
// declares (accel/model/MODEL_FORMAT.md "Input preprocessing"; preprocess/README.md has every
// rule and threshold): orient to light-on-dark, remove the background, crop to the content, scale
// with area averaging to fit the box, place by centre of mass or in the box's centre, set levels.
//
//   absl::StatusOr<NormalizedInput> input = Normalize(picture, model.preprocessing(),
//                                                     model.input_shape());
//   if (!input.ok()) return input.status();   // kInvalidArgument: "nothing on the picture ..."
//   request.images.push_back(input->pixels);   // 784 bytes for an MNIST model
//
// Errors (kInvalidArgument): the recipe is "none" (the model takes raw tensors only), or the
// picture shows nothing (no content stands out of its background by at least kMinContrast gray
// levels and by more than its noise alone reaches on a picture of its size; README.md step 4).
//
// A pure function of its arguments; safe from any thread. Cost: linear in the picture's pixels
// (it is first reduced to at most kMaxWorkingSide on its longer side), a few passes over it.
#ifndef PYNQ_PREPROCESS_NORMALIZE_H_
#define PYNQ_PREPROCESS_NORMALIZE_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "accel/model/model.h"
#include "preprocess/gray_image.h"

namespace pynq::preprocess {

// Larger pictures are first reduced by an integer factor (area averaging) to at most this on
// their longer side: enough detail for a 20-pixel box, and a bound on the work.
inline constexpr uint32_t kMaxWorkingSide = 1024;
// Content must stand out of the background by at least this many gray levels.
inline constexpr float kMinContrast = 24;

// What normalization found, for logs, tests and people.
struct NormalizeReport {
  // The content was darker than its background, so the picture was inverted.
  bool inverted = false;
  // The content's bounding box, in the picture's pixels: [x0, x1) x [y0, y1).
  uint32_t x0 = 0;
  uint32_t y0 = 0;
  uint32_t x1 = 0;
  uint32_t y1 = 0;
  // The background's noise (robust standard deviation) and the content's ink level above the
  // background, in gray levels.
  float noise = 0;
  float ink = 0;
};

struct NormalizedInput {
  // The model's input: input.c * input.h * input.w uint8 pixels, CHW (here c = 1).
  std::vector<uint8_t> pixels;
  NormalizeReport report;
};

absl::StatusOr<NormalizedInput> Normalize(const GrayImage& picture,
                                          const accel::InputPreprocessing& recipe,
                                          const accel::Shape& input);

}  // namespace pynq::preprocess

#endif  // PYNQ_PREPROCESS_NORMALIZE_H_
