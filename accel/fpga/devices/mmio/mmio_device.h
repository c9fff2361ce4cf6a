// MmioDevice: the engine on plain Linux without XRT (PYNQ-Z1/Z2): its registers through mmap of
// /dev/uioN (or /dev/mem at the IP's base address), its DMA buffers carved out of one u-dma-buf
// region (/dev/udmabufN, with the region's bus address from sysfs phys_addr). The CPU caches
// the region; SyncToDevice / SyncFromDevice write the u-dma-buf sysfs controls sync_offset,
// sync_size, sync_direction and then sync_for_device / sync_for_cpu, and read sync_owner back
// to confirm the ownership changed.
//
//   PYNQ_ASSIGN_OR_RETURN(std::unique_ptr<MmioDevice> device,
//                         MmioDevice::Create({.registers_path = "/dev/uio0",
//                                             .dma_device_path = "/dev/udmabuf0",
//                                             .dma_sysfs_dir = "/sys/class/u-dma-buf/udmabuf0"}));
//
// The bitstream must already be loaded (fpgautil, or the FPGA manager) and the u-dma-buf module
// loaded with a region large enough for the models; see overlays/README.md. In the tests, the
// paths point at files in /dev/shm behind which a test thread plays the board.
//
// Thread-safety: as Device. Buffer syncs of distinct buffers are serialized internally (they
// share the one set of sysfs controls).
#ifndef PYNQ_ACCEL_FPGA_DEVICES_MMIO_MMIO_DEVICE_H_
#define PYNQ_ACCEL_FPGA_DEVICES_MMIO_MMIO_DEVICE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "accel/fpga/device.h"
#include "accel/fpga/overlay_manifest.h"

namespace pynq::accel {

class MmioDevice final : public Device {
 public:
  struct Options {
    // /dev/uioN (map 0 at offset 0) or /dev/mem (at the IP's base address).
    std::string registers_path;
    uint64_t registers_offset = 0;
    // Bytes to map; at least the engine's register block. Page aligned.
    size_t registers_bytes = 0x10000;
    std::string dma_device_path;  // /dev/udmabufN
    std::string dma_sysfs_dir;    // /sys/class/u-dma-buf/udmabufN
  };

  // The options an overlay manifest (device = mmio) describes.
  static Options OptionsFromManifest(const OverlayManifest& manifest);

  // Maps the registers and the DMA region. kNotFound / kPermissionDenied naming the path that
  // could not be opened; kFailedPrecondition for a sysfs value that cannot be parsed or a mapping
  // that fails.
  static absl::StatusOr<std::unique_ptr<MmioDevice>> Create(const Options& options);
  ~MmioDevice() override;

  std::string_view name() const override { return "mmio"; }
  // See Device. Volatile 32-bit loads and stores on the mapped registers.
  absl::StatusOr<uint32_t> Read32(uint32_t offset) override;
  absl::Status Write32(uint32_t offset, uint32_t value) override;
  absl::StatusOr<std::unique_ptr<DmaBuffer>> Allocate(size_t bytes) override;
  // An HLS block has no reset over AXI-Lite: disables interrupts and succeeds only if the
  // engine is idle; a hung engine is kUnavailable (reload the bitstream).
  absl::Status Reset() override;

 private:
  friend class MmioDmaBuffer;
  MmioDevice(const Options& options, size_t dma_bytes, uint64_t dma_bus_address);

  // direction: 1 = to device, 2 = from device (u-dma-buf's numbering).
  absl::Status Sync(size_t offset, size_t bytes, int direction);

  const Options options_;
  int registers_fd_ = -1;
  volatile uint32_t* registers_ = nullptr;
  int dma_fd_ = -1;
  uint8_t* dma_ = nullptr;
  const size_t dma_bytes_;
  const uint64_t dma_bus_address_;
  DmaArena arena_;
  std::mutex sync_mu_;  // one sync at a time through the shared sysfs controls
};

}  // namespace pynq::accel

#endif  // PYNQ_ACCEL_FPGA_DEVICES_MMIO_MMIO_DEVICE_H_
