// The gRPC service pynq_infer.v1.Inference (proto/pynq_infer/v1/inference.proto) on the callback
// API: handlers validate a request, hand it to its model's batcher and return; the batcher's
// dispatch thread finishes the call when the request's last image is done.
//
//   InferenceService service(registry.get(), {.max_images_per_request = 1024});
//   grpc::ServerBuilder builder;
//   builder.RegisterService(&service);
//
// Thread-safe. `registry` must outlive the service and every call it has accepted. Each accepted
// request holds a reference to the ServedModel it was looked up in, so LoadModel and UnloadModel
// can swap models under it (see ModelRegistry, "Swapping").
#ifndef PYNQ_SERVICE_INFERENCE_SERVICE_H_
#define PYNQ_SERVICE_INFERENCE_SERVICE_H_

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_set>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "pynq_infer/v1/inference.grpc.pb.h"
#include "service/inference_request.h"
#include "service/model_registry.h"

namespace pynq::service {

class ClassifyStreamReactor;

// The deadline and cancellation of a call, as the batcher checks them. `context` must outlive the
// request they are given to (the call is finished only when the request is done).
InferenceRequest::Options CallerOf(grpc::CallbackServerContext* context);

class InferenceService final : public pynq_infer::v1::Inference::CallbackService {
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
  };

  InferenceService(ModelRegistry* registry, const Options& options);

  grpc::ServerUnaryReactor* Classify(grpc::CallbackServerContext* context,
                                     const pynq_infer::v1::ClassifyRequest* request,
                                     pynq_infer::v1::ClassifyResponse* response) override;
  grpc::ServerBidiReactor<pynq_infer::v1::ClassifyRequest, pynq_infer::v1::ClassifyResponse>*
  ClassifyStream(grpc::CallbackServerContext* context) override;
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
  // cancellation in `caller`. On OK, `on_done` runs exactly once (on a dispatch worker) with the
  // finished request and `response` filled when it succeeded; `request` and `response` must stay
  // alive until then. On error nothing was queued. Every outcome is counted in the model's
  // metrics (success, or failure by reason). Shared by the unary and the streaming handler.
  absl::Status Submit(const pynq_infer::v1::ClassifyRequest& request,
                      pynq_infer::v1::ClassifyResponse* response,
                      const InferenceRequest::Options& caller,
                      std::function<void(const absl::Status&)> on_done);

  // The first step of a graceful stop, while the gRPC server still serves: every request from
  // now on is refused with UNAVAILABLE (counted as shutting_down), so its refusal reaches the
  // client over a healthy connection; every open ClassifyStream stops reading, answers what it
  // has read and ends with UNAVAILABLE, and streams opened later end at once the same way; model
  // management is refused. What was accepted before is still answered. Thread-safe; idempotent.
  void BeginShutdown();

  // After BeginShutdown() and once every accepted request has been answered (the registry has
  // drained): blocks until every Classify and ClassifyStream call has finished, that is, handed
  // its last answer and its status to gRPC, or until `deadline`. Returns how many calls are still
  // open. Thread-safe.
  size_t WaitForCalls(absl::Time deadline);

  // For ClassifyStreamReactor: registers a live stream, false (not registered) when shutting
  // down; and unregisters one that is done.
  bool AddStream(ClassifyStreamReactor* stream);
  void RemoveStream(ClassifyStreamReactor* stream);
  // For the unary Classify reactor: one call started, one call finished (its OnDone()).
  void CallStarted();
  void CallFinished();

  const Options& options() const { return options_; }

 private:
  absl::StatusOr<std::shared_ptr<const ServedModel>> Validate(
      const pynq_infer::v1::ClassifyRequest& request) const;
  // kFailedPrecondition naming the flag unless model management is allowed; kUnavailable while
  // shutting down.
  absl::Status CheckManagementAllowed(std::string_view rpc) const;

  ModelRegistry* const registry_;
  const Options options_;
  const absl::Time started_;

  // Read by every Submit(); set once by BeginShutdown().
  std::atomic<bool> refusing_{false};

  // Taken once per call (or stream) started and finished, never per image.
  std::mutex calls_mu_;
  std::condition_variable calls_done_;
  std::unordered_set<ClassifyStreamReactor*> streams_ ABSL_GUARDED_BY(calls_mu_);
  size_t unary_calls_ ABSL_GUARDED_BY(calls_mu_) = 0;
  bool shutting_down_ ABSL_GUARDED_BY(calls_mu_) = false;
};

}  // namespace pynq::service

#endif  // PYNQ_SERVICE_INFERENCE_SERVICE_H_
