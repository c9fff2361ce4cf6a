// Recognises an encoded picture by its content (PNG, JPEG or PGM signature; never by a name) and
// decodes it to 8-bit gray with the matching decoder.
//
//   absl::StatusOr<DecodedPicture> picture = DecodePicture(bytes, {.min_long_side = 1024});
//   if (!picture.ok()) return picture.status();   // kInvalidArgument naming the problem
//   picture->format;   // "PNG"
//
// Errors: kInvalidArgument for no bytes, bytes that are no PNG, JPEG or PGM (with their first
// bytes), and whatever the format's decoder reports. Reentrant; safe from any thread.
#ifndef PYNQ_PREPROCESS_PICTURE_DECODER_H_
#define PYNQ_PREPROCESS_PICTURE_DECODER_H_

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "preprocess/gray_image.h"

namespace pynq::preprocess {

struct DecodeOptions {
  DecodeLimits limits;
  // A JPEG may be decoded reduced, as long as its longer side stays at least this (see
  // DecodeJpeg()); 0 decodes every picture at full size.
  uint32_t min_long_side = 0;
};

struct DecodedPicture {
  std::string_view format;  // "PNG", "JPEG" or "PGM"
  GrayImage image;
};

absl::StatusOr<DecodedPicture> DecodePicture(absl::Span<const uint8_t> bytes,
                                             const DecodeOptions& options);

}  // namespace pynq::preprocess

#endif  // PYNQ_PREPROCESS_PICTURE_DECODER_H_
