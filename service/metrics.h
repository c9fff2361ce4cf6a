// Per-model serving metrics: counts (requests, images, batches, failures by reason), images/s
// over sliding windows of 1 s, 10 s and 60 s, latency histograms (end-to-end, queue wait,
// accelerator time) and a batch-size histogram.
//
//   ModelMetrics metrics;
//   metrics.RecordBatch(images, accelerator_time);       // a dispatch worker, after a good run
//   metrics.RecordQueueWait(wait, images_of_request);    // a dispatch worker
//   metrics.RecordSuccess(end_to_end);                   // whoever answers the request
//   metrics.RecordFailure(FailureReason::kQueueFull);    // whoever refuses or fails it
//   ModelMetricsSnapshot s = metrics.Snapshot(absl::Now());
//
// The hot path takes no lock: every Record*() is a few relaxed atomic additions (a
// compare-and-swap for a new maximum or a new 100 ms throughput slot), so dispatch workers and
// gRPC threads never wait for each other here. Snapshot() reads the atomics one by one: a
// snapshot taken while requests complete may count a request in one figure and not yet in
// another, never more than the few in progress.
#ifndef PYNQ_SERVICE_METRICS_H_
#define PYNQ_SERVICE_METRICS_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace pynq::service {

// Why a request failed. Every failed request is counted under exactly one reason.
enum class FailureReason {
  kInvalidRequest,    // refused by validation (INVALID_ARGUMENT)
  kQueueFull,         // refused: the model's queue had no room (UNAVAILABLE)
  kShuttingDown,      // refused: the daemon is draining (UNAVAILABLE)
  kDeadlineExceeded,  // its deadline passed before it was dispatched
  kCancelled,         // the client cancelled it before it was dispatched
  kBackendError,      // the accelerator failed on one of its batches
};
inline constexpr size_t kFailureReasons = 6;

// "invalid_request", "queue_full", "shutting_down", "deadline_exceeded", "cancelled",
// "backend_error": the label users see in GetMetrics, Prometheus and the log.
absl::string_view FailureReasonName(FailureReason reason);

// The reason for a request the batcher completed with `status` (not OK): deadline and
// cancellation by their codes, anything else is the backend's.
FailureReason FailureReasonOf(const absl::Status& status);

struct LatencySummary {
  uint64_t count = 0;
  double mean_us = 0;
  double p50_us = 0;
  double p90_us = 0;
  double p99_us = 0;
  double max_us = 0;
};

// A lock-free histogram of durations. Fine buckets that grow by 5% give percentiles within 5% of
// the exact ones in constant memory; a second, coarse set of buckets with round upper bounds
// (kExportBoundsUs) is what Prometheus scrapes, counted exactly. Thread-safe.
class LatencyHistogram {
 public:
  // Upper bounds (inclusive), microseconds, of the exported buckets; one more takes the rest.
  static constexpr std::array<double, 18> kExportBoundsUs = {
      10,    25,    50,     100,    250,    500,     1000,    2500,    5000,
      10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 10000000};
  static constexpr size_t kExportBuckets = kExportBoundsUs.size() + 1;

  struct Export {
    // Samples per exported bucket (not cumulative); the last is above every bound.
    std::array<uint64_t, kExportBuckets> counts{};
    uint64_t count = 0;
    double sum_us = 0;
  };

  // Records `n` samples of duration `d`.
  void Record(absl::Duration d, uint64_t n = 1);
  // Percentiles report the upper edge of the fine bucket holding the quantile, capped at the
  // maximum, so they never under-report.
  LatencySummary Summarize() const;
  Export ExportBuckets() const;

  // Fine bucket 0 holds [0, 1) us; bucket k >= 1 holds [kGrowth^(k-1), kGrowth^k) us; the last
  // also takes everything longer (about 25 minutes and up).
  static constexpr double kGrowth = 1.05;
  static constexpr size_t kBuckets = 440;

 private:
  std::array<std::atomic<uint64_t>, kBuckets> fine_{};
  std::array<std::atomic<uint64_t>, kExportBuckets> coarse_{};
  std::atomic<uint64_t> sum_ns_{0};
  std::atomic<uint64_t> max_ns_{0};
};

// Batches by size in power-of-two buckets: bucket k holds sizes in (2^(k-1), 2^k], bucket 0
// size 1; the last bucket takes everything above 2^(kBuckets-2).
struct BatchSizeHistogram {
  static constexpr size_t kBuckets = 12;  // up to 1024, then the rest
  static size_t BucketOf(size_t batch_size);
  // The largest batch size bucket k holds (its Prometheus `le`); 0 for the last, unbounded one.
  static size_t UpperBound(size_t bucket);
};

struct ModelMetricsSnapshot {
  uint64_t requests_ok = 0;
  uint64_t requests_failed = 0;
  // When the last request was answered OK; absl::InfinitePast() if none was.
  absl::Time last_success = absl::InfinitePast();
  std::array<uint64_t, kFailureReasons> failures{};  // indexed by FailureReason
  uint64_t images = 0;
  uint64_t batches = 0;
  // Batches the accelerator failed on (engine faults, timeouts, ...).
  uint64_t batches_failed = 0;
  double images_per_s_1s = 0;
  double images_per_s_10s = 0;
  double images_per_s_60s = 0;
  double images_per_s_total = 0;
  LatencySummary latency;      // end-to-end, per successful request
  LatencySummary queue;        // per image
  LatencySummary accelerator;  // per batch
  std::array<uint64_t, BatchSizeHistogram::kBuckets> batch_sizes{};
  // Shadow verification (service/shadow_checker.h): engine images re-run on the CPU and
  // compared, of them those whose scores differed, and samples skipped (the checker was behind).
  uint64_t shadow_checked = 0;
  uint64_t shadow_mismatches = 0;
  uint64_t shadow_skipped = 0;
};

class ModelMetrics {
 public:
  explicit ModelMetrics(absl::Time start = absl::Now());

  ModelMetrics(const ModelMetrics&) = delete;
  ModelMetrics& operator=(const ModelMetrics&) = delete;

  // A request answered OK, `end_to_end` after it was accepted.
  void RecordSuccess(absl::Duration end_to_end);
  // A request refused or failed; each failed request is recorded once.
  void RecordFailure(FailureReason reason);
  // A batch of `images` images that ran successfully for `accelerator` time.
  void RecordBatch(size_t images, absl::Duration accelerator, absl::Time finished = absl::Now());
  // A batch the accelerator failed on.
  void RecordFailedBatch();
  // `images` images that waited `wait` in the queue.
  void RecordQueueWait(absl::Duration wait, size_t images);
  // A shadow check of one engine image: its scores equal the CPU's, or not.
  void RecordShadowCheck(bool matched);
  // A sample the shadow checker had no room for.
  void RecordShadowSkipped();

  ModelMetricsSnapshot Snapshot(absl::Time now) const;

  // The histograms behind the snapshot's summaries, for exporters that need their buckets.
  const LatencyHistogram& latency_histogram() const { return latency_; }
  const LatencyHistogram& queue_histogram() const { return queue_; }
  const LatencyHistogram& accelerator_histogram() const { return accelerator_; }

 private:
  // Throughput is counted in 100 ms ticks, in a ring one tick longer than the longest window, so
  // a slot is never reused while it could still be counted. Each slot packs the tick it counts
  // (high bits, modulo 2^28: 310 days of ticks since start) and its image count (low kCountBits)
  // into one word, so moving a slot to a new tick and adding to it is one compare-and-swap, with
  // no lost update.
  static constexpr absl::Duration kTick = absl::Milliseconds(100);
  static constexpr size_t kSlots = 601;
  static constexpr int kCountBits = 36;

  // Images in the ticks of the last `window` (the current, partial tick included), per second of
  // the time those ticks cover (less for a daemon younger than the window).
  double RateOver(absl::Duration window, int64_t now_tick, absl::Time now) const;

  const absl::Time start_;
  std::atomic<uint64_t> requests_ok_{0};
  // absl::ToUnixNanos() of the last success; INT64_MIN if none.
  std::atomic<int64_t> last_success_ns_{INT64_MIN};
  std::array<std::atomic<uint64_t>, kFailureReasons> failures_{};
  std::atomic<uint64_t> images_{0};
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> batches_failed_{0};
  std::array<std::atomic<uint64_t>, kSlots> slots_{};
  LatencyHistogram latency_;
  LatencyHistogram queue_;
  LatencyHistogram accelerator_;
  std::array<std::atomic<uint64_t>, BatchSizeHistogram::kBuckets> batch_sizes_{};
  std::atomic<uint64_t> shadow_matches_{0};
  std::atomic<uint64_t> shadow_mismatches_{0};
  std::atomic<uint64_t> shadow_skipped_{0};
};

}  // namespace pynq::service

#endif  // PYNQ_SERVICE_METRICS_H_
