#include "service/proto_mapping.h"

#include <algorithm>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "accel/accelerator.h"

namespace pynq::service {

namespace v1 = ::pynq_infer::v1;

namespace {

// Whether class a ranks before class b: higher score first, then the lower index.
bool RanksBefore(absl::Span<const int32_t> scores, uint32_t a, uint32_t b) {
  return scores[a] > scores[b] || (scores[a] == scores[b] && a < b);
}

// The best class ranked strictly after `after` (or the best of all when `after` is none). Picking
// top-k by repeated selection needs no scratch memory, and k is small.
uint32_t NextBest(absl::Span<const int32_t> scores, const uint32_t* after) {
  uint32_t best = 0;
  bool found = false;
  for (uint32_t c = 0; c < scores.size(); ++c) {
    if (after != nullptr && !RanksBefore(scores, *after, c)) continue;
    if (!found || RanksBefore(scores, c, best)) {
      best = c;
      found = true;
    }
  }
  return best;
}

void FillLatency(const LatencySummary& s, v1::LatencySummary* out) {
  out->set_count(s.count);
  out->set_mean_us(s.mean_us);
  out->set_p50_us(s.p50_us);
  out->set_p90_us(s.p90_us);
  out->set_p99_us(s.p99_us);
  out->set_max_us(s.max_us);
}

void FillEngineMetrics(const accel::EngineReport& engine, v1::ModelMetrics* out) {
  out->set_device(engine.device);
  out->set_engine_state(std::string(accel::EngineStateName(engine.state)));
  out->set_engine_faults(engine.faults);
  out->set_engine_resets(engine.resets);
  out->set_faulted_batches(engine.faulted_batches);
  out->set_fallback_batches(engine.fallback_batches);
  out->set_fallback_images(engine.fallback_images);
  out->set_last_engine_fault(engine.last_fault);
}

}  // namespace

std::vector<uint32_t> TopClasses(absl::Span<const int32_t> scores, size_t k) {
  std::vector<uint32_t> top;
  top.reserve(std::min(k, scores.size()));
  for (size_t i = 0; i < k && i < scores.size(); ++i) {
    top.push_back(NextBest(scores, top.empty() ? nullptr : &top.back()));
  }
  return top;
}

void FillResults(const v1::ClassifyRequest& request, const InferenceRequest& done,
                 const ServedModel& served, v1::ClassifyResponse* response) {
  const accel::Model& model = *served.model;
  response->set_model(model.name());
  response->set_model_version(model.version());
  response->set_backend(std::string(served.batcher->accelerator().backend_name()));
  response->set_tag(request.tag());
  for (size_t i = 0; i < done.image_count(); ++i) {
    absl::Span<const int32_t> scores = done.scores(i);
    v1::Classification* result = response->add_results();
    result->mutable_scores()->Add(scores.begin(), scores.end());
    const std::vector<uint32_t> top = TopClasses(scores, std::max<size_t>(request.top_k(), 1));
    result->set_class_index(top.front());
    result->set_label(model.labels()[top.front()]);
    for (uint32_t k = 0; k < request.top_k(); ++k) {
      v1::ClassScore* entry = result->add_top();
      entry->set_class_index(top[k]);
      entry->set_label(model.labels()[top[k]]);
      entry->set_score(scores[top[k]]);
    }
    const ImageTiming& timing = done.timing(i);
    result->set_queue_us(absl::ToInt64Microseconds(timing.queue));
    result->set_accelerator_us(absl::ToInt64Microseconds(timing.accelerator));
    result->set_batch_size(timing.batch_size);
    if (request.return_model_input()) {
      result->set_model_input(done.image(i), model.input_bytes());
    }
  }
}

void FillModelMetrics(const ServedModel& served, const ModelMetricsSnapshot& s,
                      v1::ModelMetrics* m) {
  const Batcher& batcher = *served.batcher;
  m->set_model(served.model->name());
  m->set_backend(std::string(batcher.accelerator().backend_name()));
  m->set_requests_ok(s.requests_ok);
  m->set_requests_failed(s.requests_failed);
  m->set_images(s.images);
  m->set_batches(s.batches);
  m->set_images_per_s_1s(s.images_per_s_1s);
  m->set_images_per_s_10s(s.images_per_s_10s);
  m->set_images_per_s_60s(s.images_per_s_60s);
  m->set_images_per_s_total(s.images_per_s_total);
  FillLatency(s.latency, m->mutable_latency());
  FillLatency(s.queue, m->mutable_queue());
  FillLatency(s.accelerator, m->mutable_accelerator());
  m->set_queue_depth(static_cast<uint32_t>(batcher.queue_depth()));
  for (size_t r = 0; r < kFailureReasons; ++r) {
    v1::FailureCount* failure = m->add_failures();
    failure->set_reason(std::string(FailureReasonName(static_cast<FailureReason>(r))));
    failure->set_count(s.failures[r]);
  }
  m->set_failed_batches(s.batches_failed);
  m->set_shadow_checked(s.shadow_checked);
  m->set_shadow_mismatches(s.shadow_mismatches);
  m->set_shadow_skipped(s.shadow_skipped);
  for (size_t k = 0; k < BatchSizeHistogram::kBuckets; ++k) {
    v1::BatchSizeBucket* bucket = m->add_batch_sizes();
    bucket->set_max_images(static_cast<uint32_t>(BatchSizeHistogram::UpperBound(k)));
    bucket->set_batches(s.batch_sizes[k]);
  }
  const Batcher::Options& options = batcher.options();
  m->set_max_batch_size(static_cast<uint32_t>(options.max_batch_size));
  m->set_max_queue_delay_us(
      static_cast<uint64_t>(absl::ToInt64Microseconds(options.max_queue_delay)));
  m->set_max_queue_images(static_cast<uint32_t>(options.max_queue_images));
  for (size_t size : options.preferred_batch_sizes) {
    m->add_preferred_batch_sizes(static_cast<uint32_t>(size));
  }
  m->set_max_batches_in_flight(static_cast<uint32_t>(batcher.batches_in_flight()));
  if (std::optional<accel::EngineReport> engine = batcher.accelerator().engine_report()) {
    FillEngineMetrics(*engine, m);
  }
}

void FillModelInfo(const ServedModel& served, v1::ModelInfo* info) {
  const accel::Model& model = *served.model;
  info->set_name(model.name());
  info->set_version(model.version());
  info->set_description(model.description());
  info->set_channels(model.input_shape().c);
  info->set_height(model.input_shape().h);
  info->set_width(model.input_shape().w);
  info->set_input_bytes(static_cast<uint32_t>(model.input_bytes()));
  for (const std::string& label : model.labels()) info->add_labels(label);
  for (const std::string& line : model.LayerSummary()) info->add_layers(line);
  info->set_file_bytes(model.file_bytes());
  info->set_backend(std::string(served.batcher->accelerator().backend_name()));
  info->set_max_batch_size(static_cast<uint32_t>(served.batcher->options().max_batch_size));
  info->set_file(served.file_name);
  info->set_preprocessing(accel::PreprocessingSummary(model.preprocessing()));
}

}  // namespace pynq::service
