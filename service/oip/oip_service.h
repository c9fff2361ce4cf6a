// The gRPC service inference.GRPCInferenceService (proto/inference/grpc_service.proto): the Open
// Inference Protocol with Triton's ModelConfig, ModelStatistics and ModelStreamInfer, on the
// callback API, served on the same port as pynq_infer.v1.Inference. Inference requests take the
// same path as the native API's (infer_call.h, submit.h): the same batchers, metrics and
// deadlines.
//
//   OpenCalls calls;
//   oip::OipService oip(registry.get(), &calls, {.max_images_per_request = 1024});
//   builder.RegisterService(&oip);
//   ...
//   oip.BeginShutdown();   // ServerReady turns false; with OpenCalls::BeginShutdown()
//
// Thread-safe. `registry` and `calls` must outlive the service and every call it accepted.
#ifndef PYNQ_SERVICE_OIP_OIP_SERVICE_H_
#define PYNQ_SERVICE_OIP_OIP_SERVICE_H_

#include <atomic>
#include <cstddef>
#include <memory>

#include "inference/grpc_service.grpc.pb.h"
#include "service/model_registry.h"
#include "service/oip/infer_call.h"
#include "service/open_calls.h"
#include "service/security/access_policy.h"

namespace pynq::service::oip {

// The generated CallbackService, with ModelStreamInfer raw: its reactor parses each frame itself,
// to tell a frame that does not parse from the end of the stream (see ordered_stream.h).
using GRPCInferenceService = ::inference::GRPCInferenceService;
using OipCallbackBase = GRPCInferenceService::WithCallbackMethod_ServerLive<
    GRPCInferenceService::WithCallbackMethod_ServerReady<
        GRPCInferenceService::WithCallbackMethod_ModelReady<
            GRPCInferenceService::WithCallbackMethod_ServerMetadata<
                GRPCInferenceService::WithCallbackMethod_ModelMetadata<
                    GRPCInferenceService::WithCallbackMethod_ModelInfer<
                        GRPCInferenceService::WithRawCallbackMethod_ModelStreamInfer<
                            GRPCInferenceService::WithCallbackMethod_ModelConfig<
                                GRPCInferenceService::WithCallbackMethod_ModelStatistics<
                                    GRPCInferenceService::Service>>>>>>>>>;

class OipService final : public OipCallbackBase {
 public:
  struct Options {
    InferLimits limits;
    // Requests of one ModelStreamInfer accepted but not yet answered (as ClassifyStream's).
    size_t max_stream_in_flight = 64;
    // Who may infer (security/access_policy.h): ModelInfer and ModelStreamInfer need
    // Right::kInference; the health, metadata, configuration and statistics RPCs are open, as
    // the native API's ListModels and GetMetrics. Null admits every call.
    std::shared_ptr<const security::AccessPolicy> access;
  };

  OipService(ModelRegistry* registry, OpenCalls* calls, const Options& options);

  grpc::ServerUnaryReactor* ServerLive(grpc::CallbackServerContext* context,
                                       const ::inference::ServerLiveRequest* request,
                                       ::inference::ServerLiveResponse* response) override;
  grpc::ServerUnaryReactor* ServerReady(grpc::CallbackServerContext* context,
                                        const ::inference::ServerReadyRequest* request,
                                        ::inference::ServerReadyResponse* response) override;
  grpc::ServerUnaryReactor* ModelReady(grpc::CallbackServerContext* context,
                                       const ::inference::ModelReadyRequest* request,
                                       ::inference::ModelReadyResponse* response) override;
  grpc::ServerUnaryReactor* ServerMetadata(grpc::CallbackServerContext* context,
                                           const ::inference::ServerMetadataRequest* request,
                                           ::inference::ServerMetadataResponse* response) override;
  grpc::ServerUnaryReactor* ModelMetadata(grpc::CallbackServerContext* context,
                                          const ::inference::ModelMetadataRequest* request,
                                          ::inference::ModelMetadataResponse* response) override;
  grpc::ServerUnaryReactor* ModelConfig(grpc::CallbackServerContext* context,
                                        const ::inference::ModelConfigRequest* request,
                                        ::inference::ModelConfigResponse* response) override;
  grpc::ServerUnaryReactor* ModelStatistics(
      grpc::CallbackServerContext* context, const ::inference::ModelStatisticsRequest* request,
      ::inference::ModelStatisticsResponse* response) override;
  // Answered by a dispatch worker when the request's last image is done.
  grpc::ServerUnaryReactor* ModelInfer(grpc::CallbackServerContext* context,
                                       const ::inference::ModelInferRequest* request,
                                       ::inference::ModelInferResponse* response) override;
  // Frames are ModelInferRequests in, ModelStreamInferResponses out, in request order; a failed
  // request gets error_message and the stream goes on; a frame that does not parse ends the stream
  // with INVALID_ARGUMENT after the frames before it are answered.
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* ModelStreamInfer(
      grpc::CallbackServerContext* context) override;

  // From now on ServerReady answers false (the daemon is draining). Thread-safe.
  void BeginShutdown() { shutting_down_.store(true, std::memory_order_relaxed); }

 private:
  // Parses and queues `request`; on OK `answered` runs once, with `response` filled on success.
  absl::Status Submit(const ::inference::ModelInferRequest& request,
                      ::inference::ModelInferResponse* response,
                      const InferenceRequest::Options& caller,
                      std::function<void(const absl::Status&)> answered);

  ModelRegistry* const registry_;
  OpenCalls* const calls_;
  const Options options_;
  std::atomic<bool> shutting_down_{false};
};

// The response message for a finished request.
void FillModelInferResponse(const InferResult& result, ::inference::ModelInferResponse* out);

}  // namespace pynq::service::oip

#endif  // PYNQ_SERVICE_OIP_OIP_SERVICE_H_
