#include "service/inference_service.h"

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "base/status_macros.h"
#include "service/classify_request.h"
#include "service/grpc_status.h"
#include "service/ordered_stream.h"
#include "service/proto_mapping.h"
#include "service/security/grpc_security.h"
#include "service/submit.h"
#include "spdlog/spdlog.h"

namespace pynq::service {

namespace v1 = ::pynq_infer::v1;
using security::AdmitCall;
using security::Right;

InferenceRequest::Options CallerOf(grpc::CallbackServerContext* context) {
  // gRPC reports "no deadline" as the largest time point.
  const std::chrono::system_clock::time_point deadline = context->deadline();
  return {.deadline = deadline == std::chrono::system_clock::time_point::max()
                          ? absl::InfiniteFuture()
                          : absl::FromChrono(deadline),
          // The context outlives the request's time in the queue: the call is finished only
          // after every image of the request has left it.
          .is_cancelled = [context] { return context->IsCancelled(); }};
}

InferenceService::InferenceService(ModelRegistry* registry, OpenCalls* calls,
                                   const Options& options)
    : registry_(registry), calls_(calls), options_(options), started_(absl::Now()) {}

absl::StatusOr<std::shared_ptr<const ServedModel>> InferenceService::Validate(
    const v1::ClassifyRequest& request) const {
  PYNQ_ASSIGN_OR_RETURN(std::shared_ptr<const ServedModel> served,
                        FindModel(*registry_, request.model()));
  PYNQ_RETURN_IF_ERROR(ValidateClassifyRequest(
      request, *served->model,
      {.max_images_per_request = options_.max_images_per_request,
       .picture_limits = options_.picture_limits}));
  return served;
}

absl::Status InferenceService::Submit(const v1::ClassifyRequest& request,
                                      v1::ClassifyResponse* response,
                                      const InferenceRequest::Options& caller,
                                      std::function<void(const absl::Status&)> on_done) {
  absl::StatusOr<std::shared_ptr<const ServedModel>> served = Validate(request);
  if (!served.ok()) {
    if (std::shared_ptr<const ServedModel> m = registry_->Find(request.model()); m != nullptr) {
      m->metrics->RecordFailure(FailureReason::kInvalidRequest);
    }
    return served.status();
  }
  // Pictures become model inputs here, in memory the callbacks own until the request is done.
  absl::StatusOr<std::shared_ptr<const std::vector<uint8_t>>> prepared =
      PrepareClassifyPictures(request, *(*served)->model, options_.picture_limits);
  if (!prepared.ok()) {
    (*served)->metrics->RecordFailure(FailureReason::kInvalidRequest);
    return prepared.status();
  }
  std::vector<std::string_view> images(request.images().begin(), request.images().end());
  if (*prepared != nullptr) {
    const size_t bytes = (*served)->model->input_bytes();
    for (int i = 0; i < request.encoded_images_size(); ++i) {
      images.emplace_back(reinterpret_cast<const char*>((*prepared)->data()) + i * bytes, bytes);
    }
  }
  return SubmitImages(
      *std::move(served), std::move(images), caller,
      [&request, response](const InferenceRequest& done, const ServedModel& model) {
        FillResults(request, done, model, response);
      },
      // `prepared` only keeps the pictures' inputs, which `images` views, alive.
      [prepared = *std::move(prepared), on_done = std::move(on_done)](const absl::Status& status) {
        on_done(status);
      });
}

grpc::ServerUnaryReactor* InferenceService::Classify(grpc::CallbackServerContext* context,
                                                     const v1::ClassifyRequest* request,
                                                     v1::ClassifyResponse* response) {
  auto* call = new CountedUnaryCall(calls_);
  if (absl::Status admitted =
          AdmitCall(options_.access.get(), Right::kInference, "Classify", *context);
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

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* InferenceService::ClassifyStream(
    grpc::CallbackServerContext* context) {
  if (absl::Status admitted =
          AdmitCall(options_.access.get(), Right::kInference, "ClassifyStream", *context);
      !admitted.ok()) {
    return new security::RefusedStream<grpc::ByteBuffer, grpc::ByteBuffer>(
        ToGrpcStatus(admitted));
  }
  return new OrderedStreamReactor<v1::ClassifyRequest, v1::ClassifyResponse>(
      calls_, CallerOf(context), options_.max_stream_in_flight,
      [this](const v1::ClassifyRequest& request, v1::ClassifyResponse* response,
             const InferenceRequest::Options& caller,
             std::function<void(const absl::Status&)> answered) {
        return Submit(request, response, caller, std::move(answered));
      },
      [](const v1::ClassifyRequest& request, const absl::Status& status,
         v1::ClassifyResponse* response) {
        response->set_tag(request.tag());
        response->set_model(request.model());
        ToErrorProto(status, response->mutable_error());
      });
}

grpc::ServerUnaryReactor* InferenceService::GetMetrics(grpc::CallbackServerContext* context,
                                                       const v1::GetMetricsRequest* request,
                                                       v1::GetMetricsResponse* response) {
  const absl::Time now = absl::Now();
  response->set_uptime_s(absl::ToDoubleSeconds(now - started_));
  for (const auto& served : registry_->models()) {
    v1::ModelMetrics* m = response->add_models();
    FillModelMetrics(*served, served->metrics->Snapshot(now), m);
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* InferenceService::ListModels(grpc::CallbackServerContext* context,
                                                       const v1::ListModelsRequest* request,
                                                       v1::ListModelsResponse* response) {
  for (const auto& served : registry_->models()) FillModelInfo(*served, response->add_models());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

absl::Status InferenceService::CheckManagementAllowed(std::string_view rpc) const {
  if (options_.allow_model_management) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrFormat(
      "%s is disabled: the daemon changes its models at run time only when started with "
      "--allow_model_management",
      rpc));
}

grpc::ServerUnaryReactor* InferenceService::LoadModel(grpc::CallbackServerContext* context,
                                                      const v1::LoadModelRequest* request,
                                                      v1::LoadModelResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // Credentials first: a caller without them learns nothing about the daemon's configuration.
  if (absl::Status admitted =
          AdmitCall(options_.access.get(), Right::kManagement, "LoadModel", *context);
      !admitted.ok()) {
    reactor->Finish(ToGrpcStatus(admitted));
    return reactor;
  }
  if (absl::Status allowed = CheckManagementAllowed("LoadModel"); !allowed.ok()) {
    reactor->Finish(ToGrpcStatus(allowed));
    return reactor;
  }
  absl::StatusOr<ModelRegistry::LoadResult> result = registry_->Load(request->file());
  if (!result.ok()) {
    spdlog::warn("LoadModel \"{}\" failed: {}", request->file(), result.status().ToString());
    reactor->Finish(ToGrpcStatus(result.status()));
    return reactor;
  }
  const ServedModel& loaded = *result->loaded;
  FillModelInfo(loaded, response->mutable_model());
  response->set_replaced(result->replaced != nullptr);
  if (result->replaced != nullptr) {
    response->set_replaced_version(result->replaced->model->version());
    spdlog::info("LoadModel: model {} {} from {} replaces version {}", loaded.model->name(),
                 loaded.model->version(), loaded.path, result->replaced->model->version());
  } else {
    spdlog::info("LoadModel: model {} {} from {}", loaded.model->name(), loaded.model->version(),
                 loaded.path);
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* InferenceService::UnloadModel(grpc::CallbackServerContext* context,
                                                        const v1::UnloadModelRequest* request,
                                                        v1::UnloadModelResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::Status admitted =
          AdmitCall(options_.access.get(), Right::kManagement, "UnloadModel", *context);
      !admitted.ok()) {
    reactor->Finish(ToGrpcStatus(admitted));
    return reactor;
  }
  if (absl::Status allowed = CheckManagementAllowed("UnloadModel"); !allowed.ok()) {
    reactor->Finish(ToGrpcStatus(allowed));
    return reactor;
  }
  absl::StatusOr<std::shared_ptr<const ServedModel>> unloaded =
      registry_->Unload(request->model());
  if (!unloaded.ok()) {
    reactor->Finish(ToGrpcStatus(unloaded.status()));
    return reactor;
  }
  response->set_version((*unloaded)->model->version());
  spdlog::info("UnloadModel: model {} {} unloaded; it answers what it accepted, then is freed",
               request->model(), (*unloaded)->model->version());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace pynq::service
