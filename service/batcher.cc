#include "service/batcher.h"

#include <pthread.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_format.h"

namespace pynq::service {

absl::StatusOr<std::unique_ptr<Batcher>> Batcher::Create(
    std::unique_ptr<accel::Accelerator> accelerator, const Options& options,
    ModelMetrics* metrics) {
  if (accelerator == nullptr || metrics == nullptr) {
    return absl::InvalidArgumentError("Batcher needs an accelerator and metrics");
  }
  if (options.max_batch_size == 0 || options.max_queue_images == 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "max_batch_size (%d) and max_queue_images (%d) must be at least 1",
        options.max_batch_size, options.max_queue_images));
  }
  if (options.max_batch_size > accelerator->max_batch_size()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "max_batch_size %d exceeds the %s backend's maximum of %d", options.max_batch_size,
        accelerator->backend_name(), accelerator->max_batch_size()));
  }
  if (options.max_queue_delay < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("max_queue_delay must not be negative");
  }
  std::unique_ptr<Batcher> batcher(new Batcher(std::move(accelerator), options, metrics));
  std::lock_guard lock(batcher->join_mu_);
  batcher->thread_ = std::thread([b = batcher.get()] { b->DispatchLoop(); });
  return batcher;
}

Batcher::Batcher(std::unique_ptr<accel::Accelerator> accelerator, const Options& options,
                 ModelMetrics* metrics)
    : accelerator_(std::move(accelerator)),
      options_(options),
      metrics_(metrics),
      batch_(accelerator_->model(), options.max_batch_size) {}

Batcher::~Batcher() { Drain(); }

absl::Status Batcher::Submit(std::shared_ptr<InferenceRequest> request) {
  if (&request->model() != &accelerator_->model()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "request for model %s submitted to the batcher of %s", request->model().name(),
        accelerator_->model().name()));
  }
  const size_t n = request->image_count();
  if (n == 0) return absl::InvalidArgumentError("request has no images");
  {
    std::lock_guard lock(mu_);
    if (draining_) {
      return absl::UnavailableError(absl::StrFormat(
          "model %s is shutting down and accepts no new requests", accelerator_->model().name()));
    }
    if (queued_images_ + n > options_.max_queue_images) {
      return absl::UnavailableError(absl::StrFormat(
          "model %s queue is full: %d images queued, the request adds %d, the limit is %d; "
          "retry later",
          accelerator_->model().name(), queued_images_, n, options_.max_queue_images));
    }
    queue_.push_back({std::move(request), 0});
    queued_images_ += n;
  }
  // Woken outside the lock so the dispatch thread does not wake only to block on mu_.
  work_cv_.notify_one();
  return absl::OkStatus();
}

void Batcher::Drain() {
  {
    std::lock_guard lock(mu_);
    draining_ = true;
  }
  work_cv_.notify_one();
  std::lock_guard lock(join_mu_);
  if (thread_.joinable()) thread_.join();
}

size_t Batcher::queue_depth() const {
  std::lock_guard lock(mu_);
  return queued_images_;
}

absl::Duration Batcher::DispatchLag(absl::Time now) const {
  std::lock_guard lock(mu_);
  if (dispatching_) return now - last_progress_;
  if (queue_.empty()) return absl::ZeroDuration();
  const absl::Time due =
      std::max(last_progress_, queue_.front().request->accepted_at()) + options_.max_queue_delay;
  return std::max(now - due, absl::ZeroDuration());
}

void Batcher::DispatchLoop() {
  // Named so an operator (top -H) and the watchdog test can tell the dispatch threads apart.
  pthread_setname_np(pthread_self(), "pynq-dispatch");
  while (FormBatch()) RunBatch();
}

bool Batcher::FormBatch() {
  std::unique_lock lock(mu_);
  dispatching_ = false;
  last_progress_ = absl::Now();
  work_cv_.wait(lock, [this] { return !queue_.empty() || draining_; });
  if (queue_.empty()) return false;  // draining, and everything accepted has been answered

  // Wait for a full batch, but no longer than the oldest request's delay budget. A draining
  // batcher dispatches at once: nothing new can arrive to fill the batch.
  const absl::Time deadline = queue_.front().request->accepted_at() + options_.max_queue_delay;
  work_cv_.wait_until(lock, absl::ToChronoTime(deadline), [this] {
    return queued_images_ >= options_.max_batch_size || draining_;
  });

  const absl::Time now = absl::Now();
  while (!queue_.empty() && batch_.room() > 0) {
    Queued& head = queue_.front();
    const size_t left = head.request->image_count() - head.next_image;
    const size_t take = std::min(left, batch_.room());
    batch_.Add(head.request, head.next_image, take, now);
    head.next_image += take;
    queued_images_ -= take;
    if (head.next_image == head.request->image_count()) queue_.pop_front();
  }
  dispatching_ = true;
  last_progress_ = now;
  return true;
}

void Batcher::RunBatch() {
  // Staging and the run happen outside mu_, so clients keep queueing while the accelerator works.
  batch_.Stage();
  const absl::Time start = absl::Now();
  absl::Status status = accelerator_->Run(batch_.input(), batch_.scores());
  const absl::Duration run_time = absl::Now() - start;
  if (!status.ok()) {
    status = absl::Status(status.code(),
                          absl::StrFormat("%s backend failed on a batch of %d images: %s",
                                          accelerator_->backend_name(), batch_.size(),
                                          status.message()));
  }
  batch_.Complete(status, run_time, *metrics_);
}

}  // namespace pynq::service
