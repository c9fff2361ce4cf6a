#include "service/http/rest_api.h"

#include <future>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "inference/grpc_service.pb.h"
#include "pynq_infer/v1/inference.pb.h"
#include "service/http/console_page.h"
#include "service/http/infer_json.h"
#include "service/http/proto_json.h"
#include "service/metrics.h"
#include "service/oip/model_description.h"
#include "service/proto_mapping.h"
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

// Whether `media_type` (a Content-Type without parameters) is `expected`, or starts with it when
// it ends in "/"; case-insensitive, surrounding spaces ignored.
bool IsMediaType(std::string_view media_type, std::string_view expected) {
  const absl::string_view type =
      absl::StripAsciiWhitespace(absl::string_view(media_type.data(), media_type.size()));
  const absl::string_view want(expected.data(), expected.size());
  return expected.ends_with('/') ? absl::StartsWithIgnoreCase(type, want)
                                 : absl::EqualsIgnoreCase(type, want);
}

// A picture sent as the whole body: one BYTES input holding it.
oip::InferRequest PictureRequest(std::string_view picture) {
  oip::InferRequest parsed;
  oip::InputTensor& input = parsed.inputs.emplace_back();
  input.name = oip::kInputName;
  input.datatype = oip::kBytes;
  input.shape = {1};
  std::string data;
  oip::AppendBytesElement(picture, data);
  input.data = std::move(data);
  return parsed;
}

// The JSON body, with binary input data after it when the binary tensor data extension's header
// says so.
absl::StatusOr<oip::InferRequest> ParseJsonBody(const HttpRequest& request,
                                                const oip::JsonLimits& limits) {
  std::string_view json = request.body;
  std::string_view binary;
  if (std::optional<std::string_view> header = request.Header("Inference-Header-Content-Length")) {
    size_t json_bytes = 0;
    if (!absl::SimpleAtoi(absl::string_view(header->data(), header->size()), &json_bytes) ||
        json_bytes > request.body.size()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "Inference-Header-Content-Length is \"%s\"; it must be a byte count no larger than "
          "the body's %d bytes",
          *header, request.body.size()));
    }
    json = request.body.substr(0, json_bytes);
    binary = request.body.substr(json_bytes);
  }
  return oip::ParseJsonInferRequest(json, binary, limits);
}

}  // namespace

RestApi::RestApi(const ModelRegistry* registry, Options options)
    : registry_(registry), options_(std::move(options)), started_(absl::Now()) {}

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
    case Endpoint::kMetricsJson:
      return MetricsJson();
    case Endpoint::kConsole:
      return {.content_type = "text/html; charset=utf-8",
              .body = std::string(ConsolePage()),
              // The page is one self-contained file: nothing else may run in it or frame it.
              .headers = {{"Content-Security-Policy",
                           "default-src 'none'; script-src 'unsafe-inline'; style-src "
                           "'unsafe-inline'; img-src data: blob:; connect-src 'self'; "
                           "frame-ancestors 'none'"},
                          {"X-Content-Type-Options", "nosniff"},
                          {"Cache-Control", "no-cache"}}};
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

HttpResponse RestApi::MetricsJson() const {
  const absl::Time now = absl::Now();
  ::pynq_infer::v1::GetMetricsResponse metrics;
  metrics.set_uptime_s(absl::ToDoubleSeconds(now - started_));
  const std::vector<std::shared_ptr<const ServedModel>> models = registry_->models();
  for (const auto& served : models) {
    FillModelMetrics(*served, served->metrics->Snapshot(now), metrics.add_models());
  }
  nlohmann::json json = ProtoToJson(metrics);
  // The end-to-end latency histogram's buckets (counts since start, not cumulative), so a
  // reader can take the percentiles of an interval from two readings.
  std::vector<double> bounds(LatencyHistogram::kExportBoundsUs.begin(),
                             LatencyHistogram::kExportBoundsUs.end());
  for (size_t i = 0; i < models.size(); ++i) {
    const LatencyHistogram::Export buckets =
        models[i]->metrics->latency_histogram().ExportBuckets();
    json["models"][i]["latency_buckets"] = {{"le_us", bounds}, {"counts", buckets.counts}};
  }
  return {.body = json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

HttpResponse RestApi::Infer(const Route& route, const HttpRequest& request) {
  const std::string_view content_type = request.Header("Content-Type").value_or("");
  const std::string_view media_type = content_type.substr(0, content_type.find(';'));
  const bool picture = IsMediaType(media_type, "image/");
  if (picture && !IsMediaType(media_type, "image/png") &&
      !IsMediaType(media_type, "image/jpeg") &&
      !IsMediaType(media_type, "image/x-portable-graymap")) {
    const std::string message = absl::StrFormat(
        "Content-Type \"%s\" is not a picture pynq-inferd decodes; send image/png, image/jpeg "
        "or image/x-portable-graymap, or JSON",
        content_type);
    const absl::Status refused =
        oip::RefuseUnparsed(*registry_, route.model, absl::InvalidArgumentError(message));
    return absl::IsNotFound(refused) ? JsonError(refused) : JsonError(415, message);
  }
  absl::StatusOr<oip::InferRequest> parsed =
      picture ? absl::StatusOr<oip::InferRequest>(PictureRequest(request.body))
              : ParseJsonBody(request, options_.json);
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
