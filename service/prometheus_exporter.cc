#include "service/prometheus_exporter.h"

#include <exception>
#include <limits>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "prometheus/text_serializer.h"

namespace pynq::service {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

constexpr double kInfinity = std::numeric_limits<double>::infinity();

ClientMetric Labelled(std::vector<ClientMetric::Label> labels) {
  ClientMetric metric;
  metric.label = std::move(labels);
  return metric;
}

ClientMetric Counter(std::vector<ClientMetric::Label> labels, double value) {
  ClientMetric metric = Labelled(std::move(labels));
  metric.counter.value = value;
  return metric;
}

ClientMetric Gauge(std::vector<ClientMetric::Label> labels, double value) {
  ClientMetric metric = Labelled(std::move(labels));
  metric.gauge.value = value;
  return metric;
}

ClientMetric LatencyMetric(std::vector<ClientMetric::Label> labels, const LatencyHistogram& h) {
  const LatencyHistogram::Export e = h.ExportBuckets();
  ClientMetric metric = Labelled(std::move(labels));
  metric.histogram.sample_count = e.count;
  metric.histogram.sample_sum = e.sum_us;
  uint64_t cumulative = 0;
  for (size_t k = 0; k < LatencyHistogram::kExportBuckets; ++k) {
    cumulative += e.counts[k];
    metric.histogram.bucket.push_back(
        {.cumulative_count = cumulative,
         .upper_bound = k < LatencyHistogram::kExportBoundsUs.size()
                            ? LatencyHistogram::kExportBoundsUs[k]
                            : kInfinity});
  }
  return metric;
}

ClientMetric BatchSizeMetric(std::vector<ClientMetric::Label> labels,
                             const ModelMetricsSnapshot& s) {
  ClientMetric metric = Labelled(std::move(labels));
  metric.histogram.sample_sum = static_cast<double>(s.images);
  uint64_t cumulative = 0;
  for (size_t k = 0; k < BatchSizeHistogram::kBuckets; ++k) {
    cumulative += s.batch_sizes[k];
    const size_t bound = BatchSizeHistogram::UpperBound(k);
    metric.histogram.bucket.push_back(
        {.cumulative_count = cumulative,
         .upper_bound = bound == 0 ? kInfinity : static_cast<double>(bound)});
  }
  metric.histogram.sample_count = cumulative;
  return metric;
}

MetricFamily Family(std::string name, std::string help, MetricType type) {
  return MetricFamily{.name = std::move(name), .help = std::move(help), .type = type, .metric = {}};
}

class RegistryCollectable final : public prometheus::Collectable {
 public:
  explicit RegistryCollectable(const ModelRegistry* registry) : registry_(registry) {}
  std::vector<MetricFamily> Collect() const override {
    return CollectMetricFamilies(*registry_, absl::Now());
  }

 private:
  const ModelRegistry* const registry_;
};

}  // namespace

std::vector<MetricFamily> CollectMetricFamilies(const ModelRegistry& registry, absl::Time now) {
  MetricFamily success = Family("pynq_inference_request_success_total",
                                "Requests answered OK.", MetricType::Counter);
  MetricFamily failure = Family("pynq_inference_request_failure_total",
                                "Requests refused or failed, by reason.", MetricType::Counter);
  MetricFamily count = Family("pynq_inference_count_total", "Images classified successfully.",
                              MetricType::Counter);
  MetricFamily exec = Family("pynq_inference_exec_count_total",
                             "Batches run successfully on the accelerator.", MetricType::Counter);
  MetricFamily faults = Family("pynq_inference_engine_faults_total",
                               "Batches the accelerator failed on.", MetricType::Counter);
  MetricFamily shadow = Family(
      "pynq_inference_shadow_checks_total",
      "Engine images re-run on the CPU by the shadow check (--shadow_check_rate), by result: "
      "match, mismatch (an engine fault), skipped (the checker was behind).",
      MetricType::Counter);
  MetricFamily request_us =
      Family("pynq_inference_request_duration_us",
             "End-to-end latency of successful requests, accepted to answered, microseconds.",
             MetricType::Histogram);
  MetricFamily queue_us =
      Family("pynq_inference_queue_duration_us",
             "Time each image waited in the queue, accepted to dispatched, microseconds.",
             MetricType::Histogram);
  MetricFamily compute_us = Family("pynq_inference_compute_duration_us",
                                   "Accelerator run time per batch, microseconds.",
                                   MetricType::Histogram);
  MetricFamily batch_size = Family("pynq_inference_batch_size",
                                   "Images per successful batch.", MetricType::Histogram);
  MetricFamily depth = Family("pynq_inference_queue_depth", "Images queued now.",
                              MetricType::Gauge);
  MetricFamily rate = Family("pynq_inference_images_per_second",
                             "Images classified per second over a sliding window.",
                             MetricType::Gauge);
  MetricFamily info = Family("pynq_inference_backend_info",
                             "The model's version and the backend serving it; always 1.",
                             MetricType::Gauge);

  for (const auto& served : registry.models()) {
    const ModelMetricsSnapshot s = served->metrics->Snapshot(now);
    const std::string& name = served->model->name();
    const std::vector<ClientMetric::Label> model = {{.name = "model", .value = name}};
    success.metric.push_back(Counter(model, static_cast<double>(s.requests_ok)));
    for (size_t r = 0; r < kFailureReasons; ++r) {
      const std::string reason(FailureReasonName(static_cast<FailureReason>(r)));
      failure.metric.push_back(Counter({{.name = "model", .value = name},
                                        {.name = "reason", .value = reason}},
                                       static_cast<double>(s.failures[r])));
    }
    count.metric.push_back(Counter(model, static_cast<double>(s.images)));
    exec.metric.push_back(Counter(model, static_cast<double>(s.batches)));
    faults.metric.push_back(Counter(model, static_cast<double>(s.batches_failed)));
    const std::pair<const char*, uint64_t> shadow_results[] = {
        {"match", s.shadow_checked - s.shadow_mismatches},
        {"mismatch", s.shadow_mismatches},
        {"skipped", s.shadow_skipped}};
    for (const auto& [result, value] : shadow_results) {
      shadow.metric.push_back(
          Counter({{.name = "model", .value = name}, {.name = "result", .value = result}},
                  static_cast<double>(value)));
    }
    request_us.metric.push_back(LatencyMetric(model, served->metrics->latency_histogram()));
    queue_us.metric.push_back(LatencyMetric(model, served->metrics->queue_histogram()));
    compute_us.metric.push_back(LatencyMetric(model, served->metrics->accelerator_histogram()));
    batch_size.metric.push_back(BatchSizeMetric(model, s));
    depth.metric.push_back(Gauge(model, static_cast<double>(served->batcher->queue_depth())));
    const std::pair<const char*, double> windows[] = {
        {"1s", s.images_per_s_1s}, {"10s", s.images_per_s_10s}, {"60s", s.images_per_s_60s}};
    for (const auto& [window, value] : windows) {
      rate.metric.push_back(
          Gauge({{.name = "model", .value = name}, {.name = "window", .value = window}}, value));
    }
    info.metric.push_back(
        Gauge({{.name = "model", .value = name},
               {.name = "version", .value = served->model->version()},
               {.name = "backend",
                .value = std::string(served->batcher->accelerator().backend_name())}},
              1));
  }
  return {std::move(success),  std::move(failure),  std::move(count),      std::move(exec),
          std::move(faults),   std::move(shadow),   std::move(request_us), std::move(queue_us),
          std::move(compute_us), std::move(batch_size), std::move(depth), std::move(rate),
          std::move(info)};
}

std::string MetricsText(const ModelRegistry& registry, absl::Time now) {
  return prometheus::TextSerializer().Serialize(CollectMetricFamilies(registry, now));
}

absl::StatusOr<std::unique_ptr<PrometheusExporter>> PrometheusExporter::Start(
    const ModelRegistry* registry, const Options& options) {
  std::unique_ptr<PrometheusExporter> exporter(new PrometheusExporter());
  exporter->collectable_ = std::make_shared<RegistryCollectable>(registry);
  // prometheus-cpp's HTTP server (civetweb) reports a failed bind by throwing; no exception
  // leaves this module.
  try {
    exporter->exposer_ = std::make_unique<prometheus::Exposer>(options.listen_address, 2);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("cannot serve Prometheus metrics on ",
                                               options.listen_address, ": ", e.what()));
  }
  exporter->exposer_->RegisterCollectable(exporter->collectable_);
  const std::vector<int> ports = exporter->exposer_->GetListeningPorts();
  if (ports.empty()) {
    return absl::UnavailableError(
        absl::StrCat("Prometheus exporter on ", options.listen_address, " bound no port"));
  }
  exporter->port_ = ports.front();
  return exporter;
}

PrometheusExporter::~PrometheusExporter() {
  // The exposer goes first: a scrape in progress still uses the collectable.
  exposer_.reset();
}

}  // namespace pynq::service
