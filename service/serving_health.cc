#include "service/serving_health.h"

#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace pynq::service {

absl::Status CheckDispatchAlive(const ModelRegistry& registry, absl::Duration bound,
                                absl::Time now) {
  for (const auto& served : registry.models()) {
    const absl::Duration lag = served->batcher->DispatchLag(now);
    if (lag > bound) {
      return absl::UnavailableError(absl::StrFormat(
          "model %s: the %s dispatch thread is %s behind (limit %s): an accelerator run does "
          "not return, or the thread does not come back to its queue",
          served->model->name(), served->batcher->accelerator().backend_name(),
          absl::FormatDuration(absl::Trunc(lag, absl::Milliseconds(1))),
          absl::FormatDuration(bound)));
    }
  }
  return absl::OkStatus();
}

std::string DescribeServing(const ModelRegistry& registry, absl::Time now) {
  std::vector<std::string> parts;
  for (const auto& served : registry.models()) {
    parts.push_back(absl::StrFormat("%s (%s) at %.1f images/s", served->model->name(),
                                    served->batcher->accelerator().backend_name(),
                                    served->metrics->Snapshot(now).images_per_s_10s));
  }
  return "serving " + absl::StrJoin(parts, ", ");
}

}  // namespace pynq::service
