// The daemon's metrics as a Prometheus text endpoint (prometheus-cpp's Exposer, HTTP GET
// /metrics), named in the style of Triton's metrics:
//
//   pynq_inference_request_success_total{model}           counter, requests answered OK
//   pynq_inference_request_failure_total{model,reason}    counter, see FailureReasonName()
//   pynq_inference_count_total{model}                     counter, images classified
//   pynq_inference_exec_count_total{model}                counter, batches run
//   pynq_inference_engine_faults_total{model}             counter, batches the backend failed
//   pynq_inference_request_duration_us{model}             histogram, end-to-end per request
//   pynq_inference_queue_duration_us{model}               histogram, queue wait per image
//   pynq_inference_compute_duration_us{model}             histogram, accelerator time per batch
//   pynq_inference_batch_size{model}                      histogram, images per batch
//   pynq_inference_queue_depth{model}                     gauge, images queued now
//   pynq_inference_images_per_second{model,window}        gauge, window = 1s, 10s, 60s
//   pynq_inference_backend_info{model,version,backend}    gauge, always 1
//
//   PYNQ_ASSIGN_OR_RETURN(std::unique_ptr<PrometheusExporter> exporter,
//                         PrometheusExporter::Start(registry.get(), {.listen_address = "0.0.0.0:9464"}));
//   spdlog::info("Prometheus metrics on port {}", exporter->port());
//
// A scrape reads the metrics' atomics (ModelMetrics::Snapshot()); it takes no lock the requests
// take. The exporter serves from its own two threads until it is destroyed.
#ifndef PYNQ_SERVICE_PROMETHEUS_EXPORTER_H_
#define PYNQ_SERVICE_PROMETHEUS_EXPORTER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "prometheus/collectable.h"
#include "prometheus/exposer.h"
#include "prometheus/metric_family.h"
#include "service/model_registry.h"

namespace pynq::service {

// Every metric family above for every model of `registry`, as of `now`. Thread-safe.
std::vector<prometheus::MetricFamily> CollectMetricFamilies(const ModelRegistry& registry,
                                                            absl::Time now);

// The same families in Prometheus' text format, as the HTTP listener's GET /metrics answers
// (the exporter's own endpoint adds prometheus-cpp's exposer_* families). Thread-safe.
std::string MetricsText(const ModelRegistry& registry, absl::Time now);

class PrometheusExporter {
 public:
  struct Options {
    // host:port to serve HTTP on; port 0 picks a free port (see port()).
    std::string listen_address = "0.0.0.0:9464";
  };

  // Starts serving /metrics. kUnavailable if the address cannot be bound. `registry` must
  // outlive the exporter.
  static absl::StatusOr<std::unique_ptr<PrometheusExporter>> Start(const ModelRegistry* registry,
                                                                   const Options& options);

  // Stops serving; blocks until the exporter's threads have ended.
  ~PrometheusExporter();

  // The port actually bound.
  int port() const { return port_; }

 private:
  PrometheusExporter() = default;

  std::shared_ptr<prometheus::Collectable> collectable_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
};

}  // namespace pynq::service

#endif  // PYNQ_SERVICE_PROMETHEUS_EXPORTER_H_
