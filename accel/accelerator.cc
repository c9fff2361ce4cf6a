#include "accel/accelerator.h"

#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"

namespace pynq::accel {

std::string_view EngineStateName(EngineState state) {
  switch (state) {
    case EngineState::kOk:
      return "ok";
    case EngineState::kFaulted:
      return "faulted";
    case EngineState::kDisabled:
      return "disabled";
  }
  return "unknown";
}

absl::StatusOr<size_t> CheckBatchShape(const Model& model, size_t max_batch_size,
                                       absl::Span<const uint8_t> images,
                                       absl::Span<const int32_t> scores) {
  const size_t image_bytes = model.input_bytes();
  if (images.empty() || images.size() % image_bytes != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "batch of %d bytes is not a whole, non-zero number of %d-byte images", images.size(),
        image_bytes));
  }
  const size_t n = images.size() / image_bytes;
  if (n > max_batch_size) {
    return absl::InvalidArgumentError(
        absl::StrFormat("batch of %d images exceeds the maximum of %d", n, max_batch_size));
  }
  if (scores.size() != n * model.num_classes()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "score buffer holds %d values, expected %d (%d images x %d classes)", scores.size(),
        n * model.num_classes(), n, model.num_classes()));
  }
  return n;
}

}  // namespace pynq::accel
