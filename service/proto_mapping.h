// How the daemon's own types become the native API's messages (proto/pynq_infer/v1/
// inference.proto): a finished request's scores and top classes, a model's metrics, a model's
// description. The gRPC handlers call these and nothing else touches the response messages.
//
//   FillResults(request, done, *served, response);   // when the batcher finishes the request
//   FillModelMetrics(*served, served->metrics->Snapshot(absl::Now()), response->add_models());
//   std::vector<uint32_t> best = TopClasses(scores, 3);   // class indices, best first
//
// Pure functions of their arguments (they read the served model's batcher and accelerator only
// through their thread-safe accessors); safe from any thread.
#ifndef PYNQ_SERVICE_PROTO_MAPPING_H_
#define PYNQ_SERVICE_PROTO_MAPPING_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "pynq_infer/v1/inference.pb.h"
#include "service/inference_request.h"
#include "service/metrics.h"
#include "service/model_registry.h"

namespace pynq::service {

// The indices of the min(k, scores.size()) best classes, best first: higher score first, and of
// equal scores the lower index first (so class_index is the first maximum, as numpy's argmax).
std::vector<uint32_t> TopClasses(absl::Span<const int32_t> scores, size_t k);

// The response to `request` once `done` (its InferenceRequest) finished OK: model, version,
// backend and tag, and per image the scores, the best class and its label, request.top_k() top
// classes with labels and scores, the image's timing, and with request.return_model_input() the
// input the model ran on. `request` must have passed validation
// (top_k <= the model's classes).
void FillResults(const ::pynq_infer::v1::ClassifyRequest& request, const InferenceRequest& done,
                 const ServedModel& served, ::pynq_infer::v1::ClassifyResponse* response);

// One model's entry of GetMetrics: counters, rates and latencies from `snapshot`, the batcher's
// configuration and queue depth, and, when the model runs on an engine, the engine's state and
// fault counters (Accelerator::engine_report()).
void FillModelMetrics(const ServedModel& served, const ModelMetricsSnapshot& snapshot,
                      ::pynq_infer::v1::ModelMetrics* out);

// One model's entry of ListModels (and LoadModel's answer): name, version, shapes, labels,
// layers, file, backend, batch limit and picture preprocessing.
void FillModelInfo(const ServedModel& served, ::pynq_infer::v1::ModelInfo* info);

}  // namespace pynq::service

#endif  // PYNQ_SERVICE_PROTO_MAPPING_H_
