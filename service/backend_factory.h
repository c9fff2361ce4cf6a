// Chooses what runs the models: the CPU backend, or the FPGA engine on one of its devices (the
// virtual board, XRT, or /dev/uio + u-dma-buf), per --accelerator and --device. One factory per
// daemon; it owns the FPGA engine (there is one in the PL) and gives every model its accelerator.
//
//   PYNQ_ASSIGN_OR_RETURN(std::unique_ptr<BackendFactory> backends,
//                         BackendFactory::Create({.accelerator = "auto", .device = "xrt",
//                                            .overlay_manifest = "/usr/share/.../nn_engine.manifest"}));
//   spdlog::info("accelerator: {}", backends->description());
//   PYNQ_ASSIGN_OR_RETURN(std::unique_ptr<accel::Accelerator> a, backends->Make(model, 64));
//
// Not thread-safe; used while the daemon starts.
#ifndef PYNQ_SERVICE_BACKEND_FACTORY_H_
#define PYNQ_SERVICE_BACKEND_FACTORY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "accel/accelerator.h"
#include "accel/fpga/devices/sim/sim_device.h"
#include "accel/fpga/fpga_engine.h"
#include "accel/model/model.h"

namespace pynq::service {

struct BackendOptions {
  // "cpu", "fpga" (fail if the engine cannot be opened) or "auto" (the engine if it can be
  // opened, else the CPU, saying why in the log).
  std::string accelerator = "cpu";
  // "sim" (the virtual board), "xrt" or "mmio".
  std::string device = "sim";
  // xrt and mmio: the manifest of the loaded overlay (accel/fpga/overlay_manifest.h).
  std::string overlay_manifest;
  accel::SimDevice::Options sim;
  accel::FpgaEngine::Options engine;
  // Re-run a failed engine batch on the CPU, and serve a model the engine cannot run (an op it
  // lacks) on the CPU instead of refusing to start.
  bool cpu_fallback = true;
};

class BackendFactory {
 public:
  // Opens the engine unless accelerator is "cpu". kInvalidArgument for an unknown accelerator or
  // device name; with "fpga", the device's error (kNotFound, kUnavailable, ...) if it cannot be
  // opened.
  static absl::StatusOr<std::unique_ptr<BackendFactory>> Create(const BackendOptions& options);

  // The accelerator for `model`: the FPGA backend when the engine is open (or the CPU when the
  // engine cannot run this model and cpu_fallback is set, with a log line), else the CPU.
  absl::StatusOr<std::unique_ptr<accel::Accelerator>> Make(std::shared_ptr<const accel::Model> model,
                                                           size_t max_batch_size);

  // The engine, or nullptr when the CPU serves everything.
  accel::FpgaEngine* engine() const { return engine_.get(); }
  // For the log, e.g. "fpga engine on sim (virtual board, timing at 100 MHz), PE 8, SIMD 2".
  const std::string& description() const { return description_; }

 private:
  explicit BackendFactory(const BackendOptions& options) : options_(options) {}

  absl::Status OpenEngine();

  const BackendOptions options_;
  std::shared_ptr<accel::FpgaEngine> engine_;
  std::string description_;
};

}  // namespace pynq::service

#endif  // PYNQ_SERVICE_BACKEND_FACTORY_H_
