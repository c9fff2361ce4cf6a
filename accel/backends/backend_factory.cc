#include "accel/backends/backend_factory.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "accel/cpu/cpu_backend.h"
#include "accel/fpga/devices/mmio/mmio_device.h"
#include "accel/fpga/devices/sim/sim_device.h"
#include "accel/fpga/fpga_backend.h"
#include "accel/fpga/fpga_engine.h"
#include "accel/fpga/overlay_manifest.h"
#include "base/status_macros.h"
#include "overlays/nn_engine/abi/registers.h"
#include "spdlog/spdlog.h"
#ifdef PYNQ_WITH_XRT
#include "accel/fpga/devices/xrt/xrt_device.h"
#endif

namespace pynq::accel {

namespace {

// One table per kind, so parsing and printing cannot disagree.
struct AcceleratorName {
  AcceleratorKind kind;
  absl::string_view name;
};
constexpr AcceleratorName kAcceleratorNames[] = {{AcceleratorKind::kCpu, "cpu"},
                                                 {AcceleratorKind::kFpga, "fpga"},
                                                 {AcceleratorKind::kAuto, "auto"}};

struct DeviceName {
  DeviceKind kind;
  absl::string_view name;
};
constexpr DeviceName kDeviceNames[] = {
    {DeviceKind::kSim, "sim"}, {DeviceKind::kXrt, "xrt"}, {DeviceKind::kMmio, "mmio"}};

template <typename Kind, typename Entry, size_t N>
bool ParseKind(const Entry (&names)[N], absl::string_view text, Kind* kind, std::string* error) {
  std::string choices;
  for (const Entry& entry : names) {
    if (text == entry.name) {
      *kind = entry.kind;
      return true;
    }
    absl::StrAppend(&choices, choices.empty() ? "" : ", ", entry.name);
  }
  *error = absl::StrCat("\"", text, "\" is not one of ", choices);
  return false;
}

template <typename Kind, typename Entry, size_t N>
std::string UnparseKind(const Entry (&names)[N], Kind kind) {
  for (const Entry& entry : names) {
    if (entry.kind == kind) return std::string(entry.name);
  }
  return absl::StrCat(static_cast<int>(kind));
}

// Opens the device `options` names; `detail` says which for the log.
absl::StatusOr<std::unique_ptr<Device>> OpenDevice(const BackendOptions& options,
                                                   std::string& detail) {
  if (options.device == DeviceKind::kSim) {
    PYNQ_ASSIGN_OR_RETURN(std::vector<SimFaultPlan> faults, ParseSimFaultPlans(options.sim_fault));
    PYNQ_ASSIGN_OR_RETURN(std::unique_ptr<SimDevice> sim,
                          SimDevice::Create({.timing = options.sim_timing,
                                             .clock_mhz = options.sim_clock_mhz,
                                             .faults = std::move(faults)}));
    detail = options.sim_timing
                 ? absl::StrFormat("virtual board, timing at %g MHz", options.sim_clock_mhz)
                 : "virtual board, untimed";
    return sim;
  }
  const std::string device = AbslUnparseFlag(options.device);
  PYNQ_ASSIGN_OR_RETURN(OverlayManifest manifest, ReadOverlayManifest(options.overlay_manifest));
  if (manifest.device != device) {
    return absl::InvalidArgumentError(
        absl::StrFormat("--device=%s, but overlay manifest %s is for device %s", device,
                        options.overlay_manifest, manifest.device));
  }
  detail = absl::StrFormat("%s overlay %s at %g MHz", manifest.board, manifest.bitstream,
                           manifest.clock_mhz);
  if (options.device == DeviceKind::kXrt) {
#ifdef PYNQ_WITH_XRT
    return XrtDevice::Create(XrtDevice::OptionsFromManifest(manifest));
#else
    return absl::UnimplementedError(
        "--device=xrt: this pynq-inferd was built without XRT (-DPYNQ_WITH_XRT=OFF)");
#endif
  }
  return MmioDevice::Create(MmioDevice::OptionsFromManifest(manifest));
}

}  // namespace

bool AbslParseFlag(absl::string_view text, AcceleratorKind* kind, std::string* error) {
  return ParseKind(kAcceleratorNames, text, kind, error);
}
std::string AbslUnparseFlag(AcceleratorKind kind) { return UnparseKind(kAcceleratorNames, kind); }
bool AbslParseFlag(absl::string_view text, DeviceKind* kind, std::string* error) {
  return ParseKind(kDeviceNames, text, kind, error);
}
std::string AbslUnparseFlag(DeviceKind kind) { return UnparseKind(kDeviceNames, kind); }

absl::StatusOr<std::unique_ptr<BackendFactory>> BackendFactory::Create(
    const BackendOptions& options) {
  if (options.engine_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("the engine timeout must be positive, not ",
                                                   absl::FormatDuration(options.engine_timeout)));
  }
  // The fault plan is checked even when the engine is not opened, so a typo never waits for the
  // day the engine is used.
  PYNQ_RETURN_IF_ERROR(ParseSimFaultPlans(options.sim_fault).status());
  std::unique_ptr<BackendFactory> factory(new BackendFactory(options));
  if (options.accelerator == AcceleratorKind::kCpu) {
    factory->description_ = "cpu";
    return factory;
  }
  absl::Status opened = factory->OpenEngine();
  if (opened.ok()) return factory;
  if (options.accelerator == AcceleratorKind::kFpga ||
      opened.code() == absl::StatusCode::kInvalidArgument) {
    return opened;
  }
  spdlog::warn("--accelerator=auto: no FPGA engine on device {} ({}); serving on the CPU",
               AbslUnparseFlag(options.device), std::string(opened.message()));
  factory->description_ = "cpu (no FPGA engine: " + std::string(opened.message()) + ")";
  return factory;
}

absl::Status BackendFactory::OpenEngine() {
  std::string detail;
  PYNQ_ASSIGN_OR_RETURN(std::unique_ptr<Device> device, OpenDevice(options_, detail));
  PYNQ_ASSIGN_OR_RETURN(engine_, FpgaEngine::Create(std::move(device),
                                                    {.call_timeout = options_.engine_timeout}));
  description_ = absl::StrFormat(
      "fpga engine on %s (%s), engine version 0x%08x, PE %d, SIMD %d, cpu fallback %s",
      AbslUnparseFlag(options_.device), detail, engine_->version(),
      engine::CapsPe(engine_->caps()), engine::CapsSimd(engine_->caps()),
      options_.cpu_fallback ? "on" : "off");
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Accelerator>> BackendFactory::Make(
    std::shared_ptr<const Model> model, size_t max_batch_size) {
  if (engine_ != nullptr) {
    absl::StatusOr<std::unique_ptr<FpgaAccelerator>> fpga = FpgaAccelerator::Create(
        model, engine_, {.max_batch_size = max_batch_size, .cpu_fallback = options_.cpu_fallback});
    if (fpga.ok()) return std::unique_ptr<Accelerator>(std::move(*fpga));
    if (fpga.status().code() != absl::StatusCode::kUnimplemented || !options_.cpu_fallback) {
      return fpga.status();
    }
    spdlog::warn("model {}: served on the CPU: {}", model->name(),
                 std::string(fpga.status().message()));
  }
  PYNQ_ASSIGN_OR_RETURN(std::unique_ptr<CpuAccelerator> cpu,
                        CpuAccelerator::Create(model, {.max_batch_size = max_batch_size}));
  return std::unique_ptr<Accelerator>(std::move(cpu));
}

EngineHealth* BackendFactory::engine_health() const { return engine_.get(); }

}  // namespace pynq::accel
