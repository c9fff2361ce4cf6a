#include "service/inference_service.h"

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "service/classify_stream.h"
#include "service/grpc_status.h"
#include "service/proto_mapping.h"
#include "spdlog/spdlog.h"

namespace pynq::service {

namespace v1 = ::pynq_infer::v1;

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

InferenceService::InferenceService(ModelRegistry* registry, const Options& options)
    : registry_(registry), options_(options), started_(absl::Now()) {}

absl::StatusOr<std::shared_ptr<const ServedModel>> InferenceService::Validate(
    const v1::ClassifyRequest& request) const {
  std::shared_ptr<const ServedModel> served = registry_->Find(request.model());
  if (served == nullptr) {
    std::vector<std::string> names;
    for (const auto& m : registry_->models()) names.push_back(m->model->name());
    return absl::NotFoundError(absl::StrFormat("model \"%s\" is not loaded; loaded models: %s",
                                               request.model(), absl::StrJoin(names, ", ")));
  }
  const accel::Model& model = *served->model;
  const size_t n = request.images_size();
  if (n == 0) return absl::InvalidArgumentError("request has no images");
  if (n > options_.max_images_per_request) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "request has %d images, more than the %d allowed per request", n,
        options_.max_images_per_request));
  }
  for (size_t i = 0; i < n; ++i) {
    if (request.images(i).size() != model.input_bytes()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "image %d has %d bytes; model %s takes %dx%dx%d uint8 images of %d bytes", i,
          request.images(i).size(), model.name(), model.input_shape().c, model.input_shape().h,
          model.input_shape().w, model.input_bytes()));
    }
  }
  if (request.top_k() > model.num_classes()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "top_k is %d, but model %s has only %d classes", request.top_k(), model.name(),
        model.num_classes()));
  }
  return served;
}

absl::Status InferenceService::Submit(const v1::ClassifyRequest& request,
                                      v1::ClassifyResponse* response,
                                      const InferenceRequest::Options& caller,
                                      std::function<void(const absl::Status&)> on_done) {
  absl::StatusOr<std::shared_ptr<const ServedModel>> served = Validate(request);
  if (served.ok() && refusing_) {
    (*served)->metrics->RecordFailure(FailureReason::kShuttingDown);
    return absl::UnavailableError("pynq-inferd is shutting down and accepts no new requests");
  }
  if (!served.ok()) {
    if (std::shared_ptr<const ServedModel> m = registry_->Find(request.model()); m != nullptr) {
      m->metrics->RecordFailure(FailureReason::kInvalidRequest);
    }
    return served.status();
  }
  // The callback owns a reference: the version that accepted the request answers it even if it is
  // replaced or unloaded meanwhile.
  std::shared_ptr<const ServedModel> model = *std::move(served);
  const ServedModel* accepted_by = model.get();
  std::vector<std::string_view> images(request.images().begin(), request.images().end());
  auto inference = std::make_shared<InferenceRequest>(
      *accepted_by->model, std::move(images),
      [&request, response, model = std::move(model),
       on_done = std::move(on_done)](InferenceRequest& done) {
        const absl::Status status = done.status();
        if (status.ok()) {
          FillResults(request, done, *model, response);
          model->metrics->RecordSuccess(absl::Now() - done.accepted_at());
        } else {
          model->metrics->RecordFailure(FailureReasonOf(status));
        }
        on_done(status);
      },
      caller);
  // The batcher counts its own refusals (queue full, shutting down, expired).
  return accepted_by->batcher->Submit(std::move(inference));
}

namespace {

// The reactor of one unary Classify call: tells the service when gRPC is done with the call, so a
// graceful stop knows when every answer has left the daemon (InferenceService::WaitForCalls()).
class ClassifyCall final : public grpc::ServerUnaryReactor {
 public:
  explicit ClassifyCall(InferenceService* service) : service_(service) {
    service_->CallStarted();
  }
  void OnDone() override {
    service_->CallFinished();
    delete this;
  }

 private:
  InferenceService* const service_;
};

}  // namespace

grpc::ServerUnaryReactor* InferenceService::Classify(grpc::CallbackServerContext* context,
                                                     const v1::ClassifyRequest* request,
                                                     v1::ClassifyResponse* response) {
  auto* call = new ClassifyCall(this);
  absl::Status queued =
      Submit(*request, response, CallerOf(context), [call](const absl::Status& status) {
        call->Finish(ToGrpcStatus(status));
      });
  if (!queued.ok()) call->Finish(ToGrpcStatus(queued));
  return call;
}

grpc::ServerBidiReactor<v1::ClassifyRequest, v1::ClassifyResponse>*
InferenceService::ClassifyStream(grpc::CallbackServerContext* context) {
  return new ClassifyStreamReactor(this, context);
}

void InferenceService::BeginShutdown() {
  refusing_ = true;
  std::vector<ClassifyStreamReactor*> streams;
  {
    std::lock_guard lock(calls_mu_);
    shutting_down_ = true;
    // Pinned under calls_mu_, so none is deleted before it has been told to stop; told after
    // releasing it, because stopping may finish the stream and run OnDone() (RemoveStream()) on
    // this thread.
    for (ClassifyStreamReactor* stream : streams_) {
      stream->Pin();
      streams.push_back(stream);
    }
  }
  for (ClassifyStreamReactor* stream : streams) {
    stream->StopReading();
    stream->Unpin();
  }
}

size_t InferenceService::WaitForCalls(absl::Time deadline) {
  std::unique_lock lock(calls_mu_);
  calls_done_.wait_until(lock, absl::ToChronoTime(deadline),
                         [this] { return unary_calls_ == 0 && streams_.empty(); });
  return unary_calls_ + streams_.size();
}

bool InferenceService::AddStream(ClassifyStreamReactor* stream) {
  std::lock_guard lock(calls_mu_);
  if (shutting_down_) return false;
  streams_.insert(stream);
  return true;
}

void InferenceService::RemoveStream(ClassifyStreamReactor* stream) {
  std::lock_guard lock(calls_mu_);
  streams_.erase(stream);
  if (streams_.empty()) calls_done_.notify_all();
}

void InferenceService::CallStarted() {
  std::lock_guard lock(calls_mu_);
  ++unary_calls_;
}

void InferenceService::CallFinished() {
  std::lock_guard lock(calls_mu_);
  if (--unary_calls_ == 0) calls_done_.notify_all();
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
  if (refusing_) {
    return absl::UnavailableError(
        absl::StrFormat("%s: pynq-inferd is shutting down and changes no models", rpc));
  }
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
