// One accepted classification request as the batcher sees it: the images, where their scores go,
// and the callback that answers the caller when the last image is done.
//
//   auto request = std::make_shared<InferenceRequest>(model, images, [](InferenceRequest& r) {
//     ... r.status(), r.scores(i), r.timing(i) ... reactor->Finish(...);
//   });
//   PYNQ_RETURN_IF_ERROR(batcher.Submit(request));   // on error the callback is never called
//
// A request may be split across several batches (and several dispatch workers); each image's
// results are written by exactly one batch, and the completion callback runs exactly once, on
// the thread that completes the last image, after every result is visible to it.
//
// The caller's deadline and cancellation travel with the request (Options), so the batcher can
// answer a request that nobody waits for any more instead of running it.
#ifndef PYNQ_SERVICE_INFERENCE_REQUEST_H_
#define PYNQ_SERVICE_INFERENCE_REQUEST_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "accel/model/model.h"

namespace pynq::service {

// Server-side timing of one image.
struct ImageTiming {
  absl::Duration queue;        // accepted -> its batch dispatched
  absl::Duration accelerator;  // the accelerator's run time for the whole batch
  uint32_t batch_size = 0;     // images in that batch
};

// The caller's side of a request: what tells the batcher it is no longer wanted.
struct InferenceRequestOptions {
  // When the caller stops waiting (its gRPC deadline); a request still queued then is
  // answered kDeadlineExceeded and never dispatched.
  absl::Time deadline = absl::InfiniteFuture();
  // Whether the caller has gone (its call cancelled); a request still queued then is answered
  // kCancelled and never dispatched. Called from dispatch workers; must be thread-safe and
  // cheap. Empty: never cancelled.
  std::function<bool()> is_cancelled;
};

class InferenceRequest {
 public:
  using DoneCallback = std::function<void(InferenceRequest&)>;
  using Options = InferenceRequestOptions;

  // `images` are views of `model.input_bytes()` bytes each (validated by the caller); the memory
  // they view must outlive the done callback. `model` must outlive the request.
  InferenceRequest(const accel::Model& model, std::vector<std::string_view> images,
                   DoneCallback on_done, Options options = {});

  InferenceRequest(const InferenceRequest&) = delete;
  InferenceRequest& operator=(const InferenceRequest&) = delete;

  const accel::Model& model() const { return model_; }
  size_t image_count() const { return images_.size(); }
  const uint8_t* image(size_t i) const {
    return reinterpret_cast<const uint8_t*>(images_[i].data());
  }
  absl::Time accepted_at() const { return accepted_at_; }
  absl::Time deadline() const { return options_.deadline; }

  // Why the request must not be dispatched at `now`: kDeadlineExceeded when its deadline has
  // passed, kCancelled when its caller cancelled; OK otherwise. Thread-safe.
  absl::Status CheckStillWanted(absl::Time now) const;

  // Results; read them only from the done callback.
  absl::Span<const int32_t> scores(size_t i) const {
    return absl::MakeConstSpan(scores_).subspan(i * model_.num_classes(), model_.num_classes());
  }
  const ImageTiming& timing(size_t i) const { return timings_[i]; }
  // OK, or the first error any of the request's batches reported.
  absl::Status status() const;

  // For the batcher. Writable results of image i; each image is written by one batch only.
  absl::Span<int32_t> mutable_scores(size_t i) {
    return absl::MakeSpan(scores_).subspan(i * model_.num_classes(), model_.num_classes());
  }
  ImageTiming& mutable_timing(size_t i) { return timings_[i]; }
  // Marks `count` images finished with `status` (OK, or why their batch failed). The call that
  // finishes the last image runs the done callback on the calling thread. Thread-safe.
  void Complete(size_t count, const absl::Status& status);

 private:
  const accel::Model& model_;
  const std::vector<std::string_view> images_;
  const absl::Time accepted_at_;
  DoneCallback on_done_;
  const Options options_;
  std::vector<int32_t> scores_;
  std::vector<ImageTiming> timings_;
  std::atomic<size_t> remaining_;
  mutable std::mutex mu_;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pynq::service

#endif  // PYNQ_SERVICE_INFERENCE_REQUEST_H_
