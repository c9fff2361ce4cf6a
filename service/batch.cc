#include "service/batch.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <utility>

namespace pynq::service {

Batch::Batch(const accel::Model& model, size_t capacity)
    : model_(model),
      capacity_(capacity),
      input_(capacity * model.input_bytes()),
      scores_(capacity * model.num_classes()) {
  // A batch holds at most one slice per image; reserving that keeps Add() allocation-free.
  slices_.reserve(capacity);
}

void Batch::Add(std::shared_ptr<InferenceRequest> request, size_t first, size_t count,
                absl::Time dispatched) {
  assert(state_ == State::kEmpty || state_ == State::kFilling);
  assert(count > 0 && count <= room());
  const absl::Duration wait = dispatched - request->accepted_at();
  slices_.push_back({std::move(request), first, count, wait});
  images_ += count;
  state_ = State::kFilling;
}

void Batch::Stage() {
  assert(state_ == State::kFilling);
  const size_t image_bytes = model_.input_bytes();
  uint8_t* out = input_.data();
  for (const Slice& s : slices_) {
    for (size_t i = 0; i < s.count; ++i) {
      std::memcpy(out, s.request->image(s.first + i), image_bytes);
      out += image_bytes;
    }
  }
  state_ = State::kStaged;
}

absl::Span<const uint8_t> Batch::input() const {
  return absl::MakeConstSpan(input_).subspan(0, images_ * model_.input_bytes());
}

absl::Span<int32_t> Batch::scores() {
  return absl::MakeSpan(scores_).subspan(0, images_ * model_.num_classes());
}

void Batch::Complete(const absl::Status& status, absl::Duration accelerator_time,
                     ModelMetrics& metrics) {
  assert(state_ == State::kStaged);
  if (status.ok()) metrics.RecordBatch(images_, accelerator_time);
  const size_t classes = model_.num_classes();
  const int32_t* row = scores_.data();
  for (Slice& s : slices_) {
    metrics.RecordQueueWait(s.queue_wait, s.count);
    for (size_t i = 0; i < s.count; ++i, row += classes) {
      if (status.ok()) {
        absl::Span<int32_t> dst = s.request->mutable_scores(s.first + i);
        std::copy(row, row + classes, dst.begin());
      }
      s.request->mutable_timing(s.first + i) = {.queue = s.queue_wait,
                                                .accelerator = accelerator_time,
                                                .batch_size = static_cast<uint32_t>(images_)};
    }
    s.request->Complete(s.count, status);
  }
  // Dropping the slices releases this batch's references to its requests.
  slices_.clear();
  images_ = 0;
  state_ = State::kEmpty;
}

}  // namespace pynq::service
