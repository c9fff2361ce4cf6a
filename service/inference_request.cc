#include "service/inference_request.h"

#include <utility>

#include "absl/strings/str_format.h"

namespace pynq::service {

InferenceRequest::InferenceRequest(const accel::Model& model,
                                   std::vector<std::string_view> images, DoneCallback on_done,
                                   Options options)
    : model_(model),
      images_(std::move(images)),
      accepted_at_(absl::Now()),
      on_done_(std::move(on_done)),
      options_(std::move(options)),
      scores_(images_.size() * model.num_classes()),
      timings_(images_.size()),
      remaining_(images_.size()) {}

absl::Status InferenceRequest::status() const {
  std::lock_guard lock(mu_);
  return status_;
}

absl::Status InferenceRequest::CheckStillWanted(absl::Time now) const {
  if (now >= options_.deadline) {
    return absl::DeadlineExceededError(absl::StrFormat(
        "the request's deadline passed after %s in the queue; it was not run",
        absl::FormatDuration(absl::Trunc(now - accepted_at_, absl::Microseconds(1)))));
  }
  if (options_.is_cancelled && options_.is_cancelled()) {
    return absl::CancelledError("the caller cancelled the request before it was run");
  }
  return absl::OkStatus();
}

void InferenceRequest::Complete(size_t count, const absl::Status& status) {
  if (!status.ok()) {
    std::lock_guard lock(mu_);
    if (status_.ok()) status_ = status;
  }
  // acq_rel: the last finisher acquires every other batch's result writes before the callback
  // reads them.
  if (remaining_.fetch_sub(count, std::memory_order_acq_rel) == count) on_done_(*this);
}

}  // namespace pynq::service
