// Chooses what runs the models: the CPU backend, or the FPGA engine on one of its devices (the
// virtual board, XRT, or /dev/uio + u-dma-buf). One factory per daemon; it owns the FPGA engine
// (there is one in the PL) and gives every model its accelerator. It is the one place outside
// accel/ that the FPGA driver's types are known: callers get Accelerators and an EngineHealth.
//
//   PYNQ_ASSIGN_OR_RETURN(
//       std::unique_ptr<BackendFactory> backends,
//       BackendFactory::Create({.accelerator = AcceleratorKind::kAuto,
//                               .device = DeviceKind::kXrt,
//                               .overlay_manifest = "/usr/share/.../nn_engine.manifest"}));
//   spdlog::info("accelerator: {}", backends->description());
//   PYNQ_ASSIGN_OR_RETURN(std::unique_ptr<Accelerator> a, backends->Make(model, 64));
//
// The kinds parse from and print as their flag spellings ("cpu", "fpga", "auto"; "sim", "xrt",
// "mmio"), so ABSL_FLAG(AcceleratorKind, ...) turns a command line into a kind at the flag
// boundary. Not thread-safe; used while the daemon starts and when a model is loaded, which the
// model registry serializes.
#ifndef PYNQ_ACCEL_BACKENDS_BACKEND_FACTORY_H_
#define PYNQ_ACCEL_BACKENDS_BACKEND_FACTORY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "accel/accelerator.h"
#include "accel/model/model.h"

namespace pynq::accel {

class FpgaEngine;

enum class AcceleratorKind {
  kCpu,   // the CPU backend for every model
  kFpga,  // the engine on `device`; fail if it cannot be opened
  kAuto,  // the engine if `device` opens, else the CPU, saying why in the log
};

enum class DeviceKind {
  kSim,   // the virtual board: the engine's HLS C++ on the host
  kXrt,   // XRT + zocl, Zynq UltraScale+
  kMmio,  // /dev/uio or /dev/mem + u-dma-buf, Zynq-7000
};

// Abseil flag support: "cpu" / "fpga" / "auto" and "sim" / "xrt" / "mmio"; anything else is an
// error naming the choices.
bool AbslParseFlag(absl::string_view text, AcceleratorKind* kind, std::string* error);
std::string AbslUnparseFlag(AcceleratorKind kind);
bool AbslParseFlag(absl::string_view text, DeviceKind* kind, std::string* error);
std::string AbslUnparseFlag(DeviceKind kind);

struct BackendOptions {
  AcceleratorKind accelerator = AcceleratorKind::kCpu;
  DeviceKind device = DeviceKind::kSim;
  // xrt and mmio: the manifest of the loaded overlay (accel/fpga/overlay_manifest.h).
  std::string overlay_manifest;
  // sim: delay ap_done by the engine's modeled cycle count at sim_clock_mhz plus a per-call
  // overhead; inject the faults sim_fault describes ("none" or KIND[:FIRST[:COUNT[:EVERY]]],
  // several separated by commas, see accel/fpga/devices/sim/sim_device.h ParseSimFaultPlans()).
  bool sim_timing = false;
  double sim_clock_mhz = 100;
  std::string sim_fault = "none";
  // An engine call not done within this is a fault (the engine is reset).
  absl::Duration engine_timeout = absl::Seconds(1);
  // Re-run a failed engine batch on the CPU, and serve a model the engine cannot run (an op it
  // lacks) on the CPU instead of refusing it.
  bool cpu_fallback = true;
};

class BackendFactory {
 public:
  // Opens the engine unless `accelerator` is kCpu. kInvalidArgument for a bad sim_fault or
  // engine_timeout, and (when the device is opened) a bad sim_clock_mhz or a manifest for another
  // device; with kFpga, the device's error (kNotFound, kUnavailable, ...) if it cannot be opened.
  static absl::StatusOr<std::unique_ptr<BackendFactory>> Create(const BackendOptions& options);

  // The accelerator for `model`, able to run batches of up to max_batch_size images: the FPGA
  // backend when the engine is open (or the CPU when the engine cannot run this model and
  // cpu_fallback is set, with a log line), else the CPU. Blocks while the model's program and
  // weights are copied to the engine. Every accelerator must be destroyed before the factory.
  absl::StatusOr<std::unique_ptr<Accelerator>> Make(std::shared_ptr<const Model> model,
                                                    size_t max_batch_size);

  // The health of the engine the accelerators share, or nullptr when the CPU serves everything
  // (which has no engine to fail). Valid as long as the factory.
  EngineHealth* engine_health() const;
  // For the log, e.g. "fpga engine on sim (virtual board, timing at 100 MHz), PE 8, SIMD 2".
  const std::string& description() const { return description_; }

 private:
  explicit BackendFactory(const BackendOptions& options) : options_(options) {}
  absl::Status OpenEngine();

  const BackendOptions options_;
  // The FPGA engine, if open (declared only: its header stays out of the callers' sight).
  std::shared_ptr<FpgaEngine> engine_;
  std::string description_;
};

}  // namespace pynq::accel

#endif  // PYNQ_ACCEL_BACKENDS_BACKEND_FACTORY_H_
