// Dynamic batching for one model: requests from all clients (unary and streaming alike) queue
// here, and dispatch workers form batches and run them on the model's accelerator.
//
//   PYNQ_ASSIGN_OR_RETURN(std::unique_ptr<Batcher> batcher,
//                         Batcher::Create(std::move(accelerator), {.max_batch_size = 64}, &metrics));
//   PYNQ_RETURN_IF_ERROR(batcher->Submit(request));  // kUnavailable when full or draining
//   ...
//   batcher->Drain();  // answers everything accepted, then stops the workers
//
// Batching rules, in the manner of Triton's dynamic batcher:
// - Fill: a batch is dispatched as soon as the queue holds a target batch: the largest preferred
//   batch size if any are set, otherwise max_batch_size images.
// - Delay: otherwise the oldest queued request waits at most max_queue_delay (from when it was
//   accepted); then the queue is dispatched anyway: the largest preferred size it can fill, or
//   everything queued (up to max_batch_size) when it cannot fill even the smallest.
// - Bound: at most max_queue_images images wait; a request that does not fit is refused at once
//   with kUnavailable, so the queue never grows without bound.
// - Deadline and cancellation: a request whose deadline has passed, or whose caller cancelled,
//   is answered (kDeadlineExceeded / kCancelled) when it reaches the head of the queue and is
//   never dispatched.
// - Split: a request with more images than fit is split; its slices ride consecutive batches.
// - In flight: one dispatch worker per batch the accelerator can run at once
//   (Accelerator::max_concurrent_runs()), each with its own Batch. Workers take turns forming
//   batches from the one queue, so images leave it in arrival order, and run them concurrently.
// - Drain: refuse new requests, dispatch and answer everything queued, then stop.
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
#include <vector>

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
    // Most images in one dispatch; at most the accelerator's own maximum.
    size_t max_batch_size = 64;
    // Longest the oldest queued image waits for its batch to fill before the batch is dispatched
    // anyway.
    absl::Duration max_queue_delay = absl::Microseconds(500);
    // Most images queued (not yet dispatched). A request that would exceed it is refused at
    // once with kUnavailable instead of growing the queue.
    size_t max_queue_images = 4096;
    // Batch sizes to form when possible (see the rules above), each in [1, max_batch_size], any
    // order; empty: as large as possible.
    std::vector<size_t> preferred_batch_sizes;
    // Batches in flight at once; 0: as many as the accelerator allows
    // (Accelerator::max_concurrent_runs()), which is also the most accepted.
    size_t max_batches_in_flight = 0;
  };

  // Starts the dispatch workers. `metrics` must outlive the Batcher. kInvalidArgument for a zero
  // batch size or queue bound, a batch size above accelerator->max_batch_size(), a negative
  // delay, a preferred size outside [1, max_batch_size], or more batches in flight than the
  // accelerator allows.
  static absl::StatusOr<std::unique_ptr<Batcher>> Create(
      std::unique_ptr<accel::Accelerator> accelerator, const Options& options,
      ModelMetrics* metrics);

  // Drains (see Drain()).
  ~Batcher();

  // Queues every image of `request`. On OK the request's done callback will run exactly once,
  // on a dispatch worker. Refusals (the callback never runs), each recorded in the metrics:
  // kUnavailable when the queue cannot take the request's images or the batcher is draining;
  // kDeadlineExceeded when its deadline has already passed. kInvalidArgument for a request of
  // another model or with no images. Thread-safe; never blocks on the accelerator.
  absl::Status Submit(std::shared_ptr<InferenceRequest> request);

  // Refuses new requests from now on (kUnavailable), and dispatches what is queued without
  // waiting for fuller batches; returns at once. Idempotent; thread-safe.
  void StopAccepting();

  // StopAccepting(), then answers every queued request and stops the dispatch workers. Blocks
  // until then. Idempotent; thread-safe.
  void Drain();

  // Images accepted and not yet dispatched. Thread-safe.
  size_t queue_depth() const;
  // Dispatch workers, i.e. the most batches in flight at once.
  size_t batches_in_flight() const { return workers_.size(); }

  // How far the dispatch path is behind, as of `now`: the longest any worker has been on its
  // current batch (staging, the accelerator run, answering), or how long queued work has waited
  // beyond max_queue_delay for a worker to come back to the queue, whichever is larger; zero when
  // idle with nothing queued. A liveness check (the systemd watchdog) compares it with a bound.
  // Thread-safe; never blocks on the accelerator.
  absl::Duration DispatchLag(absl::Time now) const;

  const accel::Accelerator& accelerator() const { return *accelerator_; }
  // As given to Create(), with preferred_batch_sizes sorted ascending without duplicates and
  // max_batches_in_flight resolved.
  const Options& options() const { return options_; }

 private:
  struct Queued {
    std::shared_ptr<InferenceRequest> request;
    size_t next_image;  // the first image not yet given to a batch
  };
  // A request answered without running its remaining images: expired or cancelled.
  struct Dropped {
    std::shared_ptr<InferenceRequest> request;
    size_t images;
    absl::Status status;
  };
  struct Worker {
    explicit Worker(const accel::Model& model, size_t capacity) : batch(model, capacity) {}
    Batch batch;  // touched only by this worker's thread
    std::thread thread;
    // When the worker took its current batch; InfiniteFuture while it has none (see
    // DispatchLag()). Guarded by the Batcher's mu_.
    absl::Time busy_since = absl::InfiniteFuture();
  };

  Batcher(std::unique_ptr<accel::Accelerator> accelerator, const Options& options,
          ModelMetrics* metrics);

  void DispatchLoop(Worker& worker);
  // Waits for work and fills `batch` by the rules above; false when draining has emptied the
  // queue. Answers the requests it drops before returning.
  bool FormBatch(Worker& worker);
  // How many images to dispatch from `queued` queued ones once the batch is due.
  size_t DueBatchSize(size_t queued) const;
  // Moves images from the head of the queue into `batch` until it holds `want` or the queue is
  // empty, dropping requests no longer wanted at `now`.
  void TakeLocked(Batch& batch, size_t want, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_, form_mu_);
  // Drops no-longer-wanted requests from the head of the queue.
  void DropDeadHeadLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_, form_mu_);
  void DropHeadLocked(absl::Status why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_, form_mu_);
  // Answers the dropped requests; called without mu_ (their callbacks answer gRPC calls).
  void AnswerDropped() ABSL_EXCLUSIVE_LOCKS_REQUIRED(form_mu_);
  void RunBatch(Batch& batch);

  const std::unique_ptr<accel::Accelerator> accelerator_;
  const Options options_;
  // The size at which a batch is dispatched without waiting out the delay.
  const size_t target_batch_size_;
  ModelMetrics* const metrics_;
  std::vector<std::unique_ptr<Worker>> workers_;

  // Held by the one worker forming the next batch, so batches leave the queue in order and the
  // other workers wait here rather than racing for the head. Taken before mu_.
  std::mutex form_mu_;
  std::vector<Dropped> dropped_ ABSL_GUARDED_BY(form_mu_);

  mutable std::mutex mu_;
  // Signalled when work is queued or draining starts.
  std::condition_variable work_cv_;
  std::deque<Queued> queue_ ABSL_GUARDED_BY(mu_);
  size_t queued_images_ ABSL_GUARDED_BY(mu_) = 0;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  // When a worker last took a batch or came back to the queue (see DispatchLag()).
  absl::Time last_progress_ ABSL_GUARDED_BY(mu_) = absl::Now();

  std::mutex join_mu_;
  bool joined_ ABSL_GUARDED_BY(join_mu_) = false;
};

}  // namespace pynq::service

#endif  // PYNQ_SERVICE_BATCHER_H_
