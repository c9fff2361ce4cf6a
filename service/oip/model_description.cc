#include "service/oip/model_description.h"

#include <cmath>
#include <cstdint>
#include <optional>

#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "accel/accelerator.h"
#include "service/oip/infer_request.h"

namespace pynq::service::oip {

namespace {

namespace inf = ::inference;

void AddParameter(inf::ModelConfig* config, const std::string& key, std::string value) {
  (*config->mutable_parameters())[key].set_string_value(std::move(value));
}

void SetDuration(uint64_t count, double sum_us, inf::StatisticDuration* out) {
  out->set_count(count);
  out->set_ns(static_cast<uint64_t>(std::llround(sum_us * 1e3)));
}

}  // namespace

void FillServerMetadata(const std::vector<std::string>& extensions,
                        inf::ServerMetadataResponse* out) {
  out->set_name("pynq-inferd");
  out->set_version(PYNQ_VERSION);
  for (const std::string& e : extensions) out->add_extensions(e);
}

void FillModelMetadata(const ServedModel& served, inf::ModelMetadataResponse* out) {
  const accel::Model& model = *served.model;
  out->set_name(model.name());
  out->add_versions(model.version());
  out->set_platform(kPlatform);
  inf::ModelMetadataResponse::TensorMetadata* input = out->add_inputs();
  input->set_name(kInputName);
  input->set_datatype(kUint8);
  for (int64_t d : {int64_t{-1}, int64_t{model.input_shape().c}, int64_t{model.input_shape().h},
                    int64_t{model.input_shape().w}}) {
    input->add_shape(d);
  }
  inf::ModelMetadataResponse::TensorMetadata* output = out->add_outputs();
  output->set_name(kScoresOutput);
  output->set_datatype(kInt32);
  output->add_shape(-1);
  output->add_shape(static_cast<int64_t>(model.num_classes()));
}

void FillModelConfig(const ServedModel& served, const InferLimits& limits,
                     inf::ModelConfig* out) {
  const accel::Model& model = *served.model;
  const Batcher& batcher = *served.batcher;
  const std::string backend(batcher.accelerator().backend_name());
  out->set_name(model.name());
  out->set_platform(kPlatform);
  out->set_backend(backend);
  out->set_max_batch_size(static_cast<int32_t>(limits.max_images_per_request));
  inf::ModelInput* input = out->add_input();
  input->set_name(kInputName);
  input->set_data_type(inf::TYPE_UINT8);
  input->set_format(inf::ModelInput::FORMAT_NCHW);
  input->add_dims(model.input_shape().c);
  input->add_dims(model.input_shape().h);
  input->add_dims(model.input_shape().w);
  inf::ModelOutput* output = out->add_output();
  output->set_name(kScoresOutput);
  output->set_data_type(inf::TYPE_INT32);
  output->add_dims(static_cast<int64_t>(model.num_classes()));
  inf::ModelInstanceGroup* group = out->add_instance_group();
  group->set_name(model.name() + "_0");
  group->set_kind(backend == "cpu" ? inf::ModelInstanceGroup::KIND_CPU
                                   : inf::ModelInstanceGroup::KIND_MODEL);
  group->set_count(static_cast<int32_t>(batcher.batches_in_flight()));
  const Batcher::Options& options = batcher.options();
  inf::ModelDynamicBatching* batching = out->mutable_dynamic_batching();
  for (size_t size : options.preferred_batch_sizes) {
    batching->add_preferred_batch_size(static_cast<int32_t>(size));
  }
  batching->set_max_queue_delay_microseconds(
      static_cast<uint64_t>(absl::ToInt64Microseconds(options.max_queue_delay)));
  batching->set_preserve_ordering(true);
  AddParameter(out, "version", model.version());
  AddParameter(out, "description", model.description());
  AddParameter(out, "labels", absl::StrJoin(model.labels(), ","));
  AddParameter(out, "max_dispatch_batch_size", std::to_string(options.max_batch_size));
  AddParameter(out, "max_queue_images", std::to_string(options.max_queue_images));
  if (std::optional<accel::EngineReport> engine = batcher.accelerator().engine_report()) {
    AddParameter(out, "device", engine->device);
  }
}

void FillModelStatistics(const ServedModel& served, const ModelMetricsSnapshot& s,
                         inf::ModelStatistics* out) {
  out->set_name(served.model->name());
  out->set_version(served.model->version());
  if (s.last_success != absl::InfinitePast()) {
    out->set_last_inference(static_cast<uint64_t>(absl::ToUnixMillis(s.last_success)));
  }
  out->set_inference_count(s.images);
  out->set_execution_count(s.batches);
  inf::InferStatistics* stats = out->mutable_inference_stats();
  const ModelMetrics& metrics = *served.metrics;
  SetDuration(s.requests_ok, metrics.latency_histogram().ExportBuckets().sum_us,
              stats->mutable_success());
  stats->mutable_fail()->set_count(s.requests_failed);
  const LatencyHistogram::Export queue = metrics.queue_histogram().ExportBuckets();
  SetDuration(queue.count, queue.sum_us, stats->mutable_queue());
  const LatencyHistogram::Export compute = metrics.accelerator_histogram().ExportBuckets();
  SetDuration(compute.count, compute.sum_us, stats->mutable_compute_infer());
}

}  // namespace pynq::service::oip
