#include "service/metrics.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace pynq::service {

namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

size_t FineBucketOf(double us) {
  if (us < 1.0) return 0;
  const auto k =
      static_cast<size_t>(std::floor(std::log(us) / std::log(LatencyHistogram::kGrowth))) + 1;
  return std::min(k, LatencyHistogram::kBuckets - 1);
}

double FineUpperEdge(size_t bucket) { return std::pow(LatencyHistogram::kGrowth, bucket); }

size_t CoarseBucketOf(double us) {
  const auto& bounds = LatencyHistogram::kExportBoundsUs;
  return static_cast<size_t>(std::lower_bound(bounds.begin(), bounds.end(), us) - bounds.begin());
}

void AtomicMax(std::atomic<uint64_t>& target, uint64_t value) {
  uint64_t seen = target.load(kRelaxed);
  while (seen < value && !target.compare_exchange_weak(seen, value, kRelaxed)) {
  }
}

}  // namespace

absl::string_view FailureReasonName(FailureReason reason) {
  switch (reason) {
    case FailureReason::kInvalidRequest:
      return "invalid_request";
    case FailureReason::kQueueFull:
      return "queue_full";
    case FailureReason::kShuttingDown:
      return "shutting_down";
    case FailureReason::kDeadlineExceeded:
      return "deadline_exceeded";
    case FailureReason::kCancelled:
      return "cancelled";
    case FailureReason::kBackendError:
      return "backend_error";
  }
  return "unknown";
}

FailureReason FailureReasonOf(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kDeadlineExceeded:
      return FailureReason::kDeadlineExceeded;
    case absl::StatusCode::kCancelled:
      return FailureReason::kCancelled;
    default:
      return FailureReason::kBackendError;
  }
}

void LatencyHistogram::Record(absl::Duration d, uint64_t n) {
  const double us = std::max(0.0, absl::ToDoubleMicroseconds(d));
  const auto ns = static_cast<uint64_t>(std::max<int64_t>(0, absl::ToInt64Nanoseconds(d)));
  fine_[FineBucketOf(us)].fetch_add(n, kRelaxed);
  coarse_[CoarseBucketOf(us)].fetch_add(n, kRelaxed);
  sum_ns_.fetch_add(ns * n, kRelaxed);
  AtomicMax(max_ns_, ns);
}

LatencySummary LatencyHistogram::Summarize() const {
  // Copy the buckets once and derive everything from the copy, so the percentiles agree with
  // the count even while samples arrive.
  std::array<uint64_t, kBuckets> counts;
  uint64_t total = 0;
  for (size_t k = 0; k < kBuckets; ++k) {
    counts[k] = fine_[k].load(kRelaxed);
    total += counts[k];
  }
  LatencySummary s;
  s.count = total;
  if (total == 0) return s;
  s.mean_us = static_cast<double>(sum_ns_.load(kRelaxed)) / 1e3 / static_cast<double>(total);
  s.max_us = static_cast<double>(max_ns_.load(kRelaxed)) / 1e3;
  auto quantile = [&](double q) {
    // The smallest bucket whose cumulative count reaches q of all samples.
    const auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total)));
    uint64_t seen = 0;
    for (size_t k = 0; k < kBuckets; ++k) {
      seen += counts[k];
      if (seen >= rank) return std::min(FineUpperEdge(k), s.max_us);
    }
    return s.max_us;
  };
  s.p50_us = quantile(0.50);
  s.p90_us = quantile(0.90);
  s.p99_us = quantile(0.99);
  return s;
}

LatencyHistogram::Export LatencyHistogram::ExportBuckets() const {
  Export e;
  for (size_t k = 0; k < kExportBuckets; ++k) {
    e.counts[k] = coarse_[k].load(kRelaxed);
    e.count += e.counts[k];
  }
  e.sum_us = static_cast<double>(sum_ns_.load(kRelaxed)) / 1e3;
  return e;
}

size_t BatchSizeHistogram::BucketOf(size_t batch_size) {
  if (batch_size <= 1) return 0;
  return std::min<size_t>(std::bit_width(batch_size - 1), kBuckets - 1);
}

size_t BatchSizeHistogram::UpperBound(size_t bucket) {
  return bucket + 1 >= kBuckets ? 0 : size_t{1} << bucket;
}

ModelMetrics::ModelMetrics(absl::Time start) : start_(start) {}

void ModelMetrics::RecordSuccess(absl::Duration end_to_end) {
  requests_ok_.fetch_add(1, kRelaxed);
  last_success_ns_.store(absl::ToUnixNanos(absl::Now()), kRelaxed);
  latency_.Record(end_to_end);
}

void ModelMetrics::RecordFailure(FailureReason reason) {
  failures_[static_cast<size_t>(reason)].fetch_add(1, kRelaxed);
}

void ModelMetrics::RecordBatch(size_t images, absl::Duration accelerator, absl::Time finished) {
  images_.fetch_add(images, kRelaxed);
  batches_.fetch_add(1, kRelaxed);
  accelerator_.Record(accelerator);
  batch_sizes_[BatchSizeHistogram::BucketOf(images)].fetch_add(1, kRelaxed);

  const int64_t tick = (finished - start_) / kTick;
  if (tick < 0) return;  // a clock step backwards; the counters above still have the batch
  const uint64_t tag = static_cast<uint64_t>(tick) << kCountBits;
  std::atomic<uint64_t>& slot = slots_[static_cast<size_t>(tick) % kSlots];
  uint64_t seen = slot.load(kRelaxed);
  uint64_t next;
  do {
    // Same tick: add to it. An older tick: this batch is the first of the new one.
    const bool same_tick = (seen >> kCountBits) == (tag >> kCountBits);
    next = same_tick ? seen + images : tag | images;
  } while (!slot.compare_exchange_weak(seen, next, kRelaxed));
}

void ModelMetrics::RecordFailedBatch() { batches_failed_.fetch_add(1, kRelaxed); }

void ModelMetrics::RecordShadowCheck(bool matched) {
  (matched ? shadow_matches_ : shadow_mismatches_).fetch_add(1, kRelaxed);
}

void ModelMetrics::RecordShadowSkipped() { shadow_skipped_.fetch_add(1, kRelaxed); }

void ModelMetrics::RecordQueueWait(absl::Duration wait, size_t images) {
  queue_.Record(wait, images);
}

double ModelMetrics::RateOver(absl::Duration window, int64_t now_tick, absl::Time now) const {
  const int64_t ticks = window / kTick;
  constexpr uint64_t kCountMask = (uint64_t{1} << kCountBits) - 1;
  constexpr uint64_t kTagMask = ~uint64_t{0} >> kCountBits;
  uint64_t images = 0;
  for (int64_t t = std::max<int64_t>(0, now_tick - ticks + 1); t <= now_tick; ++t) {
    const uint64_t v = slots_[static_cast<size_t>(t) % kSlots].load(kRelaxed);
    if ((v >> kCountBits) == (static_cast<uint64_t>(t) & kTagMask)) images += v & kCountMask;
  }
  // The whole ticks before the current one, plus the part of the current one that has passed.
  const absl::Duration into_tick = (now - start_) - now_tick * kTick;
  const absl::Duration covered = std::min(window - kTick + into_tick, now - start_);
  const double span_s = std::max(1e-3, absl::ToDoubleSeconds(covered));
  return static_cast<double>(images) / span_s;
}

ModelMetricsSnapshot ModelMetrics::Snapshot(absl::Time now) const {
  ModelMetricsSnapshot s;
  s.requests_ok = requests_ok_.load(kRelaxed);
  if (const int64_t ns = last_success_ns_.load(kRelaxed); ns != INT64_MIN) {
    s.last_success = absl::FromUnixNanos(ns);
  }
  for (size_t r = 0; r < kFailureReasons; ++r) {
    s.failures[r] = failures_[r].load(kRelaxed);
    s.requests_failed += s.failures[r];
  }
  s.images = images_.load(kRelaxed);
  s.batches = batches_.load(kRelaxed);
  s.batches_failed = batches_failed_.load(kRelaxed);
  s.shadow_mismatches = shadow_mismatches_.load(kRelaxed);
  s.shadow_checked = shadow_matches_.load(kRelaxed) + s.shadow_mismatches;
  s.shadow_skipped = shadow_skipped_.load(kRelaxed);
  const int64_t now_tick = std::max<int64_t>(0, (now - start_) / kTick);
  s.images_per_s_1s = RateOver(absl::Seconds(1), now_tick, now);
  s.images_per_s_10s = RateOver(absl::Seconds(10), now_tick, now);
  s.images_per_s_60s = RateOver(absl::Seconds(60), now_tick, now);
  const double uptime_s = absl::ToDoubleSeconds(now - start_);
  s.images_per_s_total = uptime_s > 0 ? static_cast<double>(s.images) / uptime_s : 0;
  s.latency = latency_.Summarize();
  s.queue = queue_.Summarize();
  s.accelerator = accelerator_.Summarize();
  for (size_t k = 0; k < BatchSizeHistogram::kBuckets; ++k) {
    s.batch_sizes[k] = batch_sizes_[k].load(kRelaxed);
  }
  return s;
}

}  // namespace pynq::service
