// The one way a request of any protocol reaches a model: look the model up, queue the request's
// images on its batcher, and count the outcome in its metrics. pynq_infer.v1 (InferenceService),
// the Open Inference Protocol over gRPC (oip::OipService) and over HTTP (http::RestApi) all call
// these, so every entrance shares the batcher, the metrics and the deadlines.
//
//   PYNQ_ASSIGN_OR_RETURN(std::shared_ptr<const ServedModel> model,
//                         FindModel(*registry, request.model()));
//   ... validate the request against *model->model; on error:
//   model->metrics->RecordFailure(FailureReason::kInvalidRequest);
//   PYNQ_RETURN_IF_ERROR(SubmitImages(std::move(model), std::move(images), caller,
//       [&](const InferenceRequest& done, const ServedModel& m) { ... fill the response ... },
//       [reactor](const absl::Status& status) { reactor->Finish(ToGrpcStatus(status)); }));
//
// Thread-safe: free functions over the thread-safe registry and batcher.
#ifndef PYNQ_SERVICE_SUBMIT_H_
#define PYNQ_SERVICE_SUBMIT_H_

#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "service/inference_request.h"
#include "service/model_registry.h"

namespace pynq::service {

// The model named `name`, or kNotFound naming the loaded models. The reference keeps that
// version alive (see ModelRegistry, "Swapping").
absl::StatusOr<std::shared_ptr<const ServedModel>> FindModel(const ModelRegistry& registry,
                                                             std::string_view name);

// Queues `images` (validated views of model->model->input_bytes() bytes each, at least one) on
// the model's batcher with the caller's deadline and cancellation. On OK, once the last image is
// done, on a dispatch worker: if the request succeeded `fill` runs (to build the response from
// the scores and timings) and the success is counted, otherwise the failure is counted by its
// reason; then `finish` runs with the request's status. The memory `images` view must stay alive
// until `finish` has run. On error nothing was queued, neither callback runs, and the batcher has
// counted the refusal (queue full, shutting down, deadline passed).
absl::Status SubmitImages(
    std::shared_ptr<const ServedModel> model, std::vector<std::string_view> images,
    const InferenceRequest::Options& caller,
    std::function<void(const InferenceRequest& done, const ServedModel& model)> fill,
    std::function<void(const absl::Status&)> finish);

}  // namespace pynq::service

#endif  // PYNQ_SERVICE_SUBMIT_H_
