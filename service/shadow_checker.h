// Shadow verification (--shadow_check_rate): a sampled fraction of the images the FPGA engine
// classified is classified again on the CPU backend, off the hot path, and the two score vectors
// are compared bit for bit (the backends are bit-exact by design: DESIGN.md). The checksums of
// the FPGA driver catch a corrupted transfer; they cannot catch a weight the engine holds wrong
// (an upset in the on-chip store that keeps weights for hours), which computes wrong scores and
// checksums them faithfully. This catches it.
//
//   PYNQ_ASSIGN_OR_RETURN(std::unique_ptr<ShadowChecker> shadow,
//                         ShadowChecker::Create({.rate = 0.01}));
//   PYNQ_ASSIGN_OR_RETURN(std::unique_ptr<ShadowChecker::Registration> r,
//                         shadow->Attach(model, *accelerator, metrics.get()));  // before Run()
//   ...         // batches run, samples are checked
//   r.reset();  // before the accelerator goes; waits for a check of its sample in progress
//
// Sampling. Of the images each attached accelerator's engine computed (EngineBatchObserver), the
// k-th (from 0) is sampled when floor((k + 1) * rate) > floor(k * rate): exactly floor(K * rate)
// of the first K, evenly spread, decided with one atomic addition per batch. A sampled image and
// its scores are copied into a buffer of a fixed pool (no allocation once the pool has grown to
// the queue's size) and queued for the checker's one worker thread. When the queue is full the
// sample is skipped and counted (ModelMetrics::RecordShadowSkipped()): the dispatch thread never
// waits for the checker.
//
// The worker runs at the lowest scheduling priority (nice 19, Linux), so the CPU re-runs take
// what the serving threads leave. It classifies the image on a CPU backend of the model (built at
// Attach()), compares, and records the result in the model's metrics; on a mismatch it logs the
// model, the image's number and both score vectors (their first classes) and reports it to the
// accelerator (Accelerator::ReportScoreCheck()), which counts an engine fault and reloads the
// engine's resident weights; repeated mismatches disable the engine and the CPU serves. One
// upset spoils every image until the reload, so the mismatches of images the engine computed
// before the reload a mismatch triggered are counted and logged but not reported again: the
// engine sees one fault per upset, whatever the rate.
//
// Thread-safety: Attach(), stats() and destroying a Registration are thread-safe. The observer
// Attach() installs is called by the accelerator's Run() threads.
#ifndef PYNQ_SERVICE_SHADOW_CHECKER_H_
#define PYNQ_SERVICE_SHADOW_CHECKER_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "accel/accelerator.h"
#include "accel/model/model.h"
#include "service/metrics.h"

namespace pynq::service {

class ShadowChecker {
 public:
  struct Options {
    // Fraction of the engine's images checked, in [0, 1]; 0 checks none (Attach() installs
    // nothing).
    double rate = 0;
    // Samples waiting for the worker at most; more are skipped.
    size_t max_queued = 64;
  };

  struct Stats {
    uint64_t sampled = 0;     // queued for a check
    uint64_t skipped = 0;     // sampled while the queue was full: not checked
    uint64_t checked = 0;     // compared
    uint64_t mismatches = 0;  // of them, differing (reported to the accelerator or not)
    uint64_t dropped = 0;     // queued, then not checked: their model went first
  };

  class Registration;

  // Starts the worker. kInvalidArgument for a rate outside [0, 1] (or not a number) or a zero
  // max_queued, naming the flag.
  static absl::StatusOr<std::unique_ptr<ShadowChecker>> Create(const Options& options);
  // Stops the worker; queued samples are not checked. Every Registration must be gone.
  ~ShadowChecker();

  // Checks a sample of what `accelerator`'s engine computes for `model`, recording the results in
  // `metrics`: installs the observer on the accelerator (no Run() may be in progress) and builds
  // the CPU backend the samples run on. The accelerator and metrics must outlive the
  // Registration, and this checker must outlive the accelerator (its observer refers to the
  // checker until the accelerator goes). With rate 0, or for an accelerator on no engine (engine_report() is nullopt),
  // installs nothing and returns a Registration that does nothing. kResourceExhausted and the
  // like if the CPU backend cannot be built.
  absl::StatusOr<std::unique_ptr<Registration>> Attach(std::shared_ptr<const accel::Model> model,
                                                       accel::Accelerator& accelerator,
                                                       ModelMetrics* metrics);

  Stats stats() const;
  const Options& options() const { return options_; }

 private:
  struct Channel;
  struct Sample {
    std::shared_ptr<Channel> channel;
    uint64_t index = 0;  // the image's number among the engine's images of this accelerator
    std::vector<uint8_t> image;
    std::vector<int32_t> scores;
  };
  class Observer;

  explicit ShadowChecker(const Options& options) : options_(options) {}

  // Copies image `index` of a batch into a pooled sample and queues it, or counts it skipped.
  void Offer(const std::shared_ptr<Channel>& channel, uint64_t index,
             absl::Span<const uint8_t> image, absl::Span<const int32_t> scores);
  void WorkLoop();
  void Check(Sample& sample);
  void Detach(const std::shared_ptr<Channel>& channel);

  const Options options_;
  std::thread worker_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;
  std::deque<std::unique_ptr<Sample>> queue_ ABSL_GUARDED_BY(mu_);
  // Buffers of checked samples, reused: at most max_queued + 1 exist.
  std::vector<std::unique_ptr<Sample>> pool_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  Stats stats_ ABSL_GUARDED_BY(mu_);
};

// Ends the checks of one accelerator when destroyed: its queued samples are dropped, a check of
// one in progress is waited for, and the accelerator is not touched afterwards. Its observer
// stays installed on the accelerator (Run() may be in progress) and does nothing from then on.
class ShadowChecker::Registration {
 public:
  ~Registration();
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;

 private:
  friend class ShadowChecker;
  Registration(ShadowChecker* checker, std::shared_ptr<Channel> channel)
      : checker_(checker), channel_(std::move(channel)) {}
  ShadowChecker* const checker_;
  const std::shared_ptr<Channel> channel_;  // null when nothing is checked
};

}  // namespace pynq::service

#endif  // PYNQ_SERVICE_SHADOW_CHECKER_H_
