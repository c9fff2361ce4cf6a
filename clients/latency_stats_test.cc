#include "clients/latency_stats.h"

#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace pynq::clients {
namespace {

std::vector<absl::Duration> Millis(int first, int last) {
  std::vector<absl::Duration> samples;
  for (int i = first; i <= last; ++i) samples.push_back(absl::Milliseconds(i));
  return samples;
}

TEST(LatencyStatsTest, EmptyIsAllZero) {
  const LatencyStats stats = ComputeLatencyStats({});
  EXPECT_EQ(stats.count, 0u);
  EXPECT_EQ(stats.min, absl::ZeroDuration());
  EXPECT_EQ(stats.mean, absl::ZeroDuration());
  EXPECT_EQ(stats.p50, absl::ZeroDuration());
  EXPECT_EQ(stats.p99, absl::ZeroDuration());
  EXPECT_EQ(stats.max, absl::ZeroDuration());
}

TEST(LatencyStatsTest, OneToHundredMillisecondsGivesNearestRanks) {
  const LatencyStats stats = ComputeLatencyStats(Millis(1, 100));
  EXPECT_EQ(stats.count, 100u);
  EXPECT_EQ(stats.min, absl::Milliseconds(1));
  EXPECT_EQ(stats.max, absl::Milliseconds(100));
  EXPECT_EQ(stats.mean, absl::Microseconds(50500));
  EXPECT_EQ(stats.p50, absl::Milliseconds(50));
  EXPECT_EQ(stats.p90, absl::Milliseconds(90));
  EXPECT_EQ(stats.p99, absl::Milliseconds(99));
}

TEST(LatencyStatsTest, OrderOfSamplesDoesNotMatter) {
  std::vector<absl::Duration> samples = Millis(1, 10);
  std::vector<absl::Duration> shuffled = {samples[7], samples[2], samples[9], samples[0],
                                          samples[5], samples[1], samples[8], samples[3],
                                          samples[6], samples[4]};
  const LatencyStats stats = ComputeLatencyStats(shuffled);
  EXPECT_EQ(stats.min, absl::Milliseconds(1));
  EXPECT_EQ(stats.p50, absl::Milliseconds(5));
  EXPECT_EQ(stats.p90, absl::Milliseconds(9));
  EXPECT_EQ(stats.p99, absl::Milliseconds(10));
  EXPECT_EQ(stats.max, absl::Milliseconds(10));
}

TEST(LatencyStatsTest, OneSampleIsEveryPercentile) {
  const LatencyStats stats = ComputeLatencyStats({absl::Microseconds(250)});
  EXPECT_EQ(stats.count, 1u);
  EXPECT_EQ(stats.p50, absl::Microseconds(250));
  EXPECT_EQ(stats.p99, absl::Microseconds(250));
  EXPECT_EQ(stats.mean, absl::Microseconds(250));
}

TEST(LatencyStatsTest, PercentileIsAlwaysASampleAndClamped) {
  const std::vector<absl::Duration> sorted = {absl::Milliseconds(1), absl::Milliseconds(2),
                                              absl::Milliseconds(4)};
  EXPECT_EQ(NearestRankPercentile(sorted, 0), absl::Milliseconds(1));
  EXPECT_EQ(NearestRankPercentile(sorted, 33.3), absl::Milliseconds(1));
  EXPECT_EQ(NearestRankPercentile(sorted, 34), absl::Milliseconds(2));
  EXPECT_EQ(NearestRankPercentile(sorted, 50), absl::Milliseconds(2));
  EXPECT_EQ(NearestRankPercentile(sorted, 67), absl::Milliseconds(4));
  EXPECT_EQ(NearestRankPercentile(sorted, 100), absl::Milliseconds(4));
  EXPECT_EQ(NearestRankPercentile(sorted, -5), absl::Milliseconds(1));
  EXPECT_EQ(NearestRankPercentile(sorted, 250), absl::Milliseconds(4));
}

TEST(LatencyStatsTest, TailPercentileOfSkewedSamples) {
  // 98 fast requests and 2 slow ones: p90 is fast, p99 catches the slow tail.
  std::vector<absl::Duration> samples(98, absl::Microseconds(100));
  samples.push_back(absl::Milliseconds(50));
  samples.push_back(absl::Milliseconds(60));
  const LatencyStats stats = ComputeLatencyStats(samples);
  EXPECT_EQ(stats.p90, absl::Microseconds(100));
  EXPECT_EQ(stats.p99, absl::Milliseconds(50));
  EXPECT_EQ(stats.max, absl::Milliseconds(60));
}

}  // namespace
}  // namespace pynq::clients
