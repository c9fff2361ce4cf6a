#include "accel/fpga/fpga_backend.h"

#include <cstring>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "accel/model/model_format.h"
#include "base/status_macros.h"
#include "overlays/nn_engine/abi/memory_layout.h"
#include "overlays/nn_engine/abi/registers.h"
#include "spdlog/spdlog.h"

namespace pynq::accel {

namespace {

std::string DescribeStatusWord(uint32_t status) {
  return absl::StrFormat("status 0x%08x (code %d, layer %d, op %d)", status,
                         engine::StatusCode(status), engine::StatusLayer(status),
                         engine::StatusOp(status));
}

// engine::WeightsChecksum of a model (abi/memory_layout.h): what the engine's LOAD reads, from
// the model file.
uint32_t ModelWeightsChecksum(const Model& model) {
  engine::WeightsChecksum sum;
  const absl::Span<const uint8_t> section = model.weights_section();
  for (const Layer& layer : model.layers()) {
    if (!engine::HasWeights(layer.op)) continue;
    for (uint32_t w = 0; w < (layer.weights_bytes + 7) / 8; ++w) {
      uint64_t word = 0;
      std::memcpy(&word, section.data() + layer.weights_offset + 8 * w, sizeof(word));
      sum.AddWord(word);
    }
    for (uint32_t i = 0; i < layer.params_bytes / 4; ++i) {
      int32_t param = 0;
      std::memcpy(&param, section.data() + layer.params_offset + 4 * i, sizeof(param));
      sum.AddParam(param);
    }
  }
  return sum.Value();
}

// Copies `bytes` to a new DMA buffer and syncs it to the device.
absl::StatusOr<std::unique_ptr<DmaBuffer>> UploadSection(FpgaEngine& engine,
                                                         absl::Span<const uint8_t> bytes) {
  PYNQ_ASSIGN_OR_RETURN(std::unique_ptr<DmaBuffer> buffer, engine.Allocate(bytes.size()));
  std::memcpy(buffer->host(), bytes.data(), bytes.size());
  PYNQ_RETURN_IF_ERROR(buffer->SyncToDevice(0, bytes.size()));
  return buffer;
}

}  // namespace

absl::StatusOr<std::unique_ptr<FpgaAccelerator>> FpgaAccelerator::Create(
    std::shared_ptr<const Model> model, std::shared_ptr<FpgaEngine> engine,
    const Options& options) {
  if (model == nullptr || engine == nullptr) {
    return absl::InvalidArgumentError("FpgaAccelerator needs a model and an engine");
  }
  if (options.max_batch_size < 1 || options.max_batch_size > engine::kMaxBatch) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "fpga: max_batch_size %d is outside the engine's 1..%d", options.max_batch_size,
        engine::kMaxBatch));
  }
  for (size_t l = 0; l < model->layers().size(); ++l) {
    const auto op = static_cast<uint32_t>(model->layers()[l].op);
    if (!engine::CapsHasOp(engine->caps(), op)) {
      return absl::UnimplementedError(absl::StrFormat(
          "fpga: the engine (caps 0x%08x) does not implement op %s (%d) of layer %d of model %s",
          engine->caps(), engine::OpName(model->layers()[l].op), op, l, model->name()));
    }
  }
  std::unique_ptr<FpgaAccelerator> fpga(new FpgaAccelerator(model, engine, options));
  PYNQ_RETURN_IF_ERROR(fpga->LoadProgram());
  PYNQ_RETURN_IF_ERROR(fpga->PlaceWeights());
  for (Slot& slot : fpga->slots_) {
    PYNQ_ASSIGN_OR_RETURN(slot.input,
                          engine->Allocate(options.max_batch_size * fpga->input_stride_));
    PYNQ_ASSIGN_OR_RETURN(slot.output,
                          engine->Allocate(engine::OutputBytes(
                              static_cast<uint32_t>(options.max_batch_size),
                              static_cast<uint32_t>(model->num_classes()))));
    if (options.cpu_fallback) {
      PYNQ_ASSIGN_OR_RETURN(slot.cpu, CpuAccelerator::Create(
                                          model, {.max_batch_size = options.max_batch_size}));
    }
  }
  return fpga;
}

FpgaAccelerator::FpgaAccelerator(std::shared_ptr<const Model> model,
                                 std::shared_ptr<FpgaEngine> engine, const Options& options)
    : model_(std::move(model)),
      engine_(std::move(engine)),
      options_(options),
      input_stride_(engine::InputStride(static_cast<uint32_t>(model_->input_bytes()))),
      output_stride_(engine::OutputStride(static_cast<uint32_t>(model_->num_classes()))),
      weights_checksum_(ModelWeightsChecksum(*model_)) {}

FpgaAccelerator::~FpgaAccelerator() {
  if (reservation_) engine_->store().Release(*reservation_);
}

absl::Status FpgaAccelerator::LoadProgram() {
  PYNQ_ASSIGN_OR_RETURN(program_, UploadSection(*engine_, model_->program_section()));
  PYNQ_ASSIGN_OR_RETURN(weights_, UploadSection(*engine_, model_->weights_section()));
  PYNQ_ASSIGN_OR_RETURN(FpgaEngine::CallResult check,
                        engine_->Call({.program = program_->device_address(),
                                       .weights = weights_->device_address(),
                                       .command = engine::kCommandCheck}));
  const uint32_t code = engine::StatusCode(check.status);
  need_rows_ = check.need_rows;
  need_params_ = check.need_params;
  streamable_ = code == engine::kStatusOk;
  if (code == engine::kStatusTooLarge) return absl::OkStatus();  // may still fit resident
  if (code == engine::kStatusUnsupportedOp) {
    return absl::UnimplementedError(absl::StrFormat(
        "fpga: the engine rejected model %s: layer %d has op %d, which it does not implement",
        model_->name(), engine::StatusLayer(check.status), engine::StatusOp(check.status)));
  }
  if (code != engine::kStatusOk) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "fpga: the engine rejected the program of model %s: %s", model_->name(),
        DescribeStatusWord(check.status)));
  }
  return absl::OkStatus();
}

absl::Status FpgaAccelerator::PlaceWeights() {
  OnChipStore& store = engine_->store();
  if (options_.residency == Options::Residency::kAuto) {
    reservation_ = store.Reserve(need_rows_, need_params_);
  }
  if (reservation_) {
    if (absl::Status loaded = LoadWeights(); !loaded.ok()) {
      store.Release(*reservation_);
      reservation_.reset();
      return loaded;
    }
    spdlog::info("model {}: weights resident on the engine: store rows {}..{}, params rows {}..{} "
                 "(slot {}); {} of {} store rows in use",
                 model_->name(), reservation_->weights_base,
                 reservation_->weights_base + reservation_->rows, reservation_->params_base,
                 reservation_->params_base + reservation_->params, reservation_->slot,
                 store.usage().rows, store.capacity().rows);
    return absl::OkStatus();
  }
  const OnChipStore::Usage usage = store.usage();
  if (!streamable_) {
    return absl::UnimplementedError(absl::StrFormat(
        "fpga: model %s needs %d store rows and %d params rows resident (the engine has %d and "
        "%d, %d and %d in use), and one of its layers is too large to stream",
        model_->name(), need_rows_, need_params_, store.capacity().rows,
        store.capacity().params, usage.rows, usage.params));
  }
  PYNQ_ASSIGN_OR_RETURN(scratch_, engine_->Allocate(engine::ScratchBytes(
                                      static_cast<uint32_t>(options_.max_batch_size))));
  spdlog::info("model {}: weights streamed: each batch loads them in tiles ({}; it needs {} store "
               "rows resident, {} of {} in use)",
               model_->name(),
               options_.residency == Options::Residency::kStreamed ? "as configured"
                                                                   : "they do not fit",
               need_rows_, usage.rows, store.capacity().rows);
  return absl::OkStatus();
}

absl::Status FpgaAccelerator::LoadWeights() {
  PYNQ_ASSIGN_OR_RETURN(FpgaEngine::CallResult load,
                        engine_->Call({.program = program_->device_address(),
                                       .weights = weights_->device_address(),
                                       .command = engine::kCommandLoad,
                                       .slot = reservation_->slot,
                                       .key = reservation_->key,
                                       .weights_base = reservation_->weights_base,
                                       .params_base = reservation_->params_base}));
  if (engine::StatusCode(load.status) != engine::kStatusOk) {
    const std::string what = absl::StrCat("engine LOAD of model ", model_->name(),
                                          " failed with ", DescribeStatusWord(load.status));
    engine_->ReportFault(what);
    return absl::InternalError(what);
  }
  if (load.checksum != weights_checksum_) {
    const std::string what = absl::StrFormat(
        "engine LOAD of model %s read weights with checksum 0x%08x, the model file's is 0x%08x: "
        "the weights in device memory are not the model's",
        model_->name(), load.checksum, weights_checksum_);
    engine_->ReportFault(what);
    return absl::DataLossError(what);
  }
  std::lock_guard lock(mu_);
  ++stats_.weight_loads;
  return absl::OkStatus();
}

size_t FpgaAccelerator::AcquireSlot() {
  std::unique_lock lock(mu_);
  size_t index = 0;
  slot_free_.wait(lock, [&] {
    for (index = 0; index < kSlots; ++index) {
      if (!slot_busy_[index]) return true;
    }
    return false;
  });
  slot_busy_[index] = true;
  return index;
}

void FpgaAccelerator::ReleaseSlot(size_t index) {
  {
    std::lock_guard lock(mu_);
    slot_busy_[index] = false;
  }
  slot_free_.notify_one();
}

absl::Status FpgaAccelerator::Run(absl::Span<const uint8_t> images, absl::Span<int32_t> scores) {
  PYNQ_ASSIGN_OR_RETURN(size_t n,
                        CheckBatchShape(*model_, options_.max_batch_size, images, scores));
  const size_t index = AcquireSlot();
  absl::Cleanup release = [this, index] { ReleaseSlot(index); };
  Slot& slot = slots_[index];
  const absl::Status status = RunOnEngine(slot, images, scores, n);
  if (status.ok()) {
    {
      std::lock_guard lock(mu_);
      ++stats_.engine_batches;
    }
    if (observer_ != nullptr) {
      observer_->OnEngineBatch(images.first(n * model_->input_bytes()),
                               scores.first(n * model_->num_classes()));
    }
    return status;
  }
  return Fallback(slot, status, images, scores, n);
}

absl::Status FpgaAccelerator::RunOnEngine(Slot& slot, absl::Span<const uint8_t> images,
                                          absl::Span<int32_t> scores, size_t n) {
  if (const FpgaEngine::Health h = engine_->health(); h.state == FpgaEngine::State::kDisabled) {
    return absl::UnavailableError(
        absl::StrCat("fpga engine is disabled; last fault: ", h.last_fault));
  }
  const size_t image_bytes = model_->input_bytes();
  const auto classes = static_cast<uint32_t>(model_->num_classes());
  // Staging and both syncs run outside the engine's lock: the other slot's batch may be running.
  for (size_t i = 0; i < n; ++i) {
    std::memcpy(slot.input->host() + i * input_stride_, images.data() + i * image_bytes,
                image_bytes);
  }
  PYNQ_RETURN_IF_ERROR(slot.input->SyncToDevice(0, n * input_stride_));
  const uint32_t tag = next_tag_.fetch_add(1, std::memory_order_relaxed);
  auto faulted = [&](absl::Status status) {
    std::lock_guard lock(mu_);
    ++stats_.faulted_batches;
    return status;
  };
  const FpgaEngine::CallArgs run = {
      .program = program_->device_address(),
      .weights = weights_->device_address(),
      .input = slot.input->device_address(),
      .output = slot.output->device_address(),
      .batch = static_cast<uint32_t>(n),
      .command = engine::kCommandRun,
      .tag = tag,
      .scratch = scratch_ != nullptr ? scratch_->device_address() : 0,
      .slot = reservation_ ? reservation_->slot : engine::kSlotStreamed,
      .key = reservation_ ? reservation_->key : 0,
      .weights_base = reservation_ ? reservation_->weights_base : 0,
      .params_base = reservation_ ? reservation_->params_base : 0};
  absl::StatusOr<FpgaEngine::CallResult> call = engine_->Call(run);
  if (call.ok() && reservation_ &&
      engine::StatusCode(call->status) == engine::kStatusNotResident) {
    // The engine lost the resident copy (a reset, say): load it again and run once more. The
    // RUN touched no memory.
    if (absl::Status loaded = LoadWeights(); !loaded.ok()) return faulted(loaded);
    call = engine_->Call(run);
  }
  if (!call.ok()) return faulted(call.status());  // FpgaEngine counted and reset it
  auto bad_output = [&](absl::StatusCode code, std::string what) {
    engine_->ReportFault(what);
    return faulted(absl::Status(code, what));
  };
  if (engine::StatusCode(call->status) != engine::kStatusOk) {
    return bad_output(absl::StatusCode::kInternal,
                      absl::StrCat("engine RUN of ", n, " images failed with ",
                                   DescribeStatusWord(call->status)));
  }

  PYNQ_RETURN_IF_ERROR(slot.output->SyncFromDevice(0, engine::OutputBytes(n, classes)));
  const uint8_t* out = slot.output->host();
  uint64_t trailer[2];
  std::memcpy(trailer, out + n * output_stride_, sizeof(trailer));
  const uint64_t expected_trailer = (uint64_t{n} << 32) | tag;
  if (trailer[0] != expected_trailer) {
    return bad_output(absl::StatusCode::kDataLoss,
                      absl::StrFormat("stale engine output: trailer 0x%016x, expected 0x%016x "
                                      "(tag %d, %d images)",
                                      trailer[0], expected_trailer, tag, n));
  }
  engine::ScoresChecksum checksum(tag);
  for (size_t i = 0; i < n; ++i) {
    int32_t* row = scores.data() + i * classes;
    std::memcpy(row, out + i * output_stride_, classes * sizeof(int32_t));
    for (uint32_t c = 0; c < classes; ++c) checksum.Add(row[c]);
  }
  if (checksum.Value() != call->checksum || trailer[1] != call->checksum) {
    return bad_output(absl::StatusCode::kDataLoss,
                      absl::StrFormat("corrupted engine output: scores checksum 0x%08x, the "
                                      "engine's 0x%08x (trailer 0x%08x), %d images",
                                      checksum.Value(), call->checksum, trailer[1], n));
  }
  return absl::OkStatus();
}

absl::Status FpgaAccelerator::Fallback(Slot& slot, const absl::Status& why,
                                       absl::Span<const uint8_t> images,
                                       absl::Span<int32_t> scores, size_t n) {
  if (!options_.cpu_fallback) {
    spdlog::error("model {}: fpga batch of {} images failed: {}", model_->name(), n,
                  std::string(why.message()));
    return why;
  }
  // A disabled engine fails every batch the same way; say so once (FpgaEngine's health does).
  spdlog::log(why.code() == absl::StatusCode::kUnavailable ? spdlog::level::debug
                                                           : spdlog::level::warn,
              "model {}: fpga batch of {} images failed, running it on the CPU: {}",
              model_->name(), n, std::string(why.message()));
  if (absl::Status cpu = slot.cpu->Run(images, scores); !cpu.ok()) {
    return Annotate(cpu, absl::StrCat("fpga failed (", why.message(),
                                      ") and the CPU fallback failed too"));
  }
  std::lock_guard lock(mu_);
  ++stats_.fallback_batches;
  stats_.fallback_images += n;
  return absl::OkStatus();
}

void FpgaAccelerator::SetEngineBatchObserver(std::shared_ptr<EngineBatchObserver> observer) {
  observer_ = std::move(observer);
}

void FpgaAccelerator::ReportScoreCheck(bool matched, std::string_view what) {
  if (matched) {
    engine_->ReportScoresMatched();
    return;
  }
  {
    std::lock_guard lock(mu_);
    ++stats_.score_mismatches;
  }
  engine_->ReportScoreMismatch(what);
  if (!reservation_ || engine_->health().state == FpgaEngine::State::kDisabled) return;
  if (absl::Status loaded = LoadWeights(); !loaded.ok()) {
    spdlog::error("model {}: reloading the resident weights after a score mismatch failed: {}",
                  model_->name(), std::string(loaded.message()));
    return;
  }
  spdlog::warn("model {}: resident weights loaded again after a score mismatch", model_->name());
}

FpgaAccelerator::Stats FpgaAccelerator::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

std::optional<EngineReport> FpgaAccelerator::engine_report() const {
  const FpgaEngine::Health health = engine_->health();
  const Stats batches = stats();
  return EngineReport{.device = std::string(engine_->device_name()),
                      .state = health.state,
                      .faults = health.faults,
                      .resets = health.resets,
                      .last_fault = health.last_fault,
                      .engine_batches = batches.engine_batches,
                      .faulted_batches = batches.faulted_batches,
                      .fallback_batches = batches.fallback_batches,
                      .fallback_images = batches.fallback_images};
}

}  // namespace pynq::accel
