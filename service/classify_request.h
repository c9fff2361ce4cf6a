// What the native API checks of a ClassifyRequest once it has found the model the request names,
// and how it turns the request's pictures (encoded_images) into model inputs. InferenceService
// runs these for Classify and ClassifyStream; they are free functions, apart from the service and
// its registry, so that fuzz/classify_request can run the very same code on any request.
//
//   PYNQ_RETURN_IF_ERROR(ValidateClassifyRequest(request, model, {.max_images_per_request = 1024}));
//   PYNQ_ASSIGN_OR_RETURN(std::shared_ptr<const std::vector<uint8_t>> inputs,
//                         PrepareClassifyPictures(request, model, limits.picture_limits));
//   // images: request.images(), then inputs (model.input_bytes() each), nullptr if no pictures
//
// Both are pure functions of their arguments (thread-safe, no blocking beyond decoding).
#ifndef PYNQ_SERVICE_CLASSIFY_REQUEST_H_
#define PYNQ_SERVICE_CLASSIFY_REQUEST_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "accel/model/model.h"
#include "preprocess/gray_image.h"
#include "pynq_infer/v1/inference.pb.h"

namespace pynq::service {

struct ClassifyLimits {
  // Most images (raw plus encoded) one request may carry.
  size_t max_images_per_request = 1024;
  // Bounds on decoding each picture of encoded_images.
  preprocess::DecodeLimits picture_limits;
};

// OK when `request` may run on `model` (the model it names): raw images or pictures but not both,
// at least one and at most limits.max_images_per_request, each raw image exactly
// model.input_bytes() long, top_k at most the model's classes. Otherwise kInvalidArgument naming
// the first problem (and the image's index). Pictures are not decoded here.
absl::Status ValidateClassifyRequest(const pynq_infer::v1::ClassifyRequest& request,
                                     const accel::Model& model, const ClassifyLimits& limits);

// The model inputs of the request's encoded_images, decoded and prepared
// (preprocess::PreparePicture()) back to back, model.input_bytes() each; nullptr when it has
// none. A picture that fails fails the whole request with its status, the message prefixed by
// "encoded image <index>: ". Call after ValidateClassifyRequest().
absl::StatusOr<std::shared_ptr<const std::vector<uint8_t>>> PrepareClassifyPictures(
    const pynq_infer::v1::ClassifyRequest& request, const accel::Model& model,
    const preprocess::DecodeLimits& picture_limits);

}  // namespace pynq::service

#endif  // PYNQ_SERVICE_CLASSIFY_REQUEST_H_
