// Decodes a JPEG picture (baseline or progressive; gray, YCbCr, RGB, CMYK or YCCK) into an 8-bit
// gray image with Debian's libjpeg-turbo.
//
//   absl::StatusOr<GrayImage> image = DecodeJpeg(bytes, DecodeLimits{}, /*min_long_side=*/1024);
//   if (!image.ok()) return image.status();   // kInvalidArgument: "truncated JPEG: ..."
//
// Gray is the JPEG's own luma (Y) where it has one, else BT.601 luma of its RGB (CMYK converted
// first, Adobe-inverted when the file says so). A large picture is decoded at a reduced size by
// libjpeg's DCT scaling (1/2, 1/4 or 1/8, the smallest whose longer side is still at least
// `min_long_side`; 0 decodes at full size), which skips most of the work for a photo that will be
// scaled down anyway. `limits` are checked against the full size from the header before anything
// of that size is allocated; a progressive JPEG's coefficient buffer counts against
// max_decoded_bytes, and more than kMaxJpegScans scans are refused (each is a pass over it).
// Errors are kInvalidArgument with libjpeg's reason ("truncated JPEG", "corrupt JPEG: ...", the
// limit exceeded with the figures); warnings about damaged entropy-coded data count as errors,
// warnings about metadata do not.
//
// Reentrant; safe from any thread. libjpeg reports errors by longjmp from its error manager;
// every setjmp in the implementation sits in a function with only trivially destructible locals,
// and no C++ exception can pass through libjpeg (the callbacks cannot throw).
#ifndef PYNQ_PREPROCESS_JPEG_DECODER_H_
#define PYNQ_PREPROCESS_JPEG_DECODER_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "preprocess/gray_image.h"

namespace pynq::preprocess {

inline constexpr int kMaxJpegScans = 256;

// True when `bytes` starts with a JPEG SOI marker followed by another marker (FF D8 FF).
bool LooksLikeJpeg(absl::Span<const uint8_t> bytes);

absl::StatusOr<GrayImage> DecodeJpeg(absl::Span<const uint8_t> bytes, const DecodeLimits& limits,
                                     uint32_t min_long_side = 0);

}  // namespace pynq::preprocess

#endif  // PYNQ_PREPROCESS_JPEG_DECODER_H_
