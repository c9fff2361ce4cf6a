#include "preprocess/prepare.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "preprocess/picture_decoder.h"

namespace pynq::preprocess {

absl::StatusOr<PreparedInput> PreparePicture(absl::Span<const uint8_t> encoded,
                                             const accel::Model& model,
                                             const DecodeLimits& limits) {
  if (model.preprocessing().method == accel::PictureMethod::kNone) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "model %s takes raw images only (its file declares no picture preprocessing): send %d "
        "bytes of uint8 pixels per image in `images`",
        model.name(), model.input_bytes()));
  }
  absl::StatusOr<DecodedPicture> picture =
      DecodePicture(encoded, {.limits = limits, .min_long_side = kMaxWorkingSide});
  if (!picture.ok()) return picture.status();
  absl::StatusOr<NormalizedInput> input =
      Normalize(picture->image, model.preprocessing(), model.input_shape());
  if (!input.ok()) return input.status();
  return PreparedInput{.pixels = std::move(input->pixels),
                       .format = picture->format,
                       .width = picture->image.width,
                       .height = picture->image.height,
                       .report = input->report};
}

}  // namespace pynq::preprocess
