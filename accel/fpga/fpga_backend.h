// The FPGA backend: runs a model on the HLS engine through FpgaEngine. At Create() the model's
// PROGRAM and WEIGHTS sections are copied to device memory and the engine checks the program
// (an op the engine does not implement is kUnimplemented here, not at the first request).
//
// Where the weights live: if they fit in the engine's on-chip store beside the models already
// resident (FpgaEngine::store(), first come first served), they are loaded once (the engine's
// LOAD, verified against the model file's checksum) and every batch uses them from BRAM. The
// engine keeps them under a key only this model's reservation has, and answers a RUN with "not
// resident" if another load or a reset overwrote them: the driver then loads them again (counted
// in Stats::weight_loads) and re-runs. A model that does not fit runs streamed: each batch loads
// the weights tile by tile into the store's stream region, every tile used by all images of the
// batch, with the activations between tiles in a DMA scratch buffer. A model too large for both
// is kUnimplemented (the CPU serves it).
//
// Each Run() stages its images in one of two sets of DMA buffers, so one thread can stage and
// sync batch N+1 while the engine runs batch N: two calls in flight, the engine running one.
//
// Every result is verified: the engine's trailer must carry this call's tag and batch size, and
// the scores must match the checksum the engine computed, so stale output (a missing sync) or a
// corrupted transfer is caught. A batch whose call fails for any reason is re-run on the CPU
// backend when cpu_fallback is set (and counted); otherwise Run() returns the error. No batch
// fails silently.
//
// What the checksums cannot see is a weight the engine holds wrong: it computes wrong scores and
// checksums them faithfully. An EngineBatchObserver (SetEngineBatchObserver()) sees every batch
// the engine ran, so a check outside the driver can re-run some on the CPU; a mismatch it reports
// (ReportScoreCheck()) is a fault: the resident copy is loaded again from device memory (LOAD,
// verified against the model file's checksum), and repeated mismatches disable the engine
// (FpgaEngine::ReportScoreMismatch()).
//
//   PYNQ_ASSIGN_OR_RETURN(std::shared_ptr<FpgaEngine> engine,
//                         FpgaEngine::Create(std::move(dev), {}));
//   PYNQ_ASSIGN_OR_RETURN(std::unique_ptr<FpgaAccelerator> fpga,
//                         FpgaAccelerator::Create(model, engine, {.max_batch_size = 64}));
//   PYNQ_RETURN_IF_ERROR(fpga->Run(images, scores));  // from up to two threads at once
#ifndef PYNQ_ACCEL_FPGA_FPGA_BACKEND_H_
#define PYNQ_ACCEL_FPGA_FPGA_BACKEND_H_

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "accel/accelerator.h"
#include "accel/cpu/cpu_backend.h"
#include "accel/fpga/device.h"
#include "accel/fpga/fpga_engine.h"
#include "accel/fpga/onchip_store.h"
#include "accel/model/model.h"

namespace pynq::accel {

class FpgaAccelerator final : public Accelerator {
 public:
  struct Options {
    // Largest batch Run() accepts: sizes the DMA buffers. 1..engine::kMaxBatch.
    size_t max_batch_size = 64;
    // Re-run a batch whose engine call failed on the CPU backend instead of failing it.
    bool cpu_fallback = true;
    // kAuto: resident when the weights fit beside the models already on chip, else streamed.
    // kStreamed: always streamed (never takes store rows).
    enum class Residency { kAuto, kStreamed };
    Residency residency = Residency::kAuto;
  };

  // Per-model counters (the engine's own are in FpgaEngine::Health).
  struct Stats {
    uint64_t engine_batches = 0;    // batches the engine ran and verified
    uint64_t faulted_batches = 0;   // batches whose engine call failed or did not verify
    uint64_t fallback_batches = 0;  // batches re-run (or, engine disabled, run) on the CPU
    uint64_t fallback_images = 0;
    uint64_t weight_loads = 0;      // LOADs of the resident copy: 1 at Create(), then 1 each
                                    // time the engine had lost it or a score mismatch was
                                    // reported
    uint64_t score_mismatches = 0;  // ReportScoreCheck(false, ...) calls
  };

  // kUnimplemented if the engine lacks an op of the model (naming op and layer), or if the model
  // fits neither resident nor streamed; kInvalidArgument for a batch size out of range or a
  // program the engine rejects; kDataLoss if the engine's LOAD does not reproduce the model's
  // weights checksum; kResourceExhausted if device memory runs out; device errors as they come.
  static absl::StatusOr<std::unique_ptr<FpgaAccelerator>> Create(
      std::shared_ptr<const Model> model, std::shared_ptr<FpgaEngine> engine,
      const Options& options);
  // Gives the store rows back. No Run() may be in progress.
  ~FpgaAccelerator() override;

  const Model& model() const override { return *model_; }
  std::string_view backend_name() const override { return "fpga"; }
  size_t max_batch_size() const override { return options_.max_batch_size; }
  // Two buffer sets: one batch staging while one runs.
  size_t max_concurrent_runs() const override { return kSlots; }
  // See Accelerator::Run(). Errors (only without cpu_fallback, or if the CPU fails too):
  // kDeadlineExceeded (the engine hung), kDataLoss (output stale or corrupted), kInternal (engine
  // status or bus error), kUnavailable (engine disabled).
  absl::Status Run(absl::Span<const uint8_t> images, absl::Span<int32_t> scores) override;

  // This model's batch counters. Thread-safe.
  Stats stats() const;
  // The engine's health and device, and stats(). See Accelerator::engine_report().
  std::optional<EngineReport> engine_report() const override;
  // See Accelerator. The observer is called after the engine's scores verified, before Run()
  // returns.
  void SetEngineBatchObserver(std::shared_ptr<EngineBatchObserver> observer) override;
  // See Accelerator. A mismatch: counted here and by the engine, then, unless the engine is
  // disabled by it, the resident copy is LOADed again (streamed weights are read from device
  // memory by every batch: nothing to reload). A failed reload is a fault as LoadWeights() reports.
  void ReportScoreCheck(bool matched, std::string_view what) override;
  // Whether the weights are resident on chip (else streamed), and the reservation if so.
  bool resident() const { return reservation_.has_value(); }
  const std::optional<OnChipStore::Reservation>& reservation() const { return reservation_; }

 private:
  static constexpr size_t kSlots = 2;

  // One set of DMA buffers, and the CPU backend that re-runs its batch after a fault (each slot
  // has its own, as a CpuAccelerator runs one batch at a time).
  struct Slot {
    std::unique_ptr<DmaBuffer> input;
    std::unique_ptr<DmaBuffer> output;
    std::unique_ptr<CpuAccelerator> cpu;
  };

  FpgaAccelerator(std::shared_ptr<const Model> model, std::shared_ptr<FpgaEngine> engine,
                  const Options& options);

  // Uploads the sections and CHECKs the program: what it needs resident, whether it streams.
  absl::Status LoadProgram();
  // Reserves store rows and LOADs the weights, or prepares the streamed path.
  absl::Status PlaceWeights();
  // LOAD of the resident copy, verified.
  absl::Status LoadWeights();
  absl::Status RunOnEngine(Slot& slot, absl::Span<const uint8_t> images,
                           absl::Span<int32_t> scores, size_t n);
  absl::Status Fallback(Slot& slot, const absl::Status& why, absl::Span<const uint8_t> images,
                        absl::Span<int32_t> scores, size_t n);
  size_t AcquireSlot();
  void ReleaseSlot(size_t index);

  const std::shared_ptr<const Model> model_;
  const std::shared_ptr<FpgaEngine> engine_;
  const Options options_;
  const uint32_t input_stride_;
  const uint32_t output_stride_;
  std::unique_ptr<DmaBuffer> program_;
  std::unique_ptr<DmaBuffer> weights_;
  // What CHECK said: store rows and params rows resident, and whether it can be streamed.
  uint32_t need_rows_ = 0;
  uint32_t need_params_ = 0;
  bool streamable_ = false;
  // The model file's engine::WeightsChecksum, what LOAD must report.
  uint32_t weights_checksum_ = 0;
  std::optional<OnChipStore::Reservation> reservation_;
  // Streamed: the activations between tiles (used only during an engine call, which the engine
  // serializes, so one serves both buffer sets).
  std::unique_ptr<DmaBuffer> scratch_;
  std::array<Slot, kSlots> slots_;
  std::atomic<uint32_t> next_tag_{1};
  // Set while no Run() is in progress (SetEngineBatchObserver()), read by Run().
  std::shared_ptr<EngineBatchObserver> observer_;

  mutable std::mutex mu_;
  std::condition_variable slot_free_;
  std::array<bool, kSlots> slot_busy_ ABSL_GUARDED_BY(mu_){};
  Stats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pynq::accel

#endif  // PYNQ_ACCEL_FPGA_FPGA_BACKEND_H_
