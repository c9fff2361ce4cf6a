#include "service/metrics.h"

#include <algorithm>
#include <cmath>

namespace pynq::service {

namespace {

size_t BucketOf(double us) {
  if (us < 1.0) return 0;
  const auto k = static_cast<size_t>(std::floor(std::log(us) / std::log(LatencyHistogram::kGrowth))) + 1;
  return std::min(k, LatencyHistogram::kBuckets - 1);
}

double UpperEdge(size_t bucket) { return std::pow(LatencyHistogram::kGrowth, bucket); }

}  // namespace

void LatencyHistogram::Record(absl::Duration d, uint64_t n) {
  const double us = std::max(0.0, absl::ToDoubleMicroseconds(d));
  counts_[BucketOf(us)] += n;
  count_ += n;
  sum_us_ += us * static_cast<double>(n);
  max_us_ = std::max(max_us_, us);
}

LatencySummary LatencyHistogram::Summarize() const {
  LatencySummary s;
  s.count = count_;
  if (count_ == 0) return s;
  s.mean_us = sum_us_ / static_cast<double>(count_);
  s.max_us = max_us_;
  auto quantile = [&](double q) {
    // The smallest bucket whose cumulative count reaches q of all samples.
    const auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
    uint64_t seen = 0;
    for (size_t k = 0; k < kBuckets; ++k) {
      seen += counts_[k];
      if (seen >= rank) return std::min(UpperEdge(k), max_us_);
    }
    return max_us_;
  };
  s.p50_us = quantile(0.50);
  s.p90_us = quantile(0.90);
  s.p99_us = quantile(0.99);
  return s;
}

ModelMetrics::ModelMetrics(absl::Time start) : start_(start) { slot_second_.fill(-1); }

void ModelMetrics::RecordRequest(absl::Duration end_to_end, bool ok) {
  std::lock_guard lock(mu_);
  if (ok) {
    ++requests_ok_;
    latency_.Record(end_to_end);
  } else {
    ++requests_failed_;
  }
}

void ModelMetrics::RecordBatch(size_t images, absl::Duration accelerator, absl::Time finished) {
  const int64_t second = absl::ToUnixSeconds(finished);
  std::lock_guard lock(mu_);
  images_ += images;
  ++batches_;
  accelerator_.Record(accelerator);
  const size_t slot = static_cast<size_t>(second) % kSlots;
  if (slot_second_[slot] != second) {
    slot_second_[slot] = second;
    slot_images_[slot] = 0;
  }
  slot_images_[slot] += images;
}

void ModelMetrics::RecordQueueWait(absl::Duration wait, size_t images) {
  std::lock_guard lock(mu_);
  queue_.Record(wait, images);
}

ModelMetricsSnapshot ModelMetrics::Snapshot(absl::Time now) const {
  const int64_t second = absl::ToUnixSeconds(now);
  const int64_t window_s = absl::ToInt64Seconds(kWindow);
  std::lock_guard lock(mu_);
  ModelMetricsSnapshot s;
  s.requests_ok = requests_ok_;
  s.requests_failed = requests_failed_;
  s.images = images_;
  s.batches = batches_;
  // The window is the current, partial second and the kWindow - 1 whole seconds before it; the
  // rate divides by exactly the time those slots cover (less, for a daemon younger than that).
  uint64_t in_window = 0;
  for (size_t i = 0; i < kSlots; ++i) {
    if (slot_second_[i] > second - window_s && slot_second_[i] <= second) {
      in_window += slot_images_[i];
    }
  }
  const double uptime_s = absl::ToDoubleSeconds(now - start_);
  const double covered_s =
      static_cast<double>(window_s - 1) + absl::ToDoubleSeconds(now - absl::FromUnixSeconds(second));
  const double span_s = std::max(1e-3, std::min(covered_s, uptime_s));
  s.images_per_s_window = static_cast<double>(in_window) / span_s;
  s.images_per_s_total = uptime_s > 0 ? static_cast<double>(images_) / uptime_s : 0;
  s.latency = latency_.Summarize();
  s.queue = queue_.Summarize();
  s.accelerator = accelerator_.Summarize();
  return s;
}

}  // namespace pynq::service
