// Dynamic batching for one model: requests from all clients queue here, and one dispatch thread
// forms batches of up to max_batch_size images and runs them on the model's accelerator.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<Batcher> batcher,
//                    Batcher::Create(std::move(accelerator), {.max_batch_size = 64}, &metrics));
//   RETURN_IF_ERROR(batcher->Submit(request));  // kUnavailable when full or draining
//   ...
//   batcher->Drain();  // answers everything accepted, then stops the thread
//
// Batching rule: the thread waits for the first queued image, then up to max_queue_delay
// (counted from when the oldest queued request was accepted) for the batch to fill, then
// dispatches whatever is queued, up to max_batch_size images. A request with more images than
// fit in one batch is split; its slices ride consecutive batches in order.
//
// The service locks with std::mutex rather than absl::Mutex: Debian's Abseil is not built with
// ThreadSanitizer, which then cannot see absl::Mutex and reports false races, while it intercepts
// the pthread calls under std::mutex. The batcher's tests run under TSan.
#ifndef PYNQ_SERVICE_BATCHER_H_
#define PYNQ_SERVICE_BATCHER_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "accel/accelerator.h"
#include "service/batch.h"
#include "service/inference_request.h"
#include "service/metrics.h"

namespace pynq::service {

class Batcher {
 public:
  struct Options {
    // Most images in one dispatch; capped by the accelerator's own maximum.
    size_t max_batch_size = 64;
    // Longest an image waits for its batch to fill before the batch is dispatched anyway.
    absl::Duration max_queue_delay = absl::Microseconds(500);
    // Most images queued (not yet dispatched). A request that would exceed it is refused at
    // once with kUnavailable instead of growing the queue.
    size_t max_queue_images = 4096;
  };

  // Starts the dispatch thread. `metrics` must outlive the Batcher. kInvalidArgument for a zero
  // batch size or queue bound, or a batch size above accelerator->max_batch_size().
  static absl::StatusOr<std::unique_ptr<Batcher>> Create(
      std::unique_ptr<accel::Accelerator> accelerator, const Options& options,
      ModelMetrics* metrics);

  // Drains (see Drain()).
  ~Batcher();

  // Queues every image of `request`. On OK the request's done callback will run exactly once,
  // on the dispatch thread. kUnavailable (callback never runs) when the queue cannot take the
  // request's images or the batcher is draining; kInvalidArgument for a request of another
  // model or with no images. Thread-safe; never blocks on the accelerator.
  absl::Status Submit(std::shared_ptr<InferenceRequest> request);

  // Refuses new requests, dispatches and answers every queued one, then stops the dispatch
  // thread. Blocks until then. Idempotent; thread-safe.
  void Drain();

  // Images accepted and not yet dispatched.
  size_t queue_depth() const;

  // How far the dispatch thread is behind, as of `now`: how long it has been on the current
  // batch (staging, the accelerator run, answering), or, between batches, how long queued work
  // has waited beyond max_queue_delay for the thread to come back to the queue; zero when idle
  // with nothing queued. A liveness check (the systemd watchdog) compares it with a bound.
  // Thread-safe; never blocks on the accelerator.
  absl::Duration DispatchLag(absl::Time now) const;

  const accel::Accelerator& accelerator() const { return *accelerator_; }
  const Options& options() const { return options_; }

 private:
  struct Queued {
    std::shared_ptr<InferenceRequest> request;
    size_t next_image;  // the first image not yet given to a batch
  };

  Batcher(std::unique_ptr<accel::Accelerator> accelerator, const Options& options,
          ModelMetrics* metrics);

  void DispatchLoop();
  // Waits for work and fills batch_; false when draining has emptied the queue.
  bool FormBatch();
  void RunBatch();

  const std::unique_ptr<accel::Accelerator> accelerator_;
  const Options options_;
  ModelMetrics* const metrics_;
  // Only the dispatch thread touches the batch.
  Batch batch_;

  mutable std::mutex mu_;
  // Signalled when work is queued or draining starts.
  std::condition_variable work_cv_;
  std::deque<Queued> queue_ ABSL_GUARDED_BY(mu_);
  size_t queued_images_ ABSL_GUARDED_BY(mu_) = 0;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  // Set while the dispatch thread holds a batch taken from the queue (see DispatchLag()).
  bool dispatching_ ABSL_GUARDED_BY(mu_) = false;
  // When the dispatch thread last took a batch or came back to the queue.
  absl::Time last_progress_ ABSL_GUARDED_BY(mu_) = absl::Now();

  std::mutex join_mu_;
  std::thread thread_ ABSL_GUARDED_BY(join_mu_);
};

}  // namespace pynq::service

#endif  // PYNQ_SERVICE_BATCHER_H_
