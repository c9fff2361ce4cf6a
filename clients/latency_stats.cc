#include "clients/latency_stats.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/time/time.h"
#include "absl/types/span.h"

namespace pynq::clients {

absl::Duration NearestRankPercentile(absl::Span<const absl::Duration> sorted, double percent) {
  const double p = std::clamp(percent, 0.0, 100.0);
  const size_t n = sorted.size();
  // Round the rank product first so that binary-fraction noise (0.9 * 100 = 90.00000000000001)
  // does not push ceil() to the next rank.
  const double exact_rank = std::round(p / 100.0 * static_cast<double>(n) * 1e9) / 1e9;
  const size_t rank = std::clamp<size_t>(static_cast<size_t>(std::ceil(exact_rank)), 1, n);
  return sorted[rank - 1];
}

LatencyStats ComputeLatencyStats(std::vector<absl::Duration> samples) {
  LatencyStats stats;
  if (samples.empty()) return stats;
  std::sort(samples.begin(), samples.end());
  absl::Duration total;
  for (absl::Duration d : samples) total += d;
  stats.count = samples.size();
  stats.min = samples.front();
  stats.max = samples.back();
  stats.mean = total / static_cast<int64_t>(samples.size());
  stats.p50 = NearestRankPercentile(samples, 50);
  stats.p90 = NearestRankPercentile(samples, 90);
  stats.p99 = NearestRankPercentile(samples, 99);
  return stats;
}

}  // namespace pynq::clients
