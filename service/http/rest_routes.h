// The daemon's HTTP endpoints, by path: the web console, the Open Inference Protocol's REST API
// and the metrics.
//
//   GET  /                                      the web console (console/console.html)
//   GET  /v2/health/live                        200 while the daemon runs
//   GET  /v2/health/ready                       200 while it serves models, 400 while draining
//   GET  /v2                                    server metadata
//   GET  /v2/models/stats                       statistics of every model
//   GET  /v2/models/{name}[/versions/{v}]       model metadata
//   GET  /v2/models/{name}[/versions/{v}]/ready 200 if loaded (and of that version), else 400
//   GET  /v2/models/{name}[/versions/{v}]/config  Triton's model configuration
//   GET  /v2/models/{name}[/versions/{v}]/stats   Triton's model statistics
//   POST /v2/models/{name}[/versions/{v}]/infer   inference
//   GET  /metrics                               Prometheus text
//   GET  /metrics.json                          the metrics as JSON (pynq_infer.v1's
//                                               GetMetricsResponse, plus latency buckets)
//
//   std::optional<Route> route = MatchRoute("/v2/models/mnist-bnn-tfc/infer");
//   // route->endpoint == Endpoint::kInfer, route->model == "mnist-bnn-tfc", route->method "POST"
//
// A pure function of the path; the method is checked by the caller (405 when it differs).
#ifndef PYNQ_SERVICE_HTTP_REST_ROUTES_H_
#define PYNQ_SERVICE_HTTP_REST_ROUTES_H_

#include <optional>
#include <string>
#include <string_view>

namespace pynq::service::http {

enum class Endpoint {
  kLive,
  kReady,
  kServerMetadata,
  kAllStats,
  kModelMetadata,
  kModelReady,
  kModelConfig,
  kModelStats,
  kInfer,
  kMetrics,
  kMetricsJson,
  kConsole,
};

struct Route {
  Endpoint endpoint;
  // "GET" or "POST" (GET routes also answer HEAD).
  std::string method;
  // For the model endpoints; version is empty unless the path names one.
  std::string model;
  std::string version;
};

// The route of `path`, or nullopt (404) when no endpoint has that path.
std::optional<Route> MatchRoute(std::string_view path);

}  // namespace pynq::service::http

#endif  // PYNQ_SERVICE_HTTP_REST_ROUTES_H_
