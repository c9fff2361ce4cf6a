// The models the daemon serves: at start it loads every model file (*.pim) in one directory and
// gives each its accelerator, batcher and metrics; at run time models can be loaded from that
// directory, replaced and unloaded while requests are in flight.
//
//   PYNQ_ASSIGN_OR_RETURN(std::unique_ptr<ModelRegistry> registry,
//                         ModelRegistry::Create({.model_dir = "/usr/share/pynq-infer/models"}));
//   std::shared_ptr<const ServedModel> m = registry->Find("mnist-bnn-tfc");  // null if not served
//   PYNQ_RETURN_IF_ERROR(m->batcher->Submit(request));  // the request keeps `m` until answered
//   PYNQ_ASSIGN_OR_RETURN(ModelRegistry::LoadResult r, registry->Load("mnist-bnn-tfc-v2.pim"));
//   PYNQ_ASSIGN_OR_RETURN(std::shared_ptr<const ServedModel> gone,
//                         registry->Unload("mnist-bnn-tfc"));
//
// Swapping. The registry maps names to std::shared_ptr<const ServedModel>. Find() hands out a
// reference under a lock; Load() and Unload() replace or remove the map entry under the same lock,
// so a lookup sees either the old or the new version, never a mix. A caller that holds the
// reference (a request captures it until it is answered) keeps the old version's batcher and
// accelerator alive: requests already accepted finish on the version they were accepted for, and
// a request that looked the old version up just before the swap is still accepted by it.
//
// Retiring. A ServedModel is destroyed when its last reference goes, which may be on a batcher
// dispatch worker (the request answered last) or on a gRPC thread (Unload()). Destroying it
// drains and joins its batcher, which must neither block a gRPC thread nor run on the batcher's
// own worker, so the last reference never destroys it in place: it hands the model to the
// registry's retirement thread, which destroys it there. Unload() therefore returns at once, and
// the old version finishes every request it accepted in the background; Drain() waits for that.
//
// Metrics belong to the model name for the daemon's lifetime: a replaced version's ModelMetrics
// are the new version's too, and a name unloaded and loaded again continues its counters (so
// Prometheus counters never go backwards and per-name log summaries stay consistent).
//
// Thread-safety: every public method is thread-safe. Load() and Unload() are serialized with each
// other (one model change at a time) and block their caller while the file is read and the
// accelerator built; Find() and models() never wait for them.
#ifndef PYNQ_SERVICE_MODEL_REGISTRY_H_
#define PYNQ_SERVICE_MODEL_REGISTRY_H_

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "accel/accelerator.h"
#include "accel/backends/backend_factory.h"
#include "accel/model/model.h"
#include "service/batcher.h"
#include "service/metrics.h"
#include "service/shadow_checker.h"

namespace pynq::service {

// One served model. The batcher is declared last so it is destroyed (drained) first: no batch
// runs after its metrics or model are gone.
struct ServedModel {
  std::shared_ptr<const accel::Model> model;
  // The file it was loaded from: the full path, and the file name in the model directory.
  std::string path;
  std::string file_name;
  // Shared by every version of the model's name (see "Metrics" above).
  std::shared_ptr<ModelMetrics> metrics;
  std::unique_ptr<Batcher> batcher;
  // The shadow check of the accelerator's engine batches (--shadow_check_rate); declared after
  // the batcher so it ends first, while the accelerator is still there.
  std::unique_ptr<ShadowChecker::Registration> shadow;
};

class ModelRegistry {
 public:
  struct Options {
    // Directory whose *.pim files are loaded (not recursively), at start and by Load().
    std::string model_dir;
    // Batching of every model not named in batcher_by_model.
    Batcher::Options batcher;
    // Batching of particular models, by model name; also applies to models loaded later.
    std::map<std::string, Batcher::Options> batcher_by_model;
    // What runs the models (--accelerator, --device, ...).
    accel::BackendOptions backend;
    // Fraction of the engine's images re-run on the CPU and compared (service/shadow_checker.h);
    // 0: none. Checked by Create(): kInvalidArgument outside [0, 1].
    double shadow_check_rate = 0;
  };

  // Loads every *.pim file in options.model_dir. Fails, naming the file, if any file is invalid
  // or two files hold models of the same name; kNotFound if the directory cannot be read or
  // holds no model file, or batcher_by_model names a model it does not hold. A daemon started
  // with a broken model directory should not come up serving part of it silently.
  static absl::StatusOr<std::unique_ptr<ModelRegistry>> Create(const Options& options);

  // Drains every model, then stops the retirement thread. Every reference handed out must have
  // been released (Server::Shutdown() ensures it by draining first).
  ~ModelRegistry();

  // The model named `name`, or null. The reference keeps that version alive (see "Swapping").
  std::shared_ptr<const ServedModel> Find(std::string_view name) const;
  // All served models, by name.
  std::vector<std::shared_ptr<const ServedModel>> models() const;

  struct LoadResult {
    std::shared_ptr<const ServedModel> loaded;
    // The version it replaced, or null when no model of that name was loaded.
    std::shared_ptr<const ServedModel> replaced;
  };
  // Loads `file_name`, a *.pim file directly in the model directory, and serves it, replacing
  // (atomically, see "Swapping") a loaded model of the same name. Errors, with the problem named
  // (and kUnavailable once StopAccepting() has run):
  //   kInvalidArgument   `file_name` is empty, absolute, contains ".." or a "/", or does not end
  //                      in .pim: only files of the model directory itself can be loaded.
  //   kPermissionDenied  the file is a symbolic link that resolves outside the model directory.
  //   kNotFound          no such file (or a dangling link).
  //   the codes of accel::Model::LoadFile() for an unreadable or invalid file (kDataLoss for a
  //   bad CRC, ...), and of the backend and batcher for a model they cannot serve.
  // On error the served models are unchanged. Blocks while the file is read and its accelerator
  // built; never waits for the replaced version's requests.
  absl::StatusOr<LoadResult> Load(std::string_view file_name);

  // Stops serving `name`: later lookups fail, requests it accepted still finish (in the
  // background, see "Retiring"). Returns the unloaded version; kNotFound if `name` is not loaded,
  // kUnavailable once StopAccepting() has run.
  absl::StatusOr<std::shared_ptr<const ServedModel>> Unload(std::string_view name);

  // Every served model refuses new requests from now on (Batcher::StopAccepting(): kUnavailable,
  // counted as shutting down), all at once, and later Load() and Unload() calls fail with
  // kUnavailable; what was accepted is still answered. The first step of a graceful stop, so
  // that no model keeps accepting while another drains. Waits for a Load() or Unload() in
  // progress. Idempotent.
  void StopAccepting();

  // StopAccepting(), then drains every served model's batcher (Batcher::Drain(): each answers
  // what it accepted) and waits until every unloaded or replaced version has answered all it
  // accepted and been destroyed. For the end of serving. Idempotent.
  void Drain();

  // The health of the engine the models share, or nullptr when the CPU serves them all.
  accel::EngineHealth* engine_health() const { return backends_->engine_health(); }
  // What serves the models, for the log.
  const std::string& backend_description() const { return backends_->description(); }

 private:
  // The retirement thread's queue; shared with every ServedModel's deleter, so a reference that
  // outlives the registry (against the contract) still finds it, and then destroys in place.
  struct Retirement {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<const ServedModel*> queue ABSL_GUARDED_BY(mu);
    // ServedModels built and not yet destroyed.
    size_t alive ABSL_GUARDED_BY(mu) = 0;
    bool stopped ABSL_GUARDED_BY(mu) = false;
  };

  explicit ModelRegistry(const Options& options);
  // The file's model with its accelerator and batcher, not yet served.
  absl::StatusOr<std::shared_ptr<const ServedModel>> Build(const std::string& path,
                                                           std::string_view file_name);
  // Destroys what the deleters queue, off the threads that dropped the last reference.
  void RetireLoop();
  void StopAcceptingLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(change_mu_);

  const Options options_;
  // Declared before models_, so the engine outlives every model's accelerator.
  std::unique_ptr<accel::BackendFactory> backends_;
  // Declared before models_, so it outlives every accelerator it checks.
  std::unique_ptr<ShadowChecker> shadow_;
  std::shared_ptr<Retirement> retirement_ = std::make_shared<Retirement>();
  std::thread retire_thread_;

  // Held by Load() and Unload() throughout: one model change at a time. Taken before mu_.
  std::mutex change_mu_;
  // Guards the map only: held for lookups and the swap itself, never while loading or draining.
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const ServedModel>, std::less<>> models_
      ABSL_GUARDED_BY(mu_);
  // The models no longer change and refuse new requests: StopAccepting() has run.
  bool stopped_accepting_ ABSL_GUARDED_BY(change_mu_) = false;
  // Every name's metrics, kept after the name is unloaded.
  std::map<std::string, std::shared_ptr<ModelMetrics>, std::less<>> metrics_
      ABSL_GUARDED_BY(change_mu_);
};

}  // namespace pynq::service

#endif  // PYNQ_SERVICE_MODEL_REGISTRY_H_
