// A batch: the slices of requests it carries, their images staged back to back for the
// accelerator, and the scores it returns, with an explicit state so each step can check it runs
// in order (Triton's payload.h, for the same reason).
//
//   batch.Add(request, first_image, count, now);   // kEmpty/kFilling -> kFilling
//   batch.Stage();                                 // kFilling -> kStaged (copies the images)
//   status = accelerator.Run(batch.input(), batch.scores());   // while kStaged
//   batch.Complete(status, run_time, metrics);     // kStaged -> kEmpty, answers the slices
//
// A Batch owns buffers sized for its capacity once, so forming and running batches allocates
// nothing per image. Not thread-safe: one dispatch thread owns a batch at a time.
#ifndef PYNQ_SERVICE_BATCH_H_
#define PYNQ_SERVICE_BATCH_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "accel/model/model.h"
#include "service/inference_request.h"
#include "service/metrics.h"

namespace pynq::service {

class Batch {
 public:
  enum class State {
    kEmpty,    // no slices; ready to be filled
    kFilling,  // has slices, may take more
    kStaged,   // images copied into input(); ready to run
  };

  Batch(const accel::Model& model, size_t capacity);

  State state() const { return state_; }
  size_t size() const { return images_; }
  size_t room() const { return capacity_ - images_; }

  // Adds images [first, first + count) of `request`, dispatched at `dispatched` (their queue
  // wait ends then). Requires state kEmpty or kFilling and count <= room().
  void Add(std::shared_ptr<InferenceRequest> request, size_t first, size_t count,
           absl::Time dispatched);

  // Copies every slice's images into input(). Requires kFilling.
  void Stage();
  // The staged images and the scores the accelerator writes, sized for size() images.
  absl::Span<const uint8_t> input() const;
  absl::Span<int32_t> scores();

  // Hands each slice its scores and timing and completes it with `status` (a failed run fails
  // every slice), records the batch in `metrics`, and empties the batch for reuse.
  // Requires kStaged.
  void Complete(const absl::Status& status, absl::Duration accelerator_time,
                ModelMetrics& metrics);

 private:
  struct Slice {
    std::shared_ptr<InferenceRequest> request;
    size_t first;
    size_t count;
    absl::Duration queue_wait;
  };

  const accel::Model& model_;
  const size_t capacity_;
  State state_ = State::kEmpty;
  size_t images_ = 0;
  std::vector<Slice> slices_;
  std::vector<uint8_t> input_;
  std::vector<int32_t> scores_;
};

}  // namespace pynq::service

#endif  // PYNQ_SERVICE_BATCH_H_
