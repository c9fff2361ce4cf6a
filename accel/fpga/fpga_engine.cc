#include "accel/fpga/fpga_engine.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_macros.h"
#include "overlays/nn_engine/abi/memory_layout.h"
#include "overlays/nn_engine/abi/registers.h"

namespace pynq::accel {

absl::StatusOr<std::shared_ptr<FpgaEngine>> FpgaEngine::Create(std::unique_ptr<Device> device,
                                                               const Options& options) {
  if (device == nullptr) return absl::InvalidArgumentError("FpgaEngine needs a device");
  if (options.call_timeout <= absl::ZeroDuration() || options.max_consecutive_faults < 1 ||
      options.max_consecutive_mismatches < 1 || options.matches_to_forgive < 1) {
    return absl::InvalidArgumentError(
        "FpgaEngine: call_timeout must be positive, max_consecutive_faults, "
        "max_consecutive_mismatches and matches_to_forgive at least 1");
  }
  std::shared_ptr<FpgaEngine> engine(new FpgaEngine(std::move(device), options));
  Device& d = *engine->device_;
  PYNQ_ASSIGN_OR_RETURN(CallResult identify, engine->Call({.command = engine::kCommandIdentify}));
  PYNQ_ASSIGN_OR_RETURN(uint32_t id, d.Read32(engine::kRegId));
  PYNQ_ASSIGN_OR_RETURN(engine->version_, d.Read32(engine::kRegVersion));
  PYNQ_ASSIGN_OR_RETURN(engine->caps_, d.Read32(engine::kRegCaps));
  if (id != engine::kEngineId || identify.status != engine::kStatusOk) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s: the loaded overlay is not nn_engine: ID register 0x%08x (expected 0x%08x), "
        "IDENTIFY status 0x%x",
        d.name(), id, engine::kEngineId, identify.status));
  }
  if ((engine->version_ >> 16) != engine::kEngineAbiMajor) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s: the engine implements ABI %d (version register 0x%08x); this driver needs ABI %d",
        d.name(), engine->version_ >> 16, engine->version_, engine::kEngineAbiMajor));
  }
  if ((engine->version_ & 0xFFFFu) != engine::kEngineRevision) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s: the engine's register map is revision %d (version register 0x%08x); this driver "
        "needs revision %d: rebuild the bitstream from this source tree",
        d.name(), engine->version_ & 0xFFFFu, engine->version_, engine::kEngineRevision));
  }
  PYNQ_ASSIGN_OR_RETURN(const uint32_t rows, d.Read32(engine::kRegStoreRows));
  PYNQ_ASSIGN_OR_RETURN(const uint32_t params, d.Read32(engine::kRegStoreParams));
  engine->store_ = std::make_unique<OnChipStore>(
      OnChipStore::Capacity{.rows = rows, .params = params, .slots = engine::kResidentSlots});
  return engine;
}

FpgaEngine::FpgaEngine(std::unique_ptr<Device> device, const Options& options)
    : device_(std::move(device)), options_(options) {}

absl::StatusOr<FpgaEngine::CallResult> FpgaEngine::Dispatch(const CallArgs& args) {
  Device& d = *device_;
  // Every argument is written for every call: a reset clears them, and models share the engine.
  const std::pair<uint32_t, uint32_t> writes[] = {
      {engine::kRegProgramLo, Low32(args.program)}, {engine::kRegProgramHi, High32(args.program)},
      {engine::kRegWeightsLo, Low32(args.weights)}, {engine::kRegWeightsHi, High32(args.weights)},
      {engine::kRegInputLo, Low32(args.input)},     {engine::kRegInputHi, High32(args.input)},
      {engine::kRegOutputLo, Low32(args.output)},   {engine::kRegOutputHi, High32(args.output)},
      {engine::kRegBatch, args.batch},              {engine::kRegCommand, args.command},
      {engine::kRegTag, args.tag},
      {engine::kRegScratchLo, Low32(args.scratch)}, {engine::kRegScratchHi, High32(args.scratch)},
      {engine::kRegSlot, args.slot},                {engine::kRegKey, args.key},
      {engine::kRegWeightsBase, args.weights_base}, {engine::kRegParamsBase, args.params_base}};
  for (const auto& [offset, value] : writes) PYNQ_RETURN_IF_ERROR(d.Write32(offset, value));
  PYNQ_RETURN_IF_ERROR(d.Write32(engine::kRegCtrl, engine::kCtrlStart));
  PYNQ_RETURN_IF_ERROR(d.WaitForDone(options_.call_timeout));
  CallResult result;
  PYNQ_ASSIGN_OR_RETURN(result.status, d.Read32(engine::kRegStatus));
  PYNQ_ASSIGN_OR_RETURN(result.checksum, d.Read32(engine::kRegChecksum));
  if (args.command == engine::kCommandCheck || args.command == engine::kCommandLoad) {
    PYNQ_ASSIGN_OR_RETURN(result.need_rows, d.Read32(engine::kRegNeedRows));
    PYNQ_ASSIGN_OR_RETURN(result.need_params, d.Read32(engine::kRegNeedParams));
  }
  return result;
}

absl::StatusOr<FpgaEngine::CallResult> FpgaEngine::Call(const CallArgs& args) {
  std::lock_guard call_lock(call_mu_);
  {
    std::lock_guard lock(state_mu_);
    if (health_.state == State::kDisabled) {
      return absl::UnavailableError(
          absl::StrCat("fpga engine is disabled; last fault: ", health_.last_fault));
    }
    ++health_.calls;
  }
  absl::StatusOr<CallResult> result = Dispatch(args);
  std::function<void(bool)> notify;
  bool now_ok = false;
  if (result.ok()) {
    std::lock_guard lock(state_mu_);
    consecutive_faults_ = 0;
    if (health_.state == State::kFaulted) {
      health_.state = State::kOk;
      notify = listener_;
      now_ok = true;
    }
  } else {
    const absl::Status reset = device_->Reset();
    {
      std::lock_guard lock(state_mu_);
      ++health_.resets;
    }
    std::string what = absl::StrCat("command ", args.command, ": ", result.status().message());
    if (!reset.ok()) absl::StrAppend(&what, "; reset failed: ", reset.message());
    notify = RecordFault(what, !reset.ok());
    result = absl::Status(result.status().code(),
                          absl::StrCat(std::string(device_->name()), " engine call failed (engine reset): ",
                                       what));
  }
  if (notify) notify(now_ok);
  return result;
}

std::function<void(bool)> FpgaEngine::RecordFault(std::string_view what, bool reset_failed) {
  std::lock_guard lock(state_mu_);
  ++health_.faults;
  health_.last_fault = std::string(what);
  const State before = health_.state;
  if (before == State::kDisabled) return nullptr;
  health_.state = reset_failed || ++consecutive_faults_ >= options_.max_consecutive_faults
                      ? State::kDisabled
                      : State::kFaulted;
  return before == State::kOk ? listener_ : nullptr;
}

void FpgaEngine::ReportFault(std::string_view what) {
  std::function<void(bool)> notify = RecordFault(what, /*reset_failed=*/false);
  if (notify) notify(false);
}

void FpgaEngine::ReportScoreMismatch(std::string_view what) {
  std::function<void(bool)> notify;
  {
    std::lock_guard lock(state_mu_);
    ++health_.faults;
    ++health_.score_mismatches;
    health_.last_fault = absl::StrCat("scores mismatch: ", absl::string_view(what.data(), what.size()));
    matches_since_mismatch_ = 0;
    const State before = health_.state;
    if (before != State::kDisabled) {
      health_.state = ++consecutive_mismatches_ >= options_.max_consecutive_mismatches
                          ? State::kDisabled
                          : State::kFaulted;
      if (before == State::kOk) notify = listener_;
    }
  }
  if (notify) notify(false);
}

void FpgaEngine::ReportScoresMatched() {
  std::lock_guard lock(state_mu_);
  if (matches_since_mismatch_ < options_.matches_to_forgive &&
      ++matches_since_mismatch_ == options_.matches_to_forgive) {
    consecutive_mismatches_ = 0;
  }
}

FpgaEngine::Health FpgaEngine::health() const {
  std::lock_guard lock(state_mu_);
  return health_;
}

void FpgaEngine::SetHealthListener(std::function<void(bool ok)> listener) {
  std::lock_guard lock(state_mu_);
  listener_ = std::move(listener);
}

}  // namespace pynq::accel
