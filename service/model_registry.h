// The models the daemon serves: at start it loads every model file (*.pim) in one directory and
// gives each its accelerator, batcher and metrics.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<ModelRegistry> registry,
//                    ModelRegistry::Create({.model_dir = "/usr/share/pynq-infer/models"}));
//   const ServedModel* m = registry->Find("mnist-bnn-tfc");   // nullptr if not served
//   RETURN_IF_ERROR(m->batcher->Submit(request));
//
// The set of models is fixed after Create(); Find() and models() are thread-safe.
#ifndef PYNQ_SERVICE_MODEL_REGISTRY_H_
#define PYNQ_SERVICE_MODEL_REGISTRY_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "accel/cpu_backend.h"
#include "accel/fpga_backend.h"
#include "accel/model.h"
#include "service/backend_factory.h"
#include "service/batcher.h"
#include "service/metrics.h"

namespace pynq::service {

// One served model. The batcher is declared last so it is destroyed (drained) first: no batch
// runs after its metrics or model are gone.
struct ServedModel {
  std::shared_ptr<const accel::Model> model;
  std::string path;
  std::unique_ptr<ModelMetrics> metrics;
  // The batcher's accelerator when it is the FPGA backend (for its fault counters), else null.
  const accel::FpgaAccelerator* fpga = nullptr;
  std::unique_ptr<Batcher> batcher;
};

class ModelRegistry {
 public:
  struct Options {
    // Directory whose *.pim files are loaded (not recursively).
    std::string model_dir;
    // Batching of every model not named in batcher_by_model.
    Batcher::Options batcher;
    // Batching of particular models, by model name.
    std::map<std::string, Batcher::Options> batcher_by_model;
    // The CPU backend's options; its max_batch_size is raised to each model's batch size.
    accel::CpuAccelerator::Options cpu;
    // What runs the models (--accelerator, --device, ...).
    BackendOptions backend;
  };

  // Loads every *.pim file in options.model_dir. Fails, naming the file, if any file is invalid
  // or two files hold models of the same name; kNotFound if the directory cannot be read or
  // holds no model file, or batcher_by_model names a model it does not hold. A daemon started
  // with a broken model directory should not come up serving part of it silently.
  static absl::StatusOr<std::unique_ptr<ModelRegistry>> Create(const Options& options);

  // The model named `name`, or nullptr.
  const ServedModel* Find(std::string_view name) const;
  // All served models, by name.
  std::vector<const ServedModel*> models() const;

  // Drains every model's batcher (Batcher::Drain()): accepted requests are all answered.
  void Drain();

  // The FPGA engine the models share, or nullptr when the CPU serves them all.
  accel::FpgaEngine* engine() const { return backends_->engine(); }
  // What serves the models, for the log.
  const std::string& backend_description() const { return backends_->description(); }

 private:
  ModelRegistry() = default;

  // Declared before models_, so the engine outlives every model's accelerator.
  std::unique_ptr<BackendFactory> backends_;
  std::map<std::string, std::unique_ptr<ServedModel>, std::less<>> models_;
};

}  // namespace pynq::service

#endif  // PYNQ_SERVICE_MODEL_REGISTRY_H_
