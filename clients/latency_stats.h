// Summary statistics of client-side latency samples: what `pynq-infer eval` reports.
//
//   std::vector<absl::Duration> samples = ...;  // one per answered request
//   LatencyStats stats = ComputeLatencyStats(std::move(samples));
//   absl::PrintF("p99 %.3f ms\n", absl::ToDoubleMilliseconds(stats.p99));
//
// Percentiles use the nearest-rank definition: the p-th percentile of n sorted samples is the
// sample at 1-based rank ceil(p/100 * n) (at least 1). It is always one of the samples, never an
// interpolation, so p100 is the maximum and a percentile of one sample is that sample.
#ifndef PYNQ_CLIENTS_LATENCY_STATS_H_
#define PYNQ_CLIENTS_LATENCY_STATS_H_

#include <cstddef>
#include <vector>

#include "absl/time/time.h"
#include "absl/types/span.h"

namespace pynq::clients {

struct LatencyStats {
  size_t count = 0;
  absl::Duration min;
  absl::Duration mean;
  absl::Duration p50;
  absl::Duration p90;
  absl::Duration p99;
  absl::Duration max;
};

// Summarizes `samples` (any order; taken by value because it is sorted). With no samples every
// field is zero. Pure function; thread-safe.
LatencyStats ComputeLatencyStats(std::vector<absl::Duration> samples);

// The nearest-rank `percent` percentile (clamped to [0, 100]) of `sorted`, which must be sorted
// ascending and not empty.
absl::Duration NearestRankPercentile(absl::Span<const absl::Duration> sorted, double percent);

}  // namespace pynq::clients

#endif  // PYNQ_CLIENTS_LATENCY_STATS_H_
