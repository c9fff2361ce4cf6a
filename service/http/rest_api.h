// The Open Inference Protocol's REST API (see rest_routes.h for the endpoints) and /metrics, over
// the daemon's ModelRegistry. Inference takes the same path as the gRPC protocols (oip/
// infer_call.h): the same batchers, metrics and deadlines; the handler's thread waits for the
// batcher's answer. Errors are JSON {"error": "..."}: 400 bad request (JSON, shape, datatype,
// size, parameter), 404 unknown model or endpoint, 405 wrong method, 503 queue full or
// shutting down, 504 deadline (the request's "timeout" parameter) passed in the queue.
//
//   RestApi api(registry.get(), {.limits = {.max_images_per_request = 1024}});
//   HttpResponse response = api.Handle(request);   // blocks until the request is answered
//
// Thread-safe. `registry` must outlive the RestApi.
#ifndef PYNQ_SERVICE_HTTP_REST_API_H_
#define PYNQ_SERVICE_HTTP_REST_API_H_

#include <atomic>
#include <functional>
#include <string>

#include "service/http/http_message.h"
#include "service/http/rest_routes.h"
#include "service/model_registry.h"
#include "service/oip/infer_call.h"
#include "service/oip/json_request_parser.h"

namespace pynq::service::http {

class RestApi {
 public:
  struct Options {
    oip::InferLimits limits;
    oip::JsonLimits json;
    // The Prometheus text of the daemon's metrics for GET /metrics; empty: /metrics answers 404
    // (a daemon built without Prometheus).
    std::function<std::string()> metrics_text;
  };

  RestApi(const ModelRegistry* registry, Options options);

  // Answers `request`. Blocks the calling thread while an inference request is queued and run.
  HttpResponse Handle(const HttpRequest& request);

  // From now on /v2/health/ready and model readiness answer 400 (the daemon is draining).
  void BeginShutdown() { shutting_down_.store(true, std::memory_order_relaxed); }

 private:
  HttpResponse Infer(const Route& route, const HttpRequest& request);

  const ModelRegistry* const registry_;
  const Options options_;
  std::atomic<bool> shutting_down_{false};
};

}  // namespace pynq::service::http

#endif  // PYNQ_SERVICE_HTTP_REST_API_H_
