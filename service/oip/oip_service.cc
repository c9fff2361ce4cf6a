#include "service/oip/oip_service.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "service/grpc_status.h"
#include "service/inference_service.h"
#include "service/oip/grpc_request_parser.h"
#include "service/oip/model_description.h"
#include "service/ordered_stream.h"
#include "service/security/grpc_security.h"
#include "service/submit.h"

namespace pynq::service::oip {

namespace {

namespace inf = ::inference;

grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* context, const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

// The model named in a metadata request, checking the version when one is given.
absl::StatusOr<std::shared_ptr<const ServedModel>> Lookup(const ModelRegistry& registry,
                                                          const std::string& name,
                                                          const std::string& version) {
  absl::StatusOr<std::shared_ptr<const ServedModel>> served = FindModel(registry, name);
  if (served.ok() && !version.empty() && (*served)->model->version() != version) {
    return absl::NotFoundError(absl::StrCat("model \"", name, "\" version \"", version,
                                            "\" is not loaded; the loaded version is \"",
                                            (*served)->model->version(), "\""));
  }
  return served;
}

}  // namespace

void FillModelInferResponse(const InferResult& result, inf::ModelInferResponse* out) {
  out->set_model_name(result.model_name);
  out->set_model_version(result.model_version);
  out->set_id(result.id);
  for (const OutputTensor& tensor : result.outputs) {
    inf::ModelInferResponse::InferOutputTensor* o = out->add_outputs();
    o->set_name(tensor.name);
    o->set_datatype(tensor.datatype);
    for (int64_t d : tensor.shape) o->add_shape(d);
    o->mutable_contents()->mutable_int_contents()->Add(tensor.int32s.begin(),
                                                       tensor.int32s.end());
    for (const std::string& s : tensor.strings) o->mutable_contents()->add_bytes_contents(s);
    for (char c : tensor.uint8s) {
      o->mutable_contents()->add_uint_contents(static_cast<unsigned char>(c));
    }
  }
  if (!result.backend.empty()) {
    (*out->mutable_parameters())["backend"].set_string_param(result.backend);
  }
}

OipService::OipService(ModelRegistry* registry, OpenCalls* calls, const Options& options)
    : registry_(registry), calls_(calls), options_(options) {}

grpc::ServerUnaryReactor* OipService::ServerLive(grpc::CallbackServerContext* context,
                                                 const inf::ServerLiveRequest*,
                                                 inf::ServerLiveResponse* response) {
  response->set_live(true);
  return Answer(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* OipService::ServerReady(grpc::CallbackServerContext* context,
                                                  const inf::ServerReadyRequest*,
                                                  inf::ServerReadyResponse* response) {
  response->set_ready(!shutting_down_.load(std::memory_order_relaxed) &&
                      !registry_->models().empty());
  return Answer(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* OipService::ModelReady(grpc::CallbackServerContext* context,
                                                 const inf::ModelReadyRequest* request,
                                                 inf::ModelReadyResponse* response) {
  // An unknown model is not ready rather than an error, as the specification's REST
  // counterpart answers a status rather than a failure.
  response->set_ready(!shutting_down_.load(std::memory_order_relaxed) &&
                      Lookup(*registry_, request->name(), request->version()).ok());
  return Answer(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* OipService::ServerMetadata(grpc::CallbackServerContext* context,
                                                     const inf::ServerMetadataRequest*,
                                                     inf::ServerMetadataResponse* response) {
  FillServerMetadata({"classification", "model_configuration", "statistics"}, response);
  return Answer(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* OipService::ModelMetadata(grpc::CallbackServerContext* context,
                                                    const inf::ModelMetadataRequest* request,
                                                    inf::ModelMetadataResponse* response) {
  absl::StatusOr<std::shared_ptr<const ServedModel>> served =
      Lookup(*registry_, request->name(), request->version());
  if (served.ok()) FillModelMetadata(**served, response);
  return Answer(context, served.status());
}

grpc::ServerUnaryReactor* OipService::ModelConfig(grpc::CallbackServerContext* context,
                                                  const inf::ModelConfigRequest* request,
                                                  inf::ModelConfigResponse* response) {
  absl::StatusOr<std::shared_ptr<const ServedModel>> served =
      Lookup(*registry_, request->name(), request->version());
  if (served.ok()) FillModelConfig(**served, options_.limits, response->mutable_config());
  return Answer(context, served.status());
}

grpc::ServerUnaryReactor* OipService::ModelStatistics(grpc::CallbackServerContext* context,
                                                      const inf::ModelStatisticsRequest* request,
                                                      inf::ModelStatisticsResponse* response) {
  const absl::Time now = absl::Now();
  if (request->name().empty()) {
    for (const auto& served : registry_->models()) {
      FillModelStatistics(*served, served->metrics->Snapshot(now), response->add_model_stats());
    }
    return Answer(context, absl::OkStatus());
  }
  absl::StatusOr<std::shared_ptr<const ServedModel>> served =
      Lookup(*registry_, request->name(), request->version());
  if (served.ok()) {
    FillModelStatistics(**served, (*served)->metrics->Snapshot(now), response->add_model_stats());
  }
  return Answer(context, served.status());
}

absl::Status OipService::Submit(const inf::ModelInferRequest& request,
                                inf::ModelInferResponse* response,
                                const InferenceRequest::Options& caller,
                                std::function<void(const absl::Status&)> answered) {
  absl::StatusOr<InferRequest> parsed = ParseModelInferRequest(request);
  if (!parsed.ok()) return RefuseUnparsed(*registry_, request.model_name(), parsed.status());
  return SubmitInfer(*registry_, std::make_shared<const InferRequest>(*std::move(parsed)), caller,
                     options_.limits,
                     [response, answered = std::move(answered)](absl::StatusOr<InferResult> result) {
                       if (result.ok()) FillModelInferResponse(*result, response);
                       answered(result.status());
                     });
}

grpc::ServerUnaryReactor* OipService::ModelInfer(grpc::CallbackServerContext* context,
                                                 const inf::ModelInferRequest* request,
                                                 inf::ModelInferResponse* response) {
  auto* call = new CountedUnaryCall(calls_);
  if (absl::Status admitted = security::AdmitCall(options_.access.get(),
                                                  security::Right::kInference, "ModelInfer",
                                                  *context);
      !admitted.ok()) {
    call->Finish(ToGrpcStatus(admitted));
    return call;
  }
  absl::Status queued =
      Submit(*request, response, CallerOf(context), [call](const absl::Status& status) {
        call->Finish(ToGrpcStatus(status));
      });
  if (!queued.ok()) call->Finish(ToGrpcStatus(queued));
  return call;
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* OipService::ModelStreamInfer(
    grpc::CallbackServerContext* context) {
  if (absl::Status admitted = security::AdmitCall(
          options_.access.get(), security::Right::kInference, "ModelStreamInfer", *context);
      !admitted.ok()) {
    return new security::RefusedStream<grpc::ByteBuffer, grpc::ByteBuffer>(
        ToGrpcStatus(admitted));
  }
  return new OrderedStreamReactor<inf::ModelInferRequest, inf::ModelStreamInferResponse>(
      calls_, CallerOf(context), options_.max_stream_in_flight,
      [this](const inf::ModelInferRequest& request, inf::ModelStreamInferResponse* response,
             const InferenceRequest::Options& caller,
             std::function<void(const absl::Status&)> answered) {
        return Submit(request, response->mutable_infer_response(), caller, std::move(answered));
      },
      [](const inf::ModelInferRequest& request, const absl::Status& status,
         inf::ModelStreamInferResponse* response) {
        response->set_error_message(status.ToString());
        response->mutable_infer_response()->set_model_name(request.model_name());
        response->mutable_infer_response()->set_id(request.id());
      });
}

}  // namespace pynq::service::oip
