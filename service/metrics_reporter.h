// One spdlog summary line per model per interval, for operators who read the journal rather than
// scrape metrics:
//
//   mnist-bnn-tfc [cpu] last 60s: 25340.2 images/s (1s 24800.0, 60s 25340.2), requests +1520304 ok
//   +12 failed (queue_full 12), batches +40012 (mean 38.0 images), latency us p50 812 p99 2210,
//   queue us p99 640, accelerator us p99 95, queue depth 17; since start 9120000 ok 12 failed
//
//   std::unique_ptr<MetricsReporter> reporter = MetricsReporter::Start(registry.get(), absl::Seconds(60));
//   ...
//   reporter.reset();   // stops the thread
//
// Percentiles are since start (the histograms are cumulative); counts are the increase since the
// previous line.
#ifndef PYNQ_SERVICE_METRICS_REPORTER_H_
#define PYNQ_SERVICE_METRICS_REPORTER_H_

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "service/metrics.h"
#include "service/model_registry.h"

namespace pynq::service {

// The summary line of `served` for the `interval` from `previous` to `now` (both snapshots of
// its metrics). Pure function.
std::string SummaryLine(const ServedModel& served, const ModelMetricsSnapshot& previous,
                        const ModelMetricsSnapshot& now, absl::Duration interval);

class MetricsReporter {
 public:
  // Logs every model's SummaryLine() at info level every `interval` (> 0) from a thread of its
  // own. `registry` must outlive the reporter.
  static std::unique_ptr<MetricsReporter> Start(const ModelRegistry* registry,
                                                absl::Duration interval);

  // Stops the thread (without a last line; call LogNow() for one). Blocks until it has ended.
  ~MetricsReporter();

  // Logs the lines for the time since the previous ones now, from the calling thread.
  // Thread-safe.
  void LogNow();

 private:
  MetricsReporter(const ModelRegistry* registry, absl::Duration interval);
  void Loop();

  const ModelRegistry* const registry_;
  const absl::Duration interval_;
  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  // The snapshots the previous lines ended with, by model name, and when.
  std::map<std::string, ModelMetricsSnapshot> previous_ ABSL_GUARDED_BY(mu_);
  absl::Time previous_at_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace pynq::service

#endif  // PYNQ_SERVICE_METRICS_REPORTER_H_
