// Decodes a PGM picture (Netpbm graymap: binary P5 or plain-text P2, maxval 1..65535) into an
// 8-bit gray image.
//
//   absl::StatusOr<GrayImage> image = DecodePgm(bytes, DecodeLimits{});
//
// Samples are scaled from 0..maxval to 0..255 with rounding (maxval 255 keeps them as they are);
// 16-bit binary samples are big-endian, as the format says. The file holds exactly one image:
// a second image or other trailing bytes are refused. Comments (`#` to the end of a line) may
// appear anywhere in the header, as Netpbm allows. Errors are kInvalidArgument naming the
// problem ("truncated PGM: ...", "PGM maxval is 0, expected 1..65535", the limit exceeded).
//
// Reentrant; safe from any thread.
#ifndef PYNQ_PREPROCESS_PGM_DECODER_H_
#define PYNQ_PREPROCESS_PGM_DECODER_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "preprocess/gray_image.h"

namespace pynq::preprocess {

// True when `bytes` starts with "P5" or "P2" and a whitespace character.
bool LooksLikePgm(absl::Span<const uint8_t> bytes);

absl::StatusOr<GrayImage> DecodePgm(absl::Span<const uint8_t> bytes, const DecodeLimits& limits);

}  // namespace pynq::preprocess

#endif  // PYNQ_PREPROCESS_PGM_DECODER_H_
