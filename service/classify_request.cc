#include "service/classify_request.h"

#include <string>

#include "absl/strings/str_format.h"
#include "absl/types/span.h"
#include "preprocess/prepare.h"

namespace pynq::service {

namespace v1 = ::pynq_infer::v1;

absl::Status ValidateClassifyRequest(const v1::ClassifyRequest& request,
                                     const accel::Model& model, const ClassifyLimits& limits) {
  if (request.images_size() > 0 && request.encoded_images_size() > 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "request has %d images and %d encoded_images; send raw images or pictures, not both",
        request.images_size(), request.encoded_images_size()));
  }
  const size_t n = request.images_size() + request.encoded_images_size();
  if (n == 0) return absl::InvalidArgumentError("request has no images");
  if (n > limits.max_images_per_request) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "request has %d images, more than the %d allowed per request", n,
        limits.max_images_per_request));
  }
  for (int i = 0; i < request.images_size(); ++i) {
    if (request.images(i).size() != model.input_bytes()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "image %d has %d bytes; model %s takes %dx%dx%d uint8 images of %d bytes", i,
          request.images(i).size(), model.name(), model.input_shape().c, model.input_shape().h,
          model.input_shape().w, model.input_bytes()));
    }
  }
  if (request.top_k() > model.num_classes()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "top_k is %d, but model %s has only %d classes", request.top_k(), model.name(),
        model.num_classes()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const std::vector<uint8_t>>> PrepareClassifyPictures(
    const v1::ClassifyRequest& request, const accel::Model& model,
    const preprocess::DecodeLimits& picture_limits) {
  if (request.encoded_images_size() == 0) return nullptr;
  auto inputs = std::make_shared<std::vector<uint8_t>>();
  inputs->reserve(request.encoded_images_size() * model.input_bytes());
  for (int i = 0; i < request.encoded_images_size(); ++i) {
    const std::string& picture = request.encoded_images(i);
    absl::StatusOr<preprocess::PreparedInput> input = preprocess::PreparePicture(
        absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(picture.data()), picture.size()),
        model, picture_limits);
    if (!input.ok()) {
      return absl::Status(input.status().code(),
                          absl::StrFormat("encoded image %d: %s", i, input.status().message()));
    }
    inputs->insert(inputs->end(), input->pixels.begin(), input->pixels.end());
  }
  return inputs;
}

}  // namespace pynq::service
