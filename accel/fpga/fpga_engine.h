// FpgaEngine: the driver's view of the one engine in the programmable logic, shared by every
// model the daemon serves on it. It checks the loaded bitstream's identity, runs one engine call
// at a time (write every argument register, set ap_start, wait for ap_done, read the results),
// keeps the account of the engine's on-chip weight store that the models share (store()), and
// owns the fault policy: a call that fails or does not finish within its timeout marks the
// engine faulted and resets it; after too many faults in a row the engine is disabled and the
// models fall back to the CPU (fpga_backend.h). Scores that a check outside the driver found
// wrong (the service's shadow verification) are faults too, counted apart: the engine's calls
// all succeed meanwhile, so they disable it after too many mismatches without a match between.
//
//   PYNQ_ASSIGN_OR_RETURN(std::shared_ptr<FpgaEngine> engine,
//                         FpgaEngine::Create(std::move(device), {.call_timeout = absl::Seconds(1)}));
//   PYNQ_ASSIGN_OR_RETURN(FpgaEngine::CallResult r,
//                         engine->Call({.command = engine::kCommandRun, ...}));
//
// Thread-safe: Call() serializes callers (the engine runs one batch at a time); health() never
// waits for a call in progress.
#ifndef PYNQ_ACCEL_FPGA_FPGA_ENGINE_H_
#define PYNQ_ACCEL_FPGA_FPGA_ENGINE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "accel/accelerator.h"
#include "accel/fpga/device.h"
#include "accel/fpga/onchip_store.h"
#include "overlays/nn_engine/abi/memory_layout.h"
#include "overlays/nn_engine/abi/registers.h"

namespace pynq::accel {

class FpgaEngine final : public EngineHealth {
 public:
  struct Options {
    // A call that has not raised ap_done by then is a fault (the engine is reset).
    absl::Duration call_timeout = absl::Seconds(1);
    // After this many faulted calls in a row the engine is disabled for good.
    int max_consecutive_faults = 3;
    // After this many score mismatches (ReportScoreMismatch()) in a row the engine is disabled
    // for good. A mismatch is "in a row" unless matches_to_forgive verified matches
    // (ReportScoresMatched()) came between: a fault that spoils only some images' scores still
    // adds up, while an upset that a reload cured is forgotten.
    int max_consecutive_mismatches = 3;
    int matches_to_forgive = 100;
  };

  using State = EngineState;

  struct Health {
    State state = State::kOk;
    uint64_t calls = 0;
    uint64_t faults = 0;
    uint64_t resets = 0;
    // Of the faults, scores found wrong by a check outside the driver.
    uint64_t score_mismatches = 0;
    std::string last_fault;  // empty if none
  };

  using CallArgs = engine::CallArguments;

  struct CallResult {
    uint32_t status = 0;    // engine::kRegStatus
    uint32_t checksum = 0;  // engine::kRegChecksum
    // CHECK and LOAD: engine::kRegNeedRows, kRegNeedParams (what the program takes resident).
    uint32_t need_rows = 0;
    uint32_t need_params = 0;
  };

  // Takes the device, runs an IDENTIFY call, checks the ID and version registers and reads the
  // store's size. kFailedPrecondition if the loaded bitstream is not nn_engine ABI v1 with this
  // driver's register map revision; device errors as they come (kDeadlineExceeded if even
  // IDENTIFY does not finish).
  static absl::StatusOr<std::shared_ptr<FpgaEngine>> Create(std::unique_ptr<Device> device,
                                                            const Options& options);

  // "sim", "xrt" or "mmio".
  std::string_view device_name() const { return device_->name(); }
  // Read at Create(): abi/registers.h kRegVersion and kRegCaps.
  uint32_t version() const { return version_; }
  uint32_t caps() const { return caps_; }
  const Options& options() const { return options_; }
  // The on-chip store the models on this engine share (sized by IDENTIFY). Thread-safe.
  OnChipStore& store() { return *store_; }

  // A DMA buffer on the engine's device (Device::Allocate()). Thread-safe; does not wait for a
  // call in progress. Buffers must not outlive this FpgaEngine.
  absl::StatusOr<std::unique_ptr<DmaBuffer>> Allocate(size_t bytes) {
    return device_->Allocate(bytes);
  }

  // Runs one call and blocks until it finishes or times out. A call that does not finish, or
  // whose device access fails, is a fault: the engine is reset before Call() returns the error
  // (kDeadlineExceeded, or the device's code). kUnavailable at once when disabled. The engine's
  // status word is returned, not judged: a non-zero status is the caller's to report.
  absl::StatusOr<CallResult> Call(const CallArgs& args);

  // For faults the caller detects after a call returned (a bad status, stale or corrupted
  // output): counted like a failed call. Does not reset (the engine is idle and well).
  void ReportFault(std::string_view what);

  // A check outside the driver found scores of a call that succeeded wrong (`what` says how):
  // counted as a fault and a mismatch; the state becomes kFaulted, or kDisabled after
  // max_consecutive_mismatches of them in a row (see Options). The caller reloads
  // what the engine keeps resident. Does not reset.
  void ReportScoreMismatch(std::string_view what);
  // A check outside the driver found the scores of a call right.
  void ReportScoresMatched();

  Health health() const;

  // See EngineHealth.
  EngineState state() const override { return health().state; }
  void SetHealthListener(std::function<void(bool ok)> listener) override;

 private:
  FpgaEngine(std::unique_ptr<Device> device, const Options& options);

  absl::StatusOr<CallResult> Dispatch(const CallArgs& args);
  // Counts a fault and updates the state; returns the listener to notify, if it must be.
  std::function<void(bool)> RecordFault(std::string_view what, bool reset_failed);

  const std::unique_ptr<Device> device_;
  const Options options_;
  uint32_t version_ = 0;
  uint32_t caps_ = 0;
  std::unique_ptr<OnChipStore> store_;

  // Held for a whole call: the engine runs one at a time.
  std::mutex call_mu_;

  mutable std::mutex state_mu_;
  Health health_ ABSL_GUARDED_BY(state_mu_);
  int consecutive_faults_ ABSL_GUARDED_BY(state_mu_) = 0;
  int consecutive_mismatches_ ABSL_GUARDED_BY(state_mu_) = 0;
  int matches_since_mismatch_ ABSL_GUARDED_BY(state_mu_) = 0;
  std::function<void(bool)> listener_ ABSL_GUARDED_BY(state_mu_);
};

}  // namespace pynq::accel

#endif  // PYNQ_ACCEL_FPGA_FPGA_ENGINE_H_
