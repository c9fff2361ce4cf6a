#include "service/backend_factory.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "accel/cpu/cpu_backend.h"
#include "accel/fpga/devices/mmio/mmio_device.h"
#include "overlays/nn_engine/abi/memory_layout.h"
#include "overlays/nn_engine/abi/registers.h"
#include "accel/fpga/fpga_backend.h"
#include "accel/fpga/overlay_manifest.h"
#include "base/status_macros.h"
#include "spdlog/spdlog.h"
#ifdef PYNQ_WITH_XRT
#include "accel/fpga/devices/xrt/xrt_device.h"
#endif

namespace pynq::service {

namespace {

// Opens the device `name` names; `detail` says which for the log.
absl::StatusOr<std::unique_ptr<accel::Device>> OpenDevice(const BackendOptions& options,
                                                          std::string& detail) {
  if (options.device == "sim") {
    PYNQ_ASSIGN_OR_RETURN(std::unique_ptr<accel::SimDevice> sim, accel::SimDevice::Create(options.sim));
    detail = options.sim.timing
                 ? absl::StrFormat("virtual board, timing at %g MHz", options.sim.clock_mhz)
                 : "virtual board, untimed";
    return sim;
  }
  if (options.device != "xrt" && options.device != "mmio") {
    return absl::InvalidArgumentError(
        absl::StrFormat("--device=%s is not one of sim, xrt, mmio", options.device));
  }
  PYNQ_ASSIGN_OR_RETURN(accel::OverlayManifest manifest,
                        accel::ReadOverlayManifest(options.overlay_manifest));
  if (manifest.device != options.device) {
    return absl::InvalidArgumentError(
        absl::StrFormat("--device=%s, but overlay manifest %s is for device %s", options.device,
                        options.overlay_manifest, manifest.device));
  }
  detail = absl::StrFormat("%s overlay %s at %g MHz", manifest.board, manifest.bitstream,
                           manifest.clock_mhz);
  if (options.device == "xrt") {
#ifdef PYNQ_WITH_XRT
    return accel::XrtDevice::Create(accel::XrtDevice::OptionsFromManifest(manifest));
#else
    return absl::UnimplementedError(
        "--device=xrt: this pynq-inferd was built without XRT (-DPYNQ_WITH_XRT=OFF)");
#endif
  }
  return accel::MmioDevice::Create(accel::MmioDevice::OptionsFromManifest(manifest));
}

}  // namespace

absl::StatusOr<std::unique_ptr<BackendFactory>> BackendFactory::Create(
    const BackendOptions& options) {
  std::unique_ptr<BackendFactory> factory(new BackendFactory(options));
  if (options.accelerator == "cpu") {
    factory->description_ = "cpu";
    return factory;
  }
  if (options.accelerator != "fpga" && options.accelerator != "auto") {
    return absl::InvalidArgumentError(absl::StrFormat(
        "--accelerator=%s is not one of cpu, fpga, auto", options.accelerator));
  }
  absl::Status opened = factory->OpenEngine();
  if (opened.ok()) return factory;
  if (options.accelerator == "fpga" || opened.code() == absl::StatusCode::kInvalidArgument) {
    return opened;
  }
  spdlog::warn("--accelerator=auto: no FPGA engine on device {} ({}); serving on the CPU",
               options.device, std::string(opened.message()));
  factory->description_ = "cpu (no FPGA engine: " + std::string(opened.message()) + ")";
  return factory;
}

absl::Status BackendFactory::OpenEngine() {
  std::string detail;
  PYNQ_ASSIGN_OR_RETURN(std::unique_ptr<accel::Device> device, OpenDevice(options_, detail));
  PYNQ_ASSIGN_OR_RETURN(engine_, accel::FpgaEngine::Create(std::move(device), options_.engine));
  description_ = absl::StrFormat(
      "fpga engine on %s (%s), engine version 0x%08x, PE %d, SIMD %d, cpu fallback %s",
      options_.device, detail, engine_->version(), engine::CapsPe(engine_->caps()),
      engine::CapsSimd(engine_->caps()), options_.cpu_fallback ? "on" : "off");
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<accel::Accelerator>> BackendFactory::Make(
    std::shared_ptr<const accel::Model> model, size_t max_batch_size) {
  if (engine_ != nullptr) {
    absl::StatusOr<std::unique_ptr<accel::FpgaAccelerator>> fpga = accel::FpgaAccelerator::Create(
        model, engine_,
        {.max_batch_size = max_batch_size, .cpu_fallback = options_.cpu_fallback});
    if (fpga.ok()) return std::unique_ptr<accel::Accelerator>(std::move(*fpga));
    if (fpga.status().code() != absl::StatusCode::kUnimplemented || !options_.cpu_fallback) {
      return fpga.status();
    }
    spdlog::warn("model {}: served on the CPU: {}", model->name(),
                 std::string(fpga.status().message()));
  }
  PYNQ_ASSIGN_OR_RETURN(std::unique_ptr<accel::CpuAccelerator> cpu,
                        accel::CpuAccelerator::Create(model, {.max_batch_size = max_batch_size}));
  return std::unique_ptr<accel::Accelerator>(std::move(cpu));
}

}  // namespace pynq::service
