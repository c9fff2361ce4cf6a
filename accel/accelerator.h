// The one contract every backend implements: run a batch of images through a loaded model and
// return per-class integer scores. Backends of the same model return bit-identical scores (the
// engine computes in integers, so there is one right answer; tests check it across backends).
// Beside the scores, a backend that runs on an engine reports the engine's state and its fault
// counters (EngineReport), and the engine the accelerators of a daemon share reports its health
// as one signal (EngineHealth). This is all the service knows of a backend: it never sees the
// FPGA driver's types.
//
//   std::unique_ptr<Accelerator> cpu = *CpuAccelerator::Create(model, {});
//   std::vector<int32_t> scores(n * model->num_classes());
//   absl::Status s = cpu->Run(images, scores);  // images: n * model->input_bytes() bytes
//   if (std::optional<EngineReport> r = fpga->engine_report()) Show(r->state, r->faults);
#ifndef PYNQ_ACCEL_ACCELERATOR_H_
#define PYNQ_ACCEL_ACCELERATOR_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "accel/model/model.h"

namespace pynq::accel {

// The state of an engine that accelerators share.
enum class EngineState {
  kOk,        // the last call succeeded (or none ran yet)
  kFaulted,   // the last call faulted; the engine was reset and the next call tries it again
  kDisabled,  // too many faults in a row, or a reset failed: the engine takes no more calls
};

// "ok", "faulted" or "disabled".
std::string_view EngineStateName(EngineState state);

// What an accelerator that runs on an engine reports for metrics: the engine's health, shared by
// every model on it, and this accelerator's own batches.
struct EngineReport {
  // The engine's device, as shown to users: "sim", "xrt" or "mmio".
  std::string device;
  EngineState state = EngineState::kOk;
  // Engine calls that faulted, and resets, over all models on the engine.
  uint64_t faults = 0;
  uint64_t resets = 0;
  // The last fault, for operators; empty if none.
  std::string last_fault;
  // This accelerator's batches: run and verified on the engine; whose engine call failed or did
  // not verify; re-run (or, with the engine disabled, run) on the CPU, and their images.
  uint64_t engine_batches = 0;
  uint64_t faulted_batches = 0;
  uint64_t fallback_batches = 0;
  uint64_t fallback_images = 0;
};

// Sees every batch an engine computed and verified, for a check of the scores outside the backend
// (the service's shadow verification re-runs a sample on the CPU: service/shadow_checker.h).
class EngineBatchObserver {
 public:
  virtual ~EngineBatchObserver() = default;
  // Called on the thread of Accelerator::Run(), before it returns, from up to
  // max_concurrent_runs() threads at once: must be thread-safe and must not block. `images` and
  // `scores` are the batch's (n images, n score rows), valid only during the call.
  virtual void OnEngineBatch(absl::Span<const uint8_t> images,
                             absl::Span<const int32_t> scores) = 0;
};

class Accelerator {
 public:
  virtual ~Accelerator() = default;

  // The model this accelerator runs; fixed for its lifetime.
  virtual const Model& model() const = 0;

  // Short name of the backend, as shown to users: "cpu" or "fpga".
  virtual std::string_view backend_name() const = 0;

  // Largest batch Run() accepts, in images.
  virtual size_t max_batch_size() const = 0;

  // How many Run() calls may be in progress at once on this accelerator. A backend that overlaps
  // host work with device work (the FPGA driver stages and syncs batch N+1 while the engine runs
  // batch N) returns 2 or more; the batcher then keeps that many batches in flight.
  virtual size_t max_concurrent_runs() const { return 1; }

  // Runs a batch. `images` holds n images of model().input_bytes() bytes each, back to back;
  // `scores` receives n rows of model().num_classes() int32 scores. n is taken from
  // images.size(); 1 <= n <= max_batch_size(), and scores must have exactly the matching size,
  // otherwise kInvalidArgument and nothing is run. Blocks until the batch is done.
  // Thread-safe for up to max_concurrent_runs() concurrent calls. Allocates no memory per image.
  virtual absl::Status Run(absl::Span<const uint8_t> images, absl::Span<int32_t> scores) = 0;

  // The engine this accelerator runs on, with its counters; nullopt for a backend that runs on
  // no engine (the CPU). Thread-safe; never waits for a Run() in progress.
  virtual std::optional<EngineReport> engine_report() const { return std::nullopt; }

  // Installs `observer` (nullptr removes it): from then on it sees every batch the engine
  // computed; batches run on the CPU (fallbacks included) are not shown. A backend on no engine
  // never calls it. No Run() may be in progress.
  virtual void SetEngineBatchObserver(
      std::shared_ptr<EngineBatchObserver> /*observer*/) {}

  // What a check outside the backend found of scores the engine computed: they equal the CPU
  // backend's (`matched`), or they do not, which is an engine fault (`what` says which image and
  // how): the backend reloads what the engine keeps resident and counts the fault, and repeated
  // mismatches disable the engine (the CPU then serves). A backend on no engine ignores it.
  // Thread-safe; may run an engine call (the reload), so it blocks for one.
  virtual void ReportScoreCheck(bool /*matched*/, std::string_view /*what*/) {}
};

// The health of the engine that the accelerators of one daemon share (there is one in the PL), as
// the single signal grpc.health.v1 reports for the accelerator.
class EngineHealth {
 public:
  virtual ~EngineHealth() = default;
  // Thread-safe; never waits for an engine call in progress.
  virtual EngineState state() const = 0;
  // Called with false when the state leaves kOk and with true when it returns to kOk, from the
  // thread that saw the change, outside every lock of the engine. Replaces the previous listener
  // (nullptr removes it); a call of the previous one already under way may still finish after
  // this returns, so what it touches must outlive that.
  virtual void SetHealthListener(std::function<void(bool ok)> listener) = 0;
};

// Checks Run()'s argument contract once for every backend; returns kInvalidArgument naming the
// sizes when it is broken, otherwise the number of images in the batch.
absl::StatusOr<size_t> CheckBatchShape(const Model& model, size_t max_batch_size,
                                       absl::Span<const uint8_t> images,
                                       absl::Span<const int32_t> scores);

}  // namespace pynq::accel

#endif  // PYNQ_ACCEL_ACCELERATOR_H_
