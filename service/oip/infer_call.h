// Runs one OIP inference request, from either protocol, through the shared path (submit.h):
// finds the model, checks the parsed request against it (tensor_mapping.h), queues its images on
// the model's batcher with the caller's deadline (and the request's "timeout"), and hands back
// the output tensors.
//
//   auto request = std::make_shared<oip::InferRequest>(...);   // parsed, model_name set
//   absl::Status queued = oip::SubmitInfer(*registry, std::move(request), caller,
//       {.max_images_per_request = 1024},
//       [](absl::StatusOr<oip::InferResult> result) { ... answer the call ... });
//   if (!queued.ok()) ... answer with the error at once ...
//
// Thread-safe.
#ifndef PYNQ_SERVICE_OIP_INFER_CALL_H_
#define PYNQ_SERVICE_OIP_INFER_CALL_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "preprocess/gray_image.h"
#include "service/inference_request.h"
#include "service/model_registry.h"
#include "service/oip/infer_request.h"
#include "service/oip/tensor_mapping.h"

namespace pynq::service::oip {

struct InferLimits {
  // Most images in one request (--max_images_per_request).
  size_t max_images_per_request = 1024;
  // Bounds on decoding each picture of a BYTES input (--max_picture_pixels,
  // --max_picture_decoded_bytes).
  preprocess::DecodeLimits picture_limits;
};

// Looks up request->model_name (kNotFound naming the loaded models; also when
// request->model_version is given and is not the loaded version), binds the request to the
// model (kInvalidArgument, counted as an invalid request in the model's metrics; pictures are
// prepared here, on the calling thread) and queues it.
// On OK `done` runs exactly once, on a dispatch worker, with the result or the request's error
// (deadline, cancellation, backend). On error nothing was queued and `done` never runs. The
// request is kept alive until `done` has run.
absl::Status SubmitInfer(const ModelRegistry& registry,
                         std::shared_ptr<const InferRequest> request,
                         const InferenceRequest::Options& caller, const InferLimits& limits,
                         std::function<void(absl::StatusOr<InferResult>)> done);

// As above, for a request whose body failed to parse with `parse_error`: kNotFound if the model
// is not loaded, else `parse_error`, counted as an invalid request of the model. So an unknown
// model is reported as such whatever the body, and every refusal of a served model is counted.
absl::Status RefuseUnparsed(const ModelRegistry& registry, std::string_view model_name,
                            const absl::Status& parse_error);

}  // namespace pynq::service::oip

#endif  // PYNQ_SERVICE_OIP_INFER_CALL_H_
