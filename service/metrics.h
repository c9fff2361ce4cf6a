// Per-model serving metrics: counts, throughput over a sliding window, and latency histograms.
//
//   ModelMetrics metrics;
//   metrics.RecordBatch(images, accelerator_time);       // dispatch thread
//   metrics.RecordQueueWait(wait, images_of_request);    // dispatch thread
//   metrics.RecordRequest(end_to_end, /*ok=*/true);      // whoever answers the request
//   ModelMetricsSnapshot s = metrics.Snapshot(absl::Now());
//
// All methods are thread-safe. Each model has its own ModelMetrics, so no lock is shared by the
// requests of different models.
#ifndef PYNQ_SERVICE_METRICS_H_
#define PYNQ_SERVICE_METRICS_H_

#include <array>
#include <cstdint>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace pynq::service {

struct LatencySummary {
  uint64_t count = 0;
  double mean_us = 0;
  double p50_us = 0;
  double p90_us = 0;
  double p99_us = 0;
  double max_us = 0;
};

// A histogram of durations whose buckets grow by 5%, so a percentile read from it is within 5%
// of the exact one, in constant memory. Not thread-safe; ModelMetrics guards it.
class LatencyHistogram {
 public:
  // Records `n` samples of duration `d`.
  void Record(absl::Duration d, uint64_t n = 1);
  // Percentiles report the upper edge of the bucket holding the quantile, capped at the maximum.
  LatencySummary Summarize() const;

  // Bucket 0 holds [0, 1) us; bucket k >= 1 holds [kGrowth^(k-1), kGrowth^k) us; the last bucket
  // also takes everything longer (about 25 minutes and up).
  static constexpr double kGrowth = 1.05;
  static constexpr size_t kBuckets = 440;

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  double sum_us_ = 0;
  double max_us_ = 0;
};

struct ModelMetricsSnapshot {
  uint64_t requests_ok = 0;
  uint64_t requests_failed = 0;
  uint64_t images = 0;
  uint64_t batches = 0;
  double images_per_s_window = 0;
  double images_per_s_total = 0;
  LatencySummary latency;      // end-to-end, per successful request
  LatencySummary queue;        // per image
  LatencySummary accelerator;  // per batch
};

class ModelMetrics {
 public:
  // Length of the sliding throughput window.
  static constexpr absl::Duration kWindow = absl::Seconds(10);

  explicit ModelMetrics(absl::Time start = absl::Now());

  // A request answered: its end-to-end latency (only successful ones enter the histogram).
  void RecordRequest(absl::Duration end_to_end, bool ok);
  // A batch of `images` images that ran successfully for `accelerator` time.
  void RecordBatch(size_t images, absl::Duration accelerator, absl::Time finished = absl::Now());
  // `images` images that waited `wait` in the queue.
  void RecordQueueWait(absl::Duration wait, size_t images);

  ModelMetricsSnapshot Snapshot(absl::Time now) const;

 private:
  // Images per whole second of wall time, in a ring one slot longer than the window, so the
  // oldest slot is never reused while it could still be counted.
  static constexpr size_t kSlots = 11;

  const absl::Time start_;
  mutable std::mutex mu_;
  uint64_t requests_ok_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t requests_failed_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t images_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t batches_ ABSL_GUARDED_BY(mu_) = 0;
  std::array<int64_t, kSlots> slot_second_ ABSL_GUARDED_BY(mu_);
  std::array<uint64_t, kSlots> slot_images_ ABSL_GUARDED_BY(mu_){};
  LatencyHistogram latency_ ABSL_GUARDED_BY(mu_);
  LatencyHistogram queue_ ABSL_GUARDED_BY(mu_);
  LatencyHistogram accelerator_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pynq::service

#endif  // PYNQ_SERVICE_METRICS_H_
