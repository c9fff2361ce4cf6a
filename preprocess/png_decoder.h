// Decodes a PNG picture (any bit depth 1..16, gray, gray+alpha, RGB, RGBA or palette, with or
// without tRNS transparency, interlaced or not) into an 8-bit gray image with Debian's libpng.
//
//   absl::StatusOr<GrayImage> image = DecodePng(bytes, DecodeLimits{});
//   if (!image.ok()) return image.status();   // kInvalidArgument: "truncated PNG: ..."
//
// Colour becomes gray as gray_image.h says (BT.601 luma; alpha composited over white); 16-bit
// samples are scaled to 8 bits with rounding. The size is checked against `limits` right after
// the header, before any pixel memory is allocated. Errors are kInvalidArgument with libpng's
// reason: "truncated PNG ...", "invalid PNG: ...", or the limit exceeded with the figures; and
// kResourceExhausted if libpng cannot allocate its reader.
//
// Reentrant: no state outside the call; safe from any thread. libpng reports errors by longjmp;
// every setjmp in the implementation sits in a function with only trivially destructible locals,
// and no C++ exception can pass through libpng (the callbacks cannot throw).
#ifndef PYNQ_PREPROCESS_PNG_DECODER_H_
#define PYNQ_PREPROCESS_PNG_DECODER_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "preprocess/gray_image.h"

namespace pynq::preprocess {

// True when `bytes` starts with the 8-byte PNG signature.
bool LooksLikePng(absl::Span<const uint8_t> bytes);

absl::StatusOr<GrayImage> DecodePng(absl::Span<const uint8_t> bytes, const DecodeLimits& limits);

}  // namespace pynq::preprocess

#endif  // PYNQ_PREPROCESS_PNG_DECODER_H_
