#include "service/oip/infer_call.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "service/submit.h"

namespace pynq::service::oip {

namespace {

absl::StatusOr<std::shared_ptr<const ServedModel>> FindVersion(const ModelRegistry& registry,
                                                               std::string_view name,
                                                               std::string_view version) {
  absl::StatusOr<std::shared_ptr<const ServedModel>> served = FindModel(registry, name);
  if (!served.ok() || version.empty() || (*served)->model->version() == version) return served;
  return absl::NotFoundError(
      absl::StrFormat("model \"%s\" version \"%s\" is not loaded; the loaded version is \"%s\"",
                      name, version, (*served)->model->version()));
}

}  // namespace

absl::Status RefuseUnparsed(const ModelRegistry& registry, std::string_view model_name,
                            const absl::Status& parse_error) {
  absl::StatusOr<std::shared_ptr<const ServedModel>> served = FindModel(registry, model_name);
  if (!served.ok()) return served.status();
  (*served)->metrics->RecordFailure(FailureReason::kInvalidRequest);
  return parse_error;
}

absl::Status SubmitInfer(const ModelRegistry& registry,
                         std::shared_ptr<const InferRequest> request,
                         const InferenceRequest::Options& caller, const InferLimits& limits,
                         std::function<void(absl::StatusOr<InferResult>)> done) {
  absl::StatusOr<std::shared_ptr<const ServedModel>> served =
      FindVersion(registry, request->model_name, request->model_version);
  if (!served.ok()) return served.status();
  absl::StatusOr<BoundRequest> bound =
      BindToModel(*request, *(*served)->model, limits.max_images_per_request,
                  limits.picture_limits);
  if (!bound.ok()) {
    (*served)->metrics->RecordFailure(FailureReason::kInvalidRequest);
    return bound.status();
  }
  InferenceRequest::Options options = caller;
  if (request->timeout.has_value()) {
    options.deadline = std::min(options.deadline, absl::Now() + *request->timeout);
  }
  // Shared by the two callbacks: `fill` builds the result, `finish` hands it on.
  auto state = std::make_shared<std::pair<BoundRequest, InferResult>>(*std::move(bound),
                                                                      InferResult{});
  std::vector<std::string_view> images = state->first.images;
  return SubmitImages(
      *std::move(served), std::move(images), options,
      [request, state](const InferenceRequest& finished, const ServedModel& model) {
        state->second = BuildResult(*request, state->first, finished, *model.model);
        state->second.backend = std::string(model.batcher->accelerator().backend_name());
      },
      [request, state, done = std::move(done)](const absl::Status& status) {
        if (status.ok()) {
          done(std::move(state->second));
        } else {
          done(status);
        }
      });
}

}  // namespace pynq::service::oip
