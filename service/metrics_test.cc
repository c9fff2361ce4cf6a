#include "service/metrics.h"

#include <algorithm>
#include <random>
#include <thread>
#include <vector>

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

TEST(LatencyHistogramTest, ExportedBucketsCountExactlyByRoundBounds) {
  LatencyHistogram h;
  h.Record(absl::Microseconds(10));   // on a bound: counted in it (le is inclusive)
  h.Record(absl::Microseconds(11));
  h.Record(absl::Microseconds(99), 2);
  h.Record(absl::Seconds(20));        // above every bound
  LatencyHistogram::Export e = h.ExportBuckets();
  EXPECT_EQ(e.count, 5u);
  EXPECT_EQ(e.counts[0], 1u);  // <= 10
  EXPECT_EQ(e.counts[1], 1u);  // (10, 25]
  EXPECT_EQ(e.counts[3], 2u);  // (50, 100]
  EXPECT_EQ(e.counts.back(), 1u);
  EXPECT_NEAR(e.sum_us, 10 + 11 + 2 * 99 + 20e6, 1e-6);
}

TEST(BatchSizeHistogramTest, PowerOfTwoBuckets) {
  EXPECT_EQ(BatchSizeHistogram::BucketOf(1), 0u);
  EXPECT_EQ(BatchSizeHistogram::BucketOf(2), 1u);
  EXPECT_EQ(BatchSizeHistogram::BucketOf(3), 2u);
  EXPECT_EQ(BatchSizeHistogram::BucketOf(4), 2u);
  EXPECT_EQ(BatchSizeHistogram::BucketOf(64), 6u);
  EXPECT_EQ(BatchSizeHistogram::BucketOf(65), 7u);
  EXPECT_EQ(BatchSizeHistogram::BucketOf(1024), 10u);
  EXPECT_EQ(BatchSizeHistogram::BucketOf(5000), 11u);
  EXPECT_EQ(BatchSizeHistogram::UpperBound(6), 64u);
  EXPECT_EQ(BatchSizeHistogram::UpperBound(11), 0u);  // unbounded
}

TEST(ModelMetricsTest, CountsFailuresByReason) {
  ModelMetrics m;
  m.RecordSuccess(absl::Microseconds(300));
  m.RecordFailure(FailureReason::kQueueFull);
  m.RecordFailure(FailureReason::kQueueFull);
  m.RecordFailure(FailureReasonOf(absl::DeadlineExceededError("late")));
  m.RecordFailure(FailureReasonOf(absl::CancelledError("gone")));
  m.RecordFailure(FailureReasonOf(absl::InternalError("engine")));
  m.RecordFailedBatch();
  ModelMetricsSnapshot s = m.Snapshot(absl::Now());
  EXPECT_EQ(s.requests_ok, 1u);
  EXPECT_EQ(s.requests_failed, 5u);
  EXPECT_EQ(s.failures[static_cast<size_t>(FailureReason::kQueueFull)], 2u);
  EXPECT_EQ(s.failures[static_cast<size_t>(FailureReason::kDeadlineExceeded)], 1u);
  EXPECT_EQ(s.failures[static_cast<size_t>(FailureReason::kCancelled)], 1u);
  EXPECT_EQ(s.failures[static_cast<size_t>(FailureReason::kBackendError)], 1u);
  EXPECT_EQ(s.batches_failed, 1u);
  EXPECT_EQ(s.latency.count, 1u);
  EXPECT_EQ(FailureReasonName(FailureReason::kQueueFull), "queue_full");
}

TEST(ModelMetricsTest, CountsShadowChecks) {
  ModelMetrics m;
  m.RecordShadowCheck(true);
  m.RecordShadowCheck(true);
  m.RecordShadowCheck(false);
  m.RecordShadowSkipped();
  ModelMetricsSnapshot s = m.Snapshot(absl::Now());
  EXPECT_EQ(s.shadow_checked, 3u);
  EXPECT_EQ(s.shadow_mismatches, 1u);
  EXPECT_EQ(s.shadow_skipped, 1u);
}

TEST(ModelMetricsTest, RemembersWhenTheLastRequestSucceeded) {
  ModelMetrics m;
  EXPECT_EQ(m.Snapshot(absl::Now()).last_success, absl::InfinitePast());
  const absl::Time before = absl::Now();
  m.RecordSuccess(absl::Microseconds(10));
  const absl::Time last = m.Snapshot(absl::Now()).last_success;
  EXPECT_GE(last, before);
  EXPECT_LE(last, absl::Now());
  m.RecordFailure(FailureReason::kQueueFull);
  EXPECT_EQ(m.Snapshot(absl::Now()).last_success, last);
}

TEST(ModelMetricsTest, ThroughputOverOneTenAndSixtySecondWindows) {
  const absl::Time start = absl::FromUnixSeconds(1000);
  ModelMetrics m(start);
  // 100 images every 100 ms for 70 s: 1,000 images/s.
  for (int t = 0; t < 700; ++t) {
    m.RecordBatch(100, absl::Microseconds(50), start + t * absl::Milliseconds(100) +
                                                   absl::Milliseconds(50));
  }
  m.RecordQueueWait(absl::Microseconds(20), 7);
  // 60 ms into tick 700, which has no images yet: each window holds its whole ticks before it.
  const absl::Time now = start + absl::Seconds(70) + absl::Milliseconds(60);
  ModelMetricsSnapshot s = m.Snapshot(now);
  EXPECT_EQ(s.images, 70000u);
  EXPECT_EQ(s.batches, 700u);
  EXPECT_NEAR(s.images_per_s_1s, 900 / 0.96, 1e-6);
  EXPECT_NEAR(s.images_per_s_10s, 9900 / 9.96, 1e-6);
  EXPECT_NEAR(s.images_per_s_60s, 59900 / 59.96, 1e-6);
  EXPECT_NEAR(s.images_per_s_total, 70000 / 70.06, 1e-6);
  EXPECT_EQ(s.queue.count, 7u);
  EXPECT_EQ(s.accelerator.count, 700u);
  EXPECT_EQ(s.batch_sizes[BatchSizeHistogram::BucketOf(100)], 700u);
  // Two idle seconds later the 1 s window is empty, the 10 s one is not.
  ModelMetricsSnapshot idle = m.Snapshot(now + absl::Seconds(2));
  EXPECT_DOUBLE_EQ(idle.images_per_s_1s, 0.0);
  EXPECT_GT(idle.images_per_s_10s, 0.0);
}

TEST(ModelMetricsTest, YoungDaemonRateDividesByItsAge) {
  const absl::Time start = absl::FromUnixSeconds(5000) + absl::Milliseconds(100);
  ModelMetrics m(start);
  m.RecordBatch(50, absl::Microseconds(10), start + absl::Milliseconds(100));
  EXPECT_NEAR(m.Snapshot(start + absl::Milliseconds(500)).images_per_s_10s, 100.0, 1e-6);
}

TEST(ModelMetricsTest, ConcurrentRecordsLoseNothing) {
  const absl::Time start = absl::FromUnixSeconds(7000);
  ModelMetrics m(start);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&m, start] {
      for (int i = 0; i < kPerThread; ++i) {
        // All in one 100 ms throughput slot, which every thread updates at once.
        m.RecordBatch(3, absl::Microseconds(i % 500), start + absl::Milliseconds(50));
        m.RecordSuccess(absl::Microseconds(i % 700));
      }
    });
  }
  for (auto& th : threads) th.join();
  ModelMetricsSnapshot s = m.Snapshot(start + absl::Milliseconds(500));
  EXPECT_EQ(s.images, 3u * kThreads * kPerThread);
  EXPECT_EQ(s.requests_ok, 1u * kThreads * kPerThread);
  EXPECT_EQ(s.latency.count, 1u * kThreads * kPerThread);
  EXPECT_EQ(m.accelerator_histogram().ExportBuckets().count, 1u * kThreads * kPerThread);
  // Every image landed in the slot: the daemon is 0.5 s old.
  EXPECT_NEAR(s.images_per_s_1s * 0.5, 3.0 * kThreads * kPerThread, 1e-6);
}

}  // namespace
}  // namespace pynq::service
