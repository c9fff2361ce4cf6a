// The median the benchmark programs report over their alternating rounds: rounds on a shared
// machine are noisy, and the median ignores a single disturbed one.
#ifndef PYNQ_BENCH_MEDIAN_H_
#define PYNQ_BENCH_MEDIAN_H_

#include <algorithm>
#include <vector>

namespace pynq::bench {

// The middle value of `v` (the upper middle for an even count). `v` must not be empty.
inline double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace pynq::bench

#endif  // PYNQ_BENCH_MEDIAN_H_
