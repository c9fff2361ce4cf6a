#include "preprocess/picture_decoder.h"

#include <algorithm>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "preprocess/jpeg_decoder.h"
#include "preprocess/pgm_decoder.h"
#include "preprocess/png_decoder.h"

namespace pynq::preprocess {

absl::StatusOr<DecodedPicture> DecodePicture(absl::Span<const uint8_t> bytes,
                                             const DecodeOptions& options) {
  if (bytes.empty()) return absl::InvalidArgumentError("the picture is empty (0 bytes)");
  DecodedPicture picture;
  absl::StatusOr<GrayImage> image;
  if (LooksLikePng(bytes)) {
    picture.format = "PNG";
    image = DecodePng(bytes, options.limits);
  } else if (LooksLikeJpeg(bytes)) {
    picture.format = "JPEG";
    image = DecodeJpeg(bytes, options.limits, options.min_long_side);
  } else if (LooksLikePgm(bytes)) {
    picture.format = "PGM";
    image = DecodePgm(bytes, options.limits);
  } else {
    const std::string start(reinterpret_cast<const char*>(bytes.data()),
                            std::min<size_t>(bytes.size(), 8));
    return absl::InvalidArgumentError(absl::StrFormat(
        "not a PNG, JPEG or PGM picture: its %d bytes start with \"%s\"", bytes.size(),
        absl::CHexEscape(start)));
  }
  if (!image.ok()) return image.status();
  picture.image = *std::move(image);
  return picture;
}

}  // namespace pynq::preprocess
