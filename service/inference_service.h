// The gRPC service pynq_infer.v1.Inference (proto/pynq_infer/v1/inference.proto) on the callback
// API: handlers validate a request, hand it to its model's batcher and return; the batcher's
// dispatch thread finishes the call when the request's last image is done.
//
//   OpenCalls calls;
//   InferenceService service(registry.get(), &calls, {.max_images_per_request = 1024});
//   grpc::ServerBuilder builder;
//   builder.RegisterService(&service);
//
// Thread-safe. `registry` and `calls` must outlive the service and every call it has accepted.
// Each accepted request holds a reference to the ServedModel it was looked up in, so LoadModel
// and UnloadModel can swap models under it (see ModelRegistry, "Swapping").
#ifndef PYNQ_SERVICE_INFERENCE_SERVICE_H_
#define PYNQ_SERVICE_INFERENCE_SERVICE_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "preprocess/gray_image.h"
#include "pynq_infer/v1/inference.grpc.pb.h"
#include "service/inference_request.h"
#include "service/model_registry.h"
#include "service/open_calls.h"
#include "service/security/access_policy.h"

namespace pynq::service {

// The deadline and cancellation of a call, as the batcher checks them. `context` must outlive the
// request they are given to (the call is finished only when the request is done).
InferenceRequest::Options CallerOf(grpc::CallbackServerContext* context);

// The generated CallbackService, with ClassifyStream raw: its reactor parses each frame itself, to
// tell a frame that does not parse from the end of the stream (see ordered_stream.h).
using InferenceCallbackBase = pynq_infer::v1::Inference::WithCallbackMethod_Classify<
    pynq_infer::v1::Inference::WithRawCallbackMethod_ClassifyStream<
        pynq_infer::v1::Inference::WithCallbackMethod_GetMetrics<
            pynq_infer::v1::Inference::WithCallbackMethod_ListModels<
                pynq_infer::v1::Inference::WithCallbackMethod_LoadModel<
                    pynq_infer::v1::Inference::WithCallbackMethod_UnloadModel<
                        pynq_infer::v1::Inference::Service>>>>>>;

class InferenceService final : public InferenceCallbackBase {
 public:
  struct Options {
    // Most images one ClassifyRequest may carry; more is kInvalidArgument.
    size_t max_images_per_request = 1024;
    // Requests of one ClassifyStream accepted but not yet answered; the stream stops reading
    // (so the client's writes back up) until one is answered.
    size_t max_stream_in_flight = 64;
    // Whether LoadModel and UnloadModel may change the served models (--allow_model_management);
    // when false they fail with kFailedPrecondition.
    bool allow_model_management = false;
    // Who may call what (security/access_policy.h): Classify and ClassifyStream need
    // Right::kInference, LoadModel and UnloadModel Right::kManagement (checked before
    // allow_model_management); ListModels and GetMetrics are open. Null admits every call.
    std::shared_ptr<const security::AccessPolicy> access;
    // Bounds on decoding each picture of ClassifyRequest.encoded_images.
    preprocess::DecodeLimits picture_limits;
  };

  InferenceService(ModelRegistry* registry, OpenCalls* calls, const Options& options);

  grpc::ServerUnaryReactor* Classify(grpc::CallbackServerContext* context,
                                     const pynq_infer::v1::ClassifyRequest* request,
                                     pynq_infer::v1::ClassifyResponse* response) override;
  // Frames are ClassifyRequests in, ClassifyResponses out; a frame that does not parse ends the
  // stream with INVALID_ARGUMENT after the frames before it are answered.
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* ClassifyStream(
      grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* GetMetrics(grpc::CallbackServerContext* context,
                                       const pynq_infer::v1::GetMetricsRequest* request,
                                       pynq_infer::v1::GetMetricsResponse* response) override;
  grpc::ServerUnaryReactor* ListModels(grpc::CallbackServerContext* context,
                                       const pynq_infer::v1::ListModelsRequest* request,
                                       pynq_infer::v1::ListModelsResponse* response) override;
  // Both run on the gRPC thread: LoadModel reads the file and builds its accelerator (a few
  // milliseconds for the shipped models); UnloadModel returns at once, the unloaded model
  // answering what it accepted in the background.
  grpc::ServerUnaryReactor* LoadModel(grpc::CallbackServerContext* context,
                                      const pynq_infer::v1::LoadModelRequest* request,
                                      pynq_infer::v1::LoadModelResponse* response) override;
  grpc::ServerUnaryReactor* UnloadModel(grpc::CallbackServerContext* context,
                                        const pynq_infer::v1::UnloadModelRequest* request,
                                        pynq_infer::v1::UnloadModelResponse* response) override;

  // Validates `request` and queues it on its model's batcher, with the caller's deadline and
  // cancellation in `caller`. Pictures (encoded_images) are decoded and prepared here, on the
  // calling (gRPC) thread, before anything is queued (preprocess::PreparePicture()); a bad one
  // fails the request with kInvalidArgument naming its index. On OK, `on_done` runs exactly once (on a dispatch worker) with the
  // finished request and `response` filled when it succeeded; `request` and `response` must stay
  // alive until then. On error nothing was queued. Every outcome is counted in the model's
  // metrics (success, or failure by reason). Shared by the unary and the streaming handler.
  absl::Status Submit(const pynq_infer::v1::ClassifyRequest& request,
                      pynq_infer::v1::ClassifyResponse* response,
                      const InferenceRequest::Options& caller,
                      std::function<void(const absl::Status&)> on_done);

  const Options& options() const { return options_; }

 private:
  // The model `request` names, once ValidateClassifyRequest() accepts the request for it.
  absl::StatusOr<std::shared_ptr<const ServedModel>> Validate(
      const pynq_infer::v1::ClassifyRequest& request) const;
  // kFailedPrecondition naming the flag unless model management is allowed.
  absl::Status CheckManagementAllowed(std::string_view rpc) const;

  ModelRegistry* const registry_;
  // Where Classify calls are counted and ClassifyStreams registered, for a graceful stop.
  OpenCalls* const calls_;
  const Options options_;
  const absl::Time started_;
};

}  // namespace pynq::service

#endif  // PYNQ_SERVICE_INFERENCE_SERVICE_H_
