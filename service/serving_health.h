// What the daemon tells systemd about itself (see SystemdNotifier): whether every model's
// dispatch path is alive, for the watchdog, and a one-line summary for STATUS=.
//
//   absl::Status alive = CheckDispatchAlive(*registry, absl::Seconds(10), absl::Now());
//   std::string line = DescribeServing(*registry, absl::Now());
//   // "serving mnist-bnn-tfc (cpu) at 812.3 images/s"
//
// Both only read the registry's thread-safe queries, so any thread may call them.
#ifndef PYNQ_SERVICE_SERVING_HEALTH_H_
#define PYNQ_SERVICE_SERVING_HEALTH_H_

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "service/model_registry.h"

namespace pynq::service {

// kUnavailable, naming the model and how far behind it is, if any model's dispatch thread lags
// more than `bound` (Batcher::DispatchLag()): one accelerator run has lasted longer than that,
// or queued work has waited that long past its delay for the thread to come back.
absl::Status CheckDispatchAlive(const ModelRegistry& registry, absl::Duration bound,
                                absl::Time now);

// Each model with its backend and its throughput over the last 10 seconds (the
// images_per_s_10s of ModelMetrics::Snapshot()), for systemd's STATUS= line, e.g.
// "serving mnist-bnn-tfc (cpu) at 812.5 images/s".
std::string DescribeServing(const ModelRegistry& registry, absl::Time now);

}  // namespace pynq::service

#endif  // PYNQ_SERVICE_SERVING_HEALTH_H_
