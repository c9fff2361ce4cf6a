#include "service/submit.h"

#include <string>
#include <utility>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"

namespace pynq::service {

absl::StatusOr<std::shared_ptr<const ServedModel>> FindModel(const ModelRegistry& registry,
                                                             std::string_view name) {
  std::shared_ptr<const ServedModel> served = registry.Find(name);
  if (served != nullptr) return served;
  std::vector<std::string> names;
  for (const auto& m : registry.models()) names.push_back(m->model->name());
  return absl::NotFoundError(absl::StrFormat("model \"%s\" is not loaded; loaded models: %s", name,
                                             absl::StrJoin(names, ", ")));
}

absl::Status SubmitImages(
    std::shared_ptr<const ServedModel> model, std::vector<std::string_view> images,
    const InferenceRequest::Options& caller,
    std::function<void(const InferenceRequest& done, const ServedModel& model)> fill,
    std::function<void(const absl::Status&)> finish) {
  // The callback owns a reference: the version that accepted the request answers it even if it is
  // replaced or unloaded meanwhile.
  const ServedModel* accepted_by = model.get();
  auto inference = std::make_shared<InferenceRequest>(
      *accepted_by->model, std::move(images),
      [model = std::move(model), fill = std::move(fill),
       finish = std::move(finish)](InferenceRequest& done) {
        const absl::Status status = done.status();
        if (status.ok()) {
          fill(done, *model);
          model->metrics->RecordSuccess(absl::Now() - done.accepted_at());
        } else {
          model->metrics->RecordFailure(FailureReasonOf(status));
        }
        finish(status);
      },
      caller);
  return accepted_by->batcher->Submit(std::move(inference));
}

}  // namespace pynq::service
