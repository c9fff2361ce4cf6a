// The gRPC service pynq_infer.v1.Inference (proto/pynq_infer/v1/inference.proto) on the callback
// API: handlers validate a request, hand it to its model's batcher and return; the batcher's
// dispatch thread finishes the call when the request's last image is done.
//
//   InferenceService service(registry.get(), {.max_images_per_request = 1024});
//   grpc::ServerBuilder builder;
//   builder.RegisterService(&service);
//
// Thread-safe. `registry` must outlive the service and every call it has accepted.
#ifndef PYNQ_SERVICE_INFERENCE_SERVICE_H_
#define PYNQ_SERVICE_INFERENCE_SERVICE_H_

#include <cstddef>
#include <functional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "pynq_infer/v1/inference.grpc.pb.h"
#include "service/inference_request.h"
#include "service/model_registry.h"

namespace pynq::service {

class InferenceService final : public pynq_infer::v1::Inference::CallbackService {
 public:
  struct Options {
    // Most images one ClassifyRequest may carry; more is kInvalidArgument.
    size_t max_images_per_request = 1024;
    // Requests of one ClassifyStream accepted but not yet answered; the stream stops reading
    // (so the client's writes back up) until one is answered.
    size_t max_stream_in_flight = 64;
  };

  InferenceService(const ModelRegistry* registry, const Options& options);

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

  // Validates `request` and queues it on its model's batcher. On OK, `on_done` runs exactly once
  // (on a dispatch thread) with the finished request and `response` filled when it succeeded;
  // `request` and `response` must stay alive until then. On error nothing was queued.
  // Shared by the unary and the streaming handler.
  absl::Status Submit(const pynq_infer::v1::ClassifyRequest& request,
                      pynq_infer::v1::ClassifyResponse* response,
                      std::function<void(const absl::Status&)> on_done);

  const Options& options() const { return options_; }

 private:
  absl::StatusOr<const ServedModel*> Validate(const pynq_infer::v1::ClassifyRequest& request) const;

  const ModelRegistry* const registry_;
  const Options options_;
  const absl::Time started_;
};

}  // namespace pynq::service

#endif  // PYNQ_SERVICE_INFERENCE_SERVICE_H_
