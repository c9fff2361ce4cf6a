// The Open Inference Protocol's REST API (see rest_routes.h for the endpoints), the metrics
// (/metrics, /metrics.json) and the web console (/), over the daemon's ModelRegistry. Inference
// takes the same path as the gRPC protocols (oip/infer_call.h): the same batchers, metrics and
// deadlines; the handler's thread waits for the batcher's answer. Errors are JSON
// {"error": "..."}: 400 bad request (JSON, shape, datatype, size, parameter, picture), 404
// unknown model or endpoint, 405 wrong method, 415 a picture type it does not decode, 503 queue
// full or shutting down, 504 deadline (the request's "timeout" parameter) passed in the queue.
//
// Pictures. POST .../infer takes encoded pictures (PNG, JPEG, PGM) two ways: in the JSON as a
// BYTES input "images" of shape [N] whose data are base64 strings (or binary data, see
// json_request_parser.h), or as the whole body, the file as it is, with Content-Type image/png,
// image/jpeg or image/x-portable-graymap: that is the request {"inputs": [{"name": "images",
// "datatype": "BYTES", "shape": [1], "data": [<the file>]}]}, answered with the "scores"
// tensor. Another image/* type is 415. A bad picture is 400 naming the problem. The response's
// "parameters" say which "backend" ran it; the request parameter "return_model_input": true
// adds the output "model_input" (UINT8 [N, C, H, W], what the model saw).
//
// Access control (Admit(), which the HTTP server runs before it reads a body): inference
// (POST .../infer) needs Right::kInference of the daemon's AccessPolicy, presented as an
// "Authorization: Bearer <token>" header or, over mTLS, as the verified client certificate;
// refused: 401 with "WWW-Authenticate: Bearer" (no or an unknown credential) or 403. Health,
// metadata, configuration, statistics, the metrics and the console page stay open, as on the
// gRPC port, so a load balancer can health-check without a secret (the console asks its user
// for the token and sends it with each classification).
//
//   RestApi api(registry.get(), {.limits = {.max_images_per_request = 1024},
//                                .access = security.access});
//   if (std::optional<HttpResponse> refusal = api.Admit(request)) return *refusal;
//   HttpResponse response = api.Handle(request);   // blocks until the request is answered
//
// Thread-safe. `registry` must outlive the RestApi.
#ifndef PYNQ_SERVICE_HTTP_REST_API_H_
#define PYNQ_SERVICE_HTTP_REST_API_H_

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "service/http/http_message.h"
#include "service/http/rest_routes.h"
#include "service/model_registry.h"
#include "service/oip/infer_call.h"
#include "service/oip/json_request_parser.h"
#include "service/security/access_policy.h"

namespace pynq::service::http {

class RestApi {
 public:
  struct Options {
    oip::InferLimits limits;
    oip::JsonLimits json;
    // The Prometheus text of the daemon's metrics for GET /metrics; empty: /metrics answers 404
    // (a daemon built without Prometheus).
    std::function<std::string()> metrics_text;
    // Who may infer (see above); null admits every request.
    std::shared_ptr<const security::AccessPolicy> access;
  };

  RestApi(const ModelRegistry* registry, Options options);

  // The refusal of `request` by the access policy, or nullopt when it is admitted. Reads the
  // method, path, the Authorization header and client_identities, not the body. Does not block.
  std::optional<HttpResponse> Admit(const HttpRequest& request) const;

  // Answers `request`, which Admit() has admitted (the HTTP server runs it first). Blocks the
  // calling thread while an inference request is queued and run.
  HttpResponse Handle(const HttpRequest& request);

  // From now on /v2/health/ready and model readiness answer 400 (the daemon is draining).
  void BeginShutdown() { shutting_down_.store(true, std::memory_order_relaxed); }

 private:
  HttpResponse Infer(const Route& route, const HttpRequest& request);
  HttpResponse MetricsJson() const;

  const ModelRegistry* const registry_;
  const Options options_;
  const absl::Time started_;
  std::atomic<bool> shutting_down_{false};
};

}  // namespace pynq::service::http

#endif  // PYNQ_SERVICE_HTTP_REST_API_H_
