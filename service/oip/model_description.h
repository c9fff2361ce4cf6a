// What the Open Inference Protocol says about the server and its models, as the gRPC messages of
// proto/inference/grpc_service.proto: server metadata, model metadata, Triton's model
// configuration and statistics. The REST endpoints answer the same messages as JSON
// (proto_json.h), so both protocols describe a model identically.
//
//   oip::FillModelMetadata(*served, response);
//   oip::FillModelConfig(*served, {.max_images_per_request = 1024}, response->mutable_config());
//   oip::FillModelStatistics(*served, served->metrics->Snapshot(absl::Now()),
//                            response->add_model_stats());
//
// Pure functions of their arguments (they read the served model's batcher and accelerator only
// through their thread-safe accessors); safe from any thread.
#ifndef PYNQ_SERVICE_OIP_MODEL_DESCRIPTION_H_
#define PYNQ_SERVICE_OIP_MODEL_DESCRIPTION_H_

#include <string>
#include <vector>

#include "inference/grpc_service.pb.h"
#include "service/metrics.h"
#include "service/model_registry.h"
#include "service/oip/infer_call.h"

namespace pynq::service::oip {

// The platform name models report.
inline constexpr char kPlatform[] = "pynq_infer";

// The server's name ("pynq-inferd"), version (the project's) and `extensions`.
void FillServerMetadata(const std::vector<std::string>& extensions,
                        ::inference::ServerMetadataResponse* out);

// Name, the loaded version, platform, input "images" (UINT8 [-1, C, H, W]) and output "scores"
// (INT32 [-1, classes]).
void FillModelMetadata(const ServedModel& served, ::inference::ModelMetadataResponse* out);

// Triton's configuration of the model: name, platform, backend, max_batch_size (the most images
// a request may carry), input and output with dims and types, one instance group (the batches in
// flight; KIND_CPU or KIND_MODEL for the FPGA), dynamic batching (preferred sizes, queue delay,
// queue bound) and parameters (version, description, labels, max_dispatch_batch_size, device).
void FillModelConfig(const ServedModel& served, const InferLimits& limits,
                     ::inference::ModelConfig* out);

// Triton's statistics of the model from its metrics (see ModelStatistics in grpc_service.proto
// for what each count means here).
void FillModelStatistics(const ServedModel& served, const ModelMetricsSnapshot& snapshot,
                         ::inference::ModelStatistics* out);

}  // namespace pynq::service::oip

#endif  // PYNQ_SERVICE_OIP_MODEL_DESCRIPTION_H_
