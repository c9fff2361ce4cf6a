// The one entry point from an encoded picture to a model's input: every entrance of the daemon
// that accepts pictures (the native API's encoded_images; OIP BYTES inputs over gRPC and REST
// and REST picture bodies, through oip::BindToModel(); the web console, through REST) calls
// this, so they all see the same decoding, limits, rules and errors.
//
//   absl::StatusOr<PreparedInput> input = PreparePicture(bytes, *model, DecodeLimits{});
//   if (!input.ok()) return input.status();      // kInvalidArgument naming the problem
//   batch.push_back(input->pixels);              // model.input_bytes() bytes, what the model sees
//
// Decodes the PNG, JPEG or PGM (picture_decoder.h) within `limits`, then normalizes it as the
// model file declares (normalize.h). A model whose preprocessing is "none" refuses pictures
// before anything is decoded. Raw input tensors are not pictures and never come here.
//
// Errors: kInvalidArgument for every problem of the picture (not an image, truncated, corrupt,
// over the limits, nothing on it) or of the model (takes raw tensors only); kResourceExhausted if
// a decoder cannot be allocated. Reentrant: a pure function of its arguments, safe from any
// thread. Cost: linear in the picture's pixels (bench/preprocess_bench); it runs on the caller's
// thread.
#ifndef PYNQ_PREPROCESS_PREPARE_H_
#define PYNQ_PREPROCESS_PREPARE_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "accel/model/model.h"
#include "preprocess/gray_image.h"
#include "preprocess/normalize.h"

namespace pynq::preprocess {

struct PreparedInput {
  // The model's input: model.input_bytes() uint8 pixels, CHW, as ClassifyRequest.images carries.
  std::vector<uint8_t> pixels;
  // What came in: "PNG", "JPEG" or "PGM", and the size it was decoded at.
  std::string_view format;
  uint32_t width = 0;
  uint32_t height = 0;
  NormalizeReport report;
};

absl::StatusOr<PreparedInput> PreparePicture(absl::Span<const uint8_t> encoded,
                                             const accel::Model& model,
                                             const DecodeLimits& limits);

}  // namespace pynq::preprocess

#endif  // PYNQ_PREPROCESS_PREPARE_H_
