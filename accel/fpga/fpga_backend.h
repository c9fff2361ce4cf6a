// The FPGA backend: runs a model on the HLS engine through FpgaEngine. At Create() the model's
// PROGRAM and WEIGHTS sections are copied to device memory and the engine checks the program
// (an op the engine does not implement is kUnimplemented here, not at the first request). Each
// Run() stages its images in one of two sets of DMA buffers, so one thread can stage and sync
// batch N+1 while the engine runs batch N; the engine itself runs one batch at a time.
//
// Every result is verified: the engine's trailer must carry this call's tag and batch size, and
// the scores must match the checksum the engine computed, so stale output (a missing sync) or a
// corrupted transfer is caught. A batch whose call fails for any reason is re-run on the CPU
// backend when cpu_fallback is set (and counted); otherwise Run() returns the error. No batch
// fails silently.
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
#include "accel/model/model.h"

namespace pynq::accel {

class FpgaAccelerator final : public Accelerator {
 public:
  struct Options {
    // Largest batch Run() accepts: sizes the DMA buffers. 1..engine::kMaxBatch.
    size_t max_batch_size = 64;
    // Re-run a batch whose engine call failed on the CPU backend instead of failing it.
    bool cpu_fallback = true;
  };

  // Per-model counters (the engine's own are in FpgaEngine::Health).
  struct Stats {
    uint64_t engine_batches = 0;    // batches the engine ran and verified
    uint64_t faulted_batches = 0;   // batches whose engine call failed or did not verify
    uint64_t fallback_batches = 0;  // batches re-run (or, engine disabled, run) on the CPU
    uint64_t fallback_images = 0;
  };

  // kUnimplemented if the engine lacks an op of the model (naming op and layer);
  // kInvalidArgument for a batch size out of range or a program the engine rejects;
  // kResourceExhausted if device memory runs out; device errors as they come.
  static absl::StatusOr<std::unique_ptr<FpgaAccelerator>> Create(
      std::shared_ptr<const Model> model, std::shared_ptr<FpgaEngine> engine,
      const Options& options);

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

  absl::Status LoadProgram();
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
  std::array<Slot, kSlots> slots_;
  std::atomic<uint32_t> next_tag_{1};

  mutable std::mutex mu_;
  std::condition_variable slot_free_;
  std::array<bool, kSlots> slot_busy_ ABSL_GUARDED_BY(mu_){};
  Stats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pynq::accel

#endif  // PYNQ_ACCEL_FPGA_FPGA_BACKEND_H_
