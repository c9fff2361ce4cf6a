#include "service/http/rest_api.h"

#include <future>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "inference/grpc_service.pb.h"
#include "service/http/infer_json.h"
#include "service/http/proto_json.h"
#include "service/oip/model_description.h"
#include "service/submit.h"

namespace pynq::service::http {

namespace {

namespace inf = ::inference;

HttpResponse Json(const google::protobuf::Message& message) {
  return {.body = ProtoToJson(message).dump(-1, ' ', false,
                                            nlohmann::json::error_handler_t::replace)};
}

// Health answers carry their result in the status, as the specification asks: 200 with an
// empty body for true, a 4xx (400) for false, with a JSON error saying why.
HttpResponse Health(const absl::Status& status) {
  if (status.ok()) return {.content_type = "text/plain", .body = ""};
  return JsonError(400, std::string(status.message()));
}

absl::Status Draining() {
  return absl::UnavailableError("pynq-inferd is shutting down and accepts no new requests");
}

absl::StatusOr<std::shared_ptr<const ServedModel>> Lookup(const ModelRegistry& registry,
                                                          const Route& route) {
  absl::StatusOr<std::shared_ptr<const ServedModel>> served = FindModel(registry, route.model);
  if (served.ok() && !route.version.empty() && (*served)->model->version() != route.version) {
    return absl::NotFoundError(absl::StrFormat(
        "model \"%s\" version \"%s\" is not loaded; the loaded version is \"%s\"", route.model,
        route.version, (*served)->model->version()));
  }
  return served;
}

}  // namespace

RestApi::RestApi(const ModelRegistry* registry, Options options)
    : registry_(registry), options_(std::move(options)) {}

std::optional<HttpResponse> RestApi::Admit(const HttpRequest& request) const {
  if (options_.access == nullptr || !options_.access->Restricts(security::Right::kInference)) {
    return std::nullopt;
  }
  // Every method on an inference path needs the right, so a refusal does not depend on whether
  // the method is the right one (405 comes after admission).
  const std::optional<Route> route = MatchRoute(request.path);
  if (!route.has_value() || route->endpoint != Endpoint::kInfer) return std::nullopt;
  const std::string_view authorization = request.Header("Authorization").value_or("");
  const absl::Status admitted = options_.access->Admit(
      security::Right::kInference, absl::StrCat(request.method, " ", request.path),
      {.authorization = authorization, .identities = request.client_identities});
  if (admitted.ok()) return std::nullopt;
  HttpResponse refusal = JsonError(admitted);
  if (refusal.status == 401) {
    // RFC 6750 section 3: the scheme, and "invalid_token" only when a token was presented.
    refusal.headers.emplace_back("WWW-Authenticate",
                                 authorization.empty()
                                     ? R"(Bearer realm="pynq-inferd")"
                                     : R"(Bearer realm="pynq-inferd", error="invalid_token")");
  }
  return refusal;
}

HttpResponse RestApi::Handle(const HttpRequest& request) {
  const std::optional<Route> route = MatchRoute(request.path);
  if (!route.has_value()) {
    return JsonError(404, absl::StrFormat("no endpoint at %s; the Open Inference Protocol is "
                                          "under /v2 (e.g. /v2/models/{name}/infer), metrics at "
                                          "/metrics",
                                          request.path));
  }
  const bool allowed = route->method == "POST"
                           ? request.method == "POST"
                           : request.method == "GET" || request.method == "HEAD";
  if (!allowed) {
    HttpResponse response = JsonError(
        405, absl::StrFormat("%s takes %s, not %s", request.path, route->method, request.method));
    response.headers.emplace_back("Allow", route->method == "POST" ? "POST" : "GET, HEAD");
    return response;
  }
  const bool draining = shutting_down_.load(std::memory_order_relaxed);
  switch (route->endpoint) {
    case Endpoint::kLive:
      return Health(absl::OkStatus());
    case Endpoint::kReady:
      if (draining) return Health(Draining());
      return Health(registry_->models().empty()
                        ? absl::UnavailableError("pynq-inferd serves no model")
                        : absl::OkStatus());
    case Endpoint::kServerMetadata: {
      inf::ServerMetadataResponse metadata;
      oip::FillServerMetadata(
          {"classification", "model_configuration", "statistics", "binary_tensor_data"},
          &metadata);
      return Json(metadata);
    }
    case Endpoint::kAllStats: {
      inf::ModelStatisticsResponse stats;
      const absl::Time now = absl::Now();
      for (const auto& served : registry_->models()) {
        oip::FillModelStatistics(*served, served->metrics->Snapshot(now), stats.add_model_stats());
      }
      return Json(stats);
    }
    case Endpoint::kModelReady:
      return Health(draining ? Draining() : Lookup(*registry_, *route).status());
    case Endpoint::kInfer:
      return Infer(*route, request);
    case Endpoint::kMetrics:
      if (!options_.metrics_text) {
        return JsonError(404, "this pynq-inferd was built without Prometheus metrics");
      }
      return {.content_type = "text/plain; version=0.0.4; charset=utf-8",
              .body = options_.metrics_text()};
    case Endpoint::kModelMetadata:
    case Endpoint::kModelConfig:
    case Endpoint::kModelStats:
      break;
  }
  absl::StatusOr<std::shared_ptr<const ServedModel>> served = Lookup(*registry_, *route);
  if (!served.ok()) return JsonError(served.status());
  if (route->endpoint == Endpoint::kModelMetadata) {
    inf::ModelMetadataResponse metadata;
    oip::FillModelMetadata(**served, &metadata);
    return Json(metadata);
  }
  if (route->endpoint == Endpoint::kModelConfig) {
    inf::ModelConfigResponse config;
    oip::FillModelConfig(**served, options_.limits, config.mutable_config());
    return Json(config);
  }
  inf::ModelStatisticsResponse stats;
  oip::FillModelStatistics(**served, (*served)->metrics->Snapshot(absl::Now()),
                           stats.add_model_stats());
  return Json(stats);
}

HttpResponse RestApi::Infer(const Route& route, const HttpRequest& request) {
  // The binary tensor data extension: the JSON is the first Inference-Header-Content-Length
  // bytes of the body, binary input data the rest.
  std::string_view json = request.body;
  std::string_view binary;
  if (std::optional<std::string_view> header = request.Header("Inference-Header-Content-Length")) {
    size_t json_bytes = 0;
    if (!absl::SimpleAtoi(absl::string_view(header->data(), header->size()), &json_bytes) ||
        json_bytes > request.body.size()) {
      return JsonError(oip::RefuseUnparsed(
          *registry_, route.model,
          absl::InvalidArgumentError(absl::StrFormat(
              "Inference-Header-Content-Length is \"%s\"; it must be a byte count no larger "
              "than the body's %d bytes",
              *header, request.body.size()))));
    }
    json = request.body.substr(0, json_bytes);
    binary = request.body.substr(json_bytes);
  }
  absl::StatusOr<oip::InferRequest> parsed =
      oip::ParseJsonInferRequest(json, binary, options_.json);
  if (!parsed.ok()) {
    return JsonError(oip::RefuseUnparsed(*registry_, route.model, parsed.status()));
  }
  parsed->model_name = route.model;
  parsed->model_version = route.version;
  // Shared with the batcher's callback, which may still be returning from set_value() when
  // this thread has its answer and leaves.
  auto answer = std::make_shared<std::promise<absl::StatusOr<oip::InferResult>>>();
  std::future<absl::StatusOr<oip::InferResult>> answered = answer->get_future();
  const absl::Status queued = oip::SubmitInfer(
      *registry_, std::make_shared<const oip::InferRequest>(*std::move(parsed)), {},
      options_.limits,
      [answer](absl::StatusOr<oip::InferResult> result) { answer->set_value(std::move(result)); });
  if (!queued.ok()) return JsonError(queued);
  absl::StatusOr<oip::InferResult> result = answered.get();
  if (!result.ok()) return JsonError(result.status());
  EncodedInferResponse encoded = EncodeInferResult(*result);
  HttpResponse response{.body = std::move(encoded.body)};
  if (encoded.has_binary) {
    response.content_type = "application/octet-stream";
    response.headers.emplace_back("Inference-Header-Content-Length",
                                  std::to_string(encoded.json_bytes));
  }
  return response;
}

}  // namespace pynq::service::http
