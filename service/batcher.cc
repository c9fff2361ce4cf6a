#include "service/batcher.h"

#include <pthread.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"

namespace pynq::service {

namespace {

// Sorted ascending, duplicates removed.
std::vector<size_t> Normalized(std::vector<size_t> sizes) {
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  return sizes;
}

absl::StatusOr<Batcher::Options> Validate(const accel::Accelerator& accelerator,
                                          Batcher::Options options) {
  if (options.max_batch_size == 0 || options.max_queue_images == 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "max_batch_size (%d) and max_queue_images (%d) must be at least 1",
        options.max_batch_size, options.max_queue_images));
  }
  if (options.max_batch_size > accelerator.max_batch_size()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "max_batch_size %d exceeds the %s backend's maximum of %d", options.max_batch_size,
        accelerator.backend_name(), accelerator.max_batch_size()));
  }
  if (options.max_queue_delay < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("max_queue_delay must not be negative");
  }
  options.preferred_batch_sizes = Normalized(std::move(options.preferred_batch_sizes));
  const std::vector<size_t>& preferred = options.preferred_batch_sizes;
  if (!preferred.empty() && (preferred.front() == 0 || preferred.back() > options.max_batch_size)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "preferred batch sizes [%s] must each be between 1 and max_batch_size (%d)",
        absl::StrJoin(preferred, ", "), options.max_batch_size));
  }
  const size_t allowed = std::max<size_t>(1, accelerator.max_concurrent_runs());
  if (options.max_batches_in_flight > allowed) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%d batches in flight requested, but the %s backend runs at most %d at once",
        options.max_batches_in_flight, accelerator.backend_name(), allowed));
  }
  if (options.max_batches_in_flight == 0) options.max_batches_in_flight = allowed;
  return options;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Batcher>> Batcher::Create(
    std::unique_ptr<accel::Accelerator> accelerator, const Options& options,
    ModelMetrics* metrics) {
  if (accelerator == nullptr || metrics == nullptr) {
    return absl::InvalidArgumentError("Batcher needs an accelerator and metrics");
  }
  absl::StatusOr<Options> valid = Validate(*accelerator, options);
  if (!valid.ok()) return valid.status();
  std::unique_ptr<Batcher> batcher(new Batcher(std::move(accelerator), *valid, metrics));
  for (auto& worker : batcher->workers_) {
    worker->thread = std::thread([b = batcher.get(), w = worker.get()] { b->DispatchLoop(*w); });
  }
  return batcher;
}

Batcher::Batcher(std::unique_ptr<accel::Accelerator> accelerator, const Options& options,
                 ModelMetrics* metrics)
    : accelerator_(std::move(accelerator)),
      options_(options),
      target_batch_size_(options.preferred_batch_sizes.empty()
                             ? options.max_batch_size
                             : options.preferred_batch_sizes.back()),
      metrics_(metrics) {
  for (size_t i = 0; i < options_.max_batches_in_flight; ++i) {
    workers_.push_back(std::make_unique<Worker>(accelerator_->model(), options_.max_batch_size));
  }
}

Batcher::~Batcher() { Drain(); }

absl::Status Batcher::Submit(std::shared_ptr<InferenceRequest> request) {
  const accel::Model& model = accelerator_->model();
  if (&request->model() != &model) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "request for model %s submitted to the batcher of %s", request->model().name(),
        model.name()));
  }
  const size_t n = request->image_count();
  if (n == 0) return absl::InvalidArgumentError("request has no images");
  if (absl::Status wanted = request->CheckStillWanted(absl::Now()); !wanted.ok()) {
    metrics_->RecordFailure(FailureReasonOf(wanted));
    return wanted;
  }
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (draining_) {
      metrics_->RecordFailure(FailureReason::kShuttingDown);
      return absl::UnavailableError(absl::StrFormat(
          "model %s is shutting down and accepts no new requests", model.name()));
    }
    if (queued_images_ + n > options_.max_queue_images) {
      metrics_->RecordFailure(FailureReason::kQueueFull);
      return absl::UnavailableError(absl::StrFormat(
          "model %s queue is full: %d images queued, the request adds %d, the limit is %d; "
          "retry later",
          model.name(), queued_images_, n, options_.max_queue_images));
    }
    // The forming worker waits for the queue to become non-empty, then for a target batch or
    // its delay budget, whichever comes first; only those two events can change its decision.
    // Waking it for anything else would cost a futex call per request for nothing.
    wake = queue_.empty() ||
           (queued_images_ < target_batch_size_ && queued_images_ + n >= target_batch_size_);
    queue_.push_back({std::move(request), 0});
    queued_images_ += n;
  }
  // Woken outside the lock so the forming worker does not wake only to block on mu_. Only the
  // worker holding form_mu_ waits on work_cv_, so one notification reaches it.
  if (wake) work_cv_.notify_one();
  return absl::OkStatus();
}

void Batcher::StopAccepting() {
  {
    std::lock_guard lock(mu_);
    draining_ = true;
  }
  work_cv_.notify_all();
}

void Batcher::Drain() {
  StopAccepting();
  std::lock_guard lock(join_mu_);
  if (joined_) return;
  for (auto& worker : workers_) worker->thread.join();
  joined_ = true;
}

size_t Batcher::queue_depth() const {
  std::lock_guard lock(mu_);
  return queued_images_;
}

absl::Duration Batcher::DispatchLag(absl::Time now) const {
  std::lock_guard lock(mu_);
  absl::Duration lag = absl::ZeroDuration();
  for (const auto& worker : workers_) {
    if (worker->busy_since < now) lag = std::max(lag, now - worker->busy_since);
  }
  if (!queue_.empty()) {
    const absl::Time due =
        std::max(last_progress_, queue_.front().request->accepted_at()) + options_.max_queue_delay;
    lag = std::max(lag, now - due);
  }
  return lag;
}

void Batcher::DispatchLoop(Worker& worker) {
  // Named so an operator (top -H) and the watchdog test can tell the dispatch threads apart.
  pthread_setname_np(pthread_self(), "pynq-dispatch");
  while (true) {
    {
      // Back at the queue: idle until FormBatch() hands this worker a batch. Cleared before
      // waiting for form_mu_, which an idle worker may hold for as long as no work comes.
      std::lock_guard lock(mu_);
      worker.busy_since = absl::InfiniteFuture();
      last_progress_ = absl::Now();
    }
    if (!FormBatch(worker)) return;
    RunBatch(worker.batch);
  }
}

size_t Batcher::DueBatchSize(size_t queued) const {
  const size_t n = std::min(queued, options_.max_batch_size);
  const std::vector<size_t>& preferred = options_.preferred_batch_sizes;
  // The largest preferred size that n images fill; n itself when they fill none.
  auto it = std::upper_bound(preferred.begin(), preferred.end(), n);
  return it == preferred.begin() ? n : *(it - 1);
}

bool Batcher::FormBatch(Worker& worker) {
  Batch& batch = worker.batch;
  std::lock_guard leader(form_mu_);
  std::unique_lock lock(mu_);
  while (batch.size() == 0) {
    work_cv_.wait(lock, [this] { return !queue_.empty() || draining_; });
    if (queue_.empty()) return false;  // draining, and everything accepted has been answered

    // The delay budget belongs to the oldest request still wanted.
    DropDeadHeadLocked(absl::Now());
    if (queue_.empty()) {
      // Answer the dropped before waiting for new work, which may never come.
      lock.unlock();
      AnswerDropped();
      lock.lock();
      continue;
    }
    // Wait for a target batch, but no longer than the oldest request's delay budget. A draining
    // batcher dispatches at once: nothing new can arrive to fill the batch.
    const absl::Time due = queue_.front().request->accepted_at() + options_.max_queue_delay;
    work_cv_.wait_until(lock, absl::ToChronoTime(due), [this] {
      return queued_images_ >= target_batch_size_ || draining_;
    });
    TakeLocked(batch, DueBatchSize(queued_images_), absl::Now());
  }
  worker.busy_since = last_progress_ = absl::Now();
  lock.unlock();
  AnswerDropped();
  return true;
}

void Batcher::TakeLocked(Batch& batch, size_t want, absl::Time now) {
  while (!queue_.empty() && batch.size() < want) {
    Queued& head = queue_.front();
    // Checked as each request joins a batch: nothing expired or cancelled is ever dispatched.
    if (absl::Status wanted = head.request->CheckStillWanted(now); !wanted.ok()) {
      DropHeadLocked(std::move(wanted));
      continue;
    }
    const size_t left = head.request->image_count() - head.next_image;
    const size_t take = std::min(left, want - batch.size());
    batch.Add(head.request, head.next_image, take, now);
    head.next_image += take;
    queued_images_ -= take;
    if (head.next_image == head.request->image_count()) queue_.pop_front();
  }
}

void Batcher::DropDeadHeadLocked(absl::Time now) {
  while (!queue_.empty()) {
    absl::Status wanted = queue_.front().request->CheckStillWanted(now);
    if (wanted.ok()) return;
    DropHeadLocked(std::move(wanted));
  }
}

void Batcher::DropHeadLocked(absl::Status why) {
  Queued& head = queue_.front();
  const size_t left = head.request->image_count() - head.next_image;
  queued_images_ -= left;
  dropped_.push_back({std::move(head.request), left, std::move(why)});
  queue_.pop_front();
}

void Batcher::AnswerDropped() {
  for (Dropped& d : dropped_) d.request->Complete(d.images, d.status);
  dropped_.clear();
}

void Batcher::RunBatch(Batch& batch) {
  // Staging and the run happen outside every lock, so clients keep queueing and the other
  // workers keep forming and running batches while this one runs.
  batch.Stage();
  const absl::Time start = absl::Now();
  absl::Status status = accelerator_->Run(batch.input(), batch.scores());
  const absl::Duration run_time = absl::Now() - start;
  if (!status.ok()) {
    metrics_->RecordFailedBatch();
    status = Annotate(status, absl::StrFormat("%s backend failed on a batch of %d images",
                                              accelerator_->backend_name(), batch.size()));
  }
  batch.Complete(status, run_time, *metrics_);
}

}  // namespace pynq::service
