#include "accel/fpga/devices/xrt/xrt_device.h"

#include <exception>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_macros.h"
#include "overlays/nn_engine/abi/memory_layout.h"
#include "overlays/nn_engine/abi/registers.h"
#include "xrt/xrt_bo.h"
#include "xrt/xrt_device.h"
#include "xrt/xrt_kernel.h"

namespace pynq::accel {

namespace {

// Runs `f`, turning any exception XRT throws into a Status with `code` and `what` as context.
template <typename F>
absl::Status Guard(absl::StatusCode code, const std::string& what, F&& f) {
  try {
    f();
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return absl::Status(code, absl::StrCat("xrt: ", what, ": ", e.what()));
  }
}

// Argument index -> register offset of the engine's top function (nn_engine.h).
constexpr std::pair<int, uint32_t> kArgumentOffsets[] = {
    {0, engine::kRegProgramLo}, {1, engine::kRegWeightsLo}, {2, engine::kRegInputLo},
    {3, engine::kRegOutputLo},  {4, engine::kRegBatch},     {5, engine::kRegCommand},
    {6, engine::kRegTag},       {7, engine::kRegStatus},    {8, engine::kRegChecksum},
    {9, engine::kRegId},        {10, engine::kRegVersion},  {11, engine::kRegCaps},
    {12, engine::kRegScratchLo}, {13, engine::kRegSlot},    {14, engine::kRegKey},
    {15, engine::kRegWeightsBase}, {16, engine::kRegParamsBase}, {17, engine::kRegStoreRows},
    {18, engine::kRegStoreParams}, {19, engine::kRegNeedRows}, {20, engine::kRegNeedParams}};

class XrtDmaBuffer final : public DmaBuffer {
 public:
  explicit XrtDmaBuffer(xrt::bo bo, size_t bytes)
      : bo_(std::move(bo)), host_(bo_.map<uint8_t*>()), address_(bo_.address()), bytes_(bytes) {}

  uint8_t* host() override { return host_; }
  uint64_t device_address() const override { return address_; }
  size_t size() const override { return bytes_; }
  absl::Status SyncToDevice(size_t offset, size_t bytes) override {
    return SyncRange(XCL_BO_SYNC_BO_TO_DEVICE, offset, bytes);
  }
  absl::Status SyncFromDevice(size_t offset, size_t bytes) override {
    return SyncRange(XCL_BO_SYNC_BO_FROM_DEVICE, offset, bytes);
  }

 private:
  absl::Status SyncRange(xclBOSyncDirection direction, size_t offset, size_t bytes) {
    if (offset > bytes_ || bytes > bytes_ - offset) {
      return absl::OutOfRangeError(absl::StrFormat(
          "xrt: sync of [%d, %d) passes the end of a %d-byte buffer", offset, offset + bytes,
          bytes_));
    }
    return Guard(absl::StatusCode::kInternal, "bo sync",
                 [&] { bo_.sync(direction, bytes, offset); });
  }

  xrt::bo bo_;
  uint8_t* host_;
  uint64_t address_;
  size_t bytes_;
};

}  // namespace

struct XrtDevice::Impl {
  xrt::device device;
  xrt::kernel kernel;
  int memory_group = 0;
};

XrtDevice::Options XrtDevice::OptionsFromManifest(const OverlayManifest& manifest) {
  return {.xclbin_path = manifest.bitstream,
          .device_index = manifest.device_index,
          .kernel_name = manifest.ip_name};
}

absl::StatusOr<std::unique_ptr<XrtDevice>> XrtDevice::Create(const Options& options) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(options.xclbin_path, error)) {
    return absl::NotFoundError(absl::StrCat("xrt: no xclbin at ", options.xclbin_path));
  }
  auto impl = std::make_unique<Impl>();
  PYNQ_RETURN_IF_ERROR(Guard(absl::StatusCode::kUnavailable,
                             absl::StrFormat("cannot open device %d", options.device_index),
                             [&] { impl->device = xrt::device(options.device_index); }));
  xrt::uuid uuid;
  PYNQ_RETURN_IF_ERROR(Guard(absl::StatusCode::kUnavailable,
                             absl::StrCat("cannot load ", options.xclbin_path),
                             [&] { uuid = impl->device.load_xclbin(options.xclbin_path); }));
  PYNQ_RETURN_IF_ERROR(Guard(
      absl::StatusCode::kUnavailable,
      absl::StrCat("cannot open kernel ", options.kernel_name, " for exclusive access"), [&] {
        impl->kernel = xrt::kernel(impl->device, uuid, options.kernel_name,
                                        xrt::kernel::cu_access_mode::exclusive);
        impl->memory_group = impl->kernel.group_id(0);
      }));
  for (const auto& [index, expected] : kArgumentOffsets) {
    uint32_t offset = 0;
    PYNQ_RETURN_IF_ERROR(Guard(absl::StatusCode::kFailedPrecondition,
                               absl::StrCat("argument ", index, " of ", options.kernel_name),
                               [&, index = index] { offset = impl->kernel.offset(index); }));
    if (offset != expected) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "xrt: argument %d of kernel %s is at register 0x%x, the driver expects 0x%x "
          "(overlays/nn_engine/abi/registers.h): rebuild the xclbin from overlays/",
          index, options.kernel_name, offset, expected));
    }
  }
  return std::unique_ptr<XrtDevice>(new XrtDevice(std::move(impl)));
}

XrtDevice::XrtDevice(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

XrtDevice::~XrtDevice() = default;

absl::StatusOr<uint32_t> XrtDevice::Read32(uint32_t offset) {
  uint32_t value = 0;
  PYNQ_RETURN_IF_ERROR(Guard(absl::StatusCode::kOutOfRange, absl::StrFormat("read 0x%x", offset),
                             [&] { value = impl_->kernel.read_register(offset); }));
  return value;
}

absl::Status XrtDevice::Write32(uint32_t offset, uint32_t value) {
  return Guard(absl::StatusCode::kOutOfRange, absl::StrFormat("write 0x%x", offset),
               [&] { impl_->kernel.write_register(offset, value); });
}

absl::StatusOr<std::unique_ptr<DmaBuffer>> XrtDevice::Allocate(size_t bytes) {
  const size_t rounded = std::max<size_t>(64, (bytes + 63) / 64 * 64);
  std::unique_ptr<DmaBuffer> buffer;
  PYNQ_RETURN_IF_ERROR(Guard(absl::StatusCode::kResourceExhausted,
                             absl::StrFormat("cannot allocate a %d-byte buffer", rounded), [&] {
                               xrt::bo bo(impl_->device, rounded, xrt::bo::flags::normal,
                                          impl_->memory_group);
                               buffer = std::make_unique<XrtDmaBuffer>(std::move(bo), rounded);
                             }));
  return buffer;
}

absl::Status XrtDevice::Reset() {
  PYNQ_ASSIGN_OR_RETURN(uint32_t ctrl, Read32(engine::kRegCtrl));
  if ((ctrl & engine::kCtrlIdle) == 0) {
    return absl::UnavailableError(absl::StrFormat(
        "xrt: the engine is still busy (CTRL=0x%x); reload the xclbin to recover it", ctrl));
  }
  return absl::OkStatus();
}

}  // namespace pynq::accel
