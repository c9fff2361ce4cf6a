// XrtDevice: the engine through the Xilinx Runtime's native C++ API, for Zynq UltraScale+ boards
// (KV260, ZCU104, Ultra96) with the zocl driver. It loads the xclbin, opens the engine kernel with
// exclusive access for register-level control (xrt::kernel read/write_register), checks the
// kernel's argument offsets against overlays/nn_engine/abi/registers.h, and allocates xrt::bo
// buffers in the memory bank of the kernel's m_axi port. XRT reports errors by throwing; every call
// is wrapped here and the exceptions become absl::Status, so none leaves accel/.
//
//   PYNQ_ASSIGN_OR_RETURN(std::unique_ptr<XrtDevice> device,
//                         XrtDevice::Create({.xclbin_path = "/lib/firmware/xilinx/nn_engine.xclbin"}));
//
// Built and linked in CI against Debian's libxrt-dev; with no device present Create() fails with
// kUnavailable and XRT's own explanation (tested). Thread-safety: as Device.
#ifndef PYNQ_ACCEL_FPGA_DEVICES_XRT_XRT_DEVICE_H_
#define PYNQ_ACCEL_FPGA_DEVICES_XRT_XRT_DEVICE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "accel/fpga/device.h"
#include "accel/fpga/overlay_manifest.h"

namespace pynq::accel {

class XrtDevice final : public Device {
 public:
  struct Options {
    std::string xclbin_path;
    unsigned device_index = 0;
    // The kernel in the xclbin (v++ --kernel name).
    std::string kernel_name = "nn_engine";
  };

  static Options OptionsFromManifest(const OverlayManifest& manifest);

  // kNotFound if the xclbin file is missing; kUnavailable if XRT cannot open the device or load
  // the xclbin (no device, no driver, no XRT installation), with XRT's message;
  // kFailedPrecondition if the kernel's argument offsets differ from abi/registers.h.
  static absl::StatusOr<std::unique_ptr<XrtDevice>> Create(const Options& options);
  ~XrtDevice() override;

  std::string_view name() const override { return "xrt"; }
  absl::StatusOr<uint32_t> Read32(uint32_t offset) override;
  absl::Status Write32(uint32_t offset, uint32_t value) override;
  absl::StatusOr<std::unique_ptr<DmaBuffer>> Allocate(size_t bytes) override;
  // Like MmioDevice: succeeds only if the engine is idle (XRT cannot reset one CU).
  absl::Status Reset() override;

 private:
  struct Impl;
  explicit XrtDevice(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace pynq::accel

#endif  // PYNQ_ACCEL_FPGA_DEVICES_XRT_XRT_DEVICE_H_
