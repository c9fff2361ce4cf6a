#include "service/metrics.h"

#include <random>
#include <vector>
#include <algorithm>

#include "gtest/gtest.h"

namespace pynq::service {
namespace {

TEST(LatencyHistogramTest, EmptyIsAllZero) {
  LatencySummary s = LatencyHistogram().Summarize();
  EXPECT_EQ(s.count, 0u);
  EXPECT_EQ(s.p99_us, 0);
}

TEST(LatencyHistogramTest, PercentilesWithinFivePercentOfExact) {
  std::mt19937 rng(4);
  std::lognormal_distribution<double> dist(6.0, 1.2);  // ~400 us median, long tail
  LatencyHistogram h;
  std::vector<double> samples;
  for (int i = 0; i < 20000; ++i) {
    const double us = dist(rng);
    samples.push_back(us);
    h.Record(absl::Microseconds(us));
  }
  std::sort(samples.begin(), samples.end());
  auto exact = [&](double q) { return samples[static_cast<size_t>(q * samples.size()) - 1]; };
  LatencySummary s = h.Summarize();
  EXPECT_EQ(s.count, 20000u);
  EXPECT_NEAR(s.p50_us, exact(0.50), 0.051 * exact(0.50));
  EXPECT_NEAR(s.p90_us, exact(0.90), 0.051 * exact(0.90));
  EXPECT_NEAR(s.p99_us, exact(0.99), 0.051 * exact(0.99));
  EXPECT_NEAR(s.max_us, samples.back(), 0.001);  // absl::Duration keeps quarter-nanoseconds
  EXPECT_GE(s.p50_us, exact(0.50));  // the upper bucket edge never under-reports
}

TEST(LatencyHistogramTest, WeightedRecordCountsEverySample) {
  LatencyHistogram h;
  h.Record(absl::Microseconds(100), 99);
  h.Record(absl::Microseconds(10000), 1);
  LatencySummary s = h.Summarize();
  EXPECT_EQ(s.count, 100u);
  EXPECT_NEAR(s.mean_us, (99 * 100 + 10000) / 100.0, 1e-9);
  EXPECT_NEAR(s.p90_us, 100, 5);
  EXPECT_DOUBLE_EQ(s.max_us, 10000);
}

TEST(ModelMetricsTest, CountsAndWindowedThroughput) {
  const absl::Time start = absl::FromUnixSeconds(1000);
  ModelMetrics m(start);
  // 100 images in each of seconds 1000..1020.
  for (int s = 0; s <= 20; ++s) {
    m.RecordBatch(100, absl::Microseconds(50), absl::FromUnixSeconds(1000 + s) + absl::Milliseconds(500));
  }
  m.RecordRequest(absl::Microseconds(300), true);
  m.RecordRequest(absl::Microseconds(300), false);
  m.RecordQueueWait(absl::Microseconds(20), 7);
  ModelMetricsSnapshot snap = m.Snapshot(absl::FromUnixSeconds(1020) + absl::Milliseconds(600));
  EXPECT_EQ(snap.images, 2100u);
  EXPECT_EQ(snap.batches, 21u);
  EXPECT_EQ(snap.requests_ok, 1u);
  EXPECT_EQ(snap.requests_failed, 1u);
  // The window holds seconds 1011..1020 (1,000 images) and covers 9.6 s of them.
  EXPECT_NEAR(snap.images_per_s_window, 1000 / 9.6, 1e-6);
  EXPECT_NEAR(snap.images_per_s_total, 2100 / 20.6, 1e-6);
  EXPECT_EQ(snap.latency.count, 1u);
  EXPECT_EQ(snap.queue.count, 7u);
  EXPECT_EQ(snap.accelerator.count, 21u);
  // Ten idle seconds later the window is empty again.
  EXPECT_DOUBLE_EQ(m.Snapshot(absl::FromUnixSeconds(1031)).images_per_s_window, 0.0);
}

TEST(ModelMetricsTest, YoungDaemonRateDividesByItsAge) {
  const absl::Time start = absl::FromUnixSeconds(5000) + absl::Milliseconds(100);
  ModelMetrics m(start);
  m.RecordBatch(50, absl::Microseconds(10), start + absl::Milliseconds(100));
  EXPECT_NEAR(m.Snapshot(start + absl::Milliseconds(500)).images_per_s_window, 100.0, 1e-6);
}

}  // namespace
}  // namespace pynq::service
