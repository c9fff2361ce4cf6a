#include "accel/fpga/devices/mmio/mmio_device.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"
#include "overlays/nn_engine/abi/memory_layout.h"
#include "overlays/nn_engine/abi/registers.h"

namespace pynq::accel {

namespace {

absl::Status OpenError(const std::string& path) {
  const int error = errno;
  const std::string message =
      absl::StrFormat("mmio: cannot open %s: %s", path, std::strerror(error));
  if (error == ENOENT) return absl::NotFoundError(message);
  if (error == EACCES || error == EPERM) return absl::PermissionDeniedError(message);
  return absl::UnavailableError(message);
}

// Reads a whole sysfs attribute (or FIFO standing in for one) and parses it as a number in C
// notation ("0x1f000000", "8388608").
absl::StatusOr<uint64_t> ReadSysfsNumber(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return OpenError(path);
  char text[64] = {};
  const ssize_t n = read(fd, text, sizeof(text) - 1);
  close(fd);
  absl::string_view value = n > 0 ? absl::string_view(text, static_cast<size_t>(n)) : "";
  absl::ConsumeSuffix(&value, "\n");
  uint64_t number = 0;
  const bool parsed = absl::ConsumePrefix(&value, "0x") ? absl::SimpleHexAtoi(value, &number)
                                                       : absl::SimpleAtoi(value, &number);
  if (!parsed) {
    return absl::FailedPreconditionError(
        absl::StrFormat("mmio: %s holds \"%s\", not a number", path, std::string(value)));
  }
  return number;
}

// Writes a sysfs attribute the way `echo value > path` does.
absl::Status WriteSysfs(const std::string& path, uint64_t value) {
  const int fd = open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) return OpenError(path);
  const std::string text = absl::StrCat(value);
  const ssize_t written = write(fd, text.data(), text.size());
  close(fd);
  if (written != static_cast<ssize_t>(text.size())) {
    return absl::InternalError(absl::StrFormat("mmio: writing %s to %s failed: %s", text, path,
                                               std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace

// A piece of the u-dma-buf region: the host view is the (cached) mapping, the bus address is
// phys_addr plus the offset.
class MmioDmaBuffer final : public DmaBuffer {
 public:
  MmioDmaBuffer(MmioDevice* device, size_t offset, size_t bytes)
      : device_(device), offset_(offset), bytes_(bytes) {}
  ~MmioDmaBuffer() override { device_->arena_.Free(offset_); }

  uint8_t* host() override { return device_->dma_ + offset_; }
  uint64_t device_address() const override { return device_->dma_bus_address_ + offset_; }
  size_t size() const override { return bytes_; }
  absl::Status SyncToDevice(size_t offset, size_t bytes) override {
    PYNQ_RETURN_IF_ERROR(CheckRange(offset, bytes));
    return device_->Sync(offset_ + offset, bytes, /*direction=*/1);
  }
  absl::Status SyncFromDevice(size_t offset, size_t bytes) override {
    PYNQ_RETURN_IF_ERROR(CheckRange(offset, bytes));
    return device_->Sync(offset_ + offset, bytes, /*direction=*/2);
  }

 private:
  absl::Status CheckRange(size_t offset, size_t bytes) const {
    if (offset > bytes_ || bytes > bytes_ - offset) {
      return absl::OutOfRangeError(absl::StrFormat(
          "mmio: sync of [%d, %d) passes the end of a %d-byte buffer", offset, offset + bytes,
          bytes_));
    }
    return absl::OkStatus();
  }

  MmioDevice* const device_;
  const size_t offset_;
  const size_t bytes_;
};

MmioDevice::Options MmioDevice::OptionsFromManifest(const OverlayManifest& manifest) {
  Options options;
  options.registers_path = manifest.uio.empty() ? "/dev/mem" : manifest.uio;
  options.registers_offset = manifest.uio.empty() ? manifest.base_address : 0;
  options.registers_bytes = manifest.address_range;
  options.dma_device_path = "/dev/" + manifest.udmabuf;
  options.dma_sysfs_dir = "/sys/class/u-dma-buf/" + manifest.udmabuf;
  return options;
}

absl::StatusOr<std::unique_ptr<MmioDevice>> MmioDevice::Create(const Options& options) {
  const auto page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  if (options.registers_bytes < engine::kRegisterBlockBytes ||
      options.registers_bytes % page != 0 || options.registers_offset % page != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "mmio: register window of %d bytes at offset 0x%x must be page aligned and hold the "
        "engine's 0x%x-byte register block",
        options.registers_bytes, options.registers_offset, engine::kRegisterBlockBytes));
  }
  PYNQ_ASSIGN_OR_RETURN(uint64_t dma_bus_address,
                        ReadSysfsNumber(options.dma_sysfs_dir + "/phys_addr"));
  PYNQ_ASSIGN_OR_RETURN(uint64_t dma_bytes, ReadSysfsNumber(options.dma_sysfs_dir + "/size"));
  std::unique_ptr<MmioDevice> device(new MmioDevice(options, dma_bytes, dma_bus_address));

  // O_SYNC makes /dev/mem map the registers uncached.
  device->registers_fd_ = open(options.registers_path.c_str(), O_RDWR | O_SYNC | O_CLOEXEC);
  if (device->registers_fd_ < 0) return OpenError(options.registers_path);
  void* registers = mmap(nullptr, options.registers_bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
                         device->registers_fd_, static_cast<off_t>(options.registers_offset));
  if (registers == MAP_FAILED) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "mmio: cannot map %d bytes of %s at 0x%x: %s", options.registers_bytes,
        options.registers_path, options.registers_offset, std::strerror(errno)));
  }
  device->registers_ = static_cast<volatile uint32_t*>(registers);

  // Without O_SYNC the region stays cached; the explicit syncs keep it coherent.
  device->dma_fd_ = open(options.dma_device_path.c_str(), O_RDWR | O_CLOEXEC);
  if (device->dma_fd_ < 0) return OpenError(options.dma_device_path);
  void* dma = mmap(nullptr, dma_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, device->dma_fd_, 0);
  if (dma == MAP_FAILED) {
    return absl::FailedPreconditionError(absl::StrFormat("mmio: cannot map %d bytes of %s: %s",
                                                         dma_bytes, options.dma_device_path,
                                                         std::strerror(errno)));
  }
  device->dma_ = static_cast<uint8_t*>(dma);
  return device;
}

MmioDevice::MmioDevice(const Options& options, size_t dma_bytes, uint64_t dma_bus_address)
    : options_(options),
      dma_bytes_(dma_bytes),
      dma_bus_address_(dma_bus_address),
      arena_(dma_bytes) {}

MmioDevice::~MmioDevice() {
  if (registers_ != nullptr) {
    munmap(const_cast<uint32_t*>(registers_), options_.registers_bytes);
  }
  if (dma_ != nullptr) munmap(dma_, dma_bytes_);
  if (registers_fd_ >= 0) close(registers_fd_);
  if (dma_fd_ >= 0) close(dma_fd_);
}

absl::StatusOr<uint32_t> MmioDevice::Read32(uint32_t offset) {
  if (offset % 4 != 0 || offset >= engine::kRegisterBlockBytes) {
    return absl::OutOfRangeError(
        absl::StrFormat("mmio: register offset 0x%x is outside the engine's register block", offset));
  }
  return registers_[offset / 4];
}

absl::Status MmioDevice::Write32(uint32_t offset, uint32_t value) {
  if (offset % 4 != 0 || offset >= engine::kRegisterBlockBytes) {
    return absl::OutOfRangeError(
        absl::StrFormat("mmio: register offset 0x%x is outside the engine's register block", offset));
  }
  registers_[offset / 4] = value;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<DmaBuffer>> MmioDevice::Allocate(size_t bytes) {
  PYNQ_ASSIGN_OR_RETURN(size_t offset, arena_.Allocate(bytes));
  const size_t rounded = std::max<size_t>(64, (bytes + 63) / 64 * 64);
  return std::unique_ptr<DmaBuffer>(new MmioDmaBuffer(this, offset, rounded));
}

absl::Status MmioDevice::Sync(size_t offset, size_t bytes, int direction) {
  const std::string& dir = options_.dma_sysfs_dir;
  std::lock_guard lock(sync_mu_);
  PYNQ_RETURN_IF_ERROR(WriteSysfs(dir + "/sync_offset", offset));
  PYNQ_RETURN_IF_ERROR(WriteSysfs(dir + "/sync_size", bytes));
  PYNQ_RETURN_IF_ERROR(WriteSysfs(dir + "/sync_direction", static_cast<uint64_t>(direction)));
  const bool to_device = direction == 1;
  PYNQ_RETURN_IF_ERROR(WriteSysfs(dir + (to_device ? "/sync_for_device" : "/sync_for_cpu"), 1));
  // The owner is the device after sync_for_device, the CPU after sync_for_cpu.
  PYNQ_ASSIGN_OR_RETURN(uint64_t owner, ReadSysfsNumber(dir + "/sync_owner"));
  if (owner != (to_device ? 1u : 0u)) {
    return absl::InternalError(absl::StrFormat(
        "mmio: after %s of [%d, %d), %s/sync_owner reads %d", to_device ? "sync_for_device" :
        "sync_for_cpu", offset, offset + bytes, dir, owner));
  }
  return absl::OkStatus();
}

absl::Status MmioDevice::Reset() {
  PYNQ_RETURN_IF_ERROR(Write32(engine::kRegGie, 0));
  PYNQ_RETURN_IF_ERROR(Write32(engine::kRegIer, 0));
  PYNQ_ASSIGN_OR_RETURN(uint32_t ctrl, Read32(engine::kRegCtrl));
  if ((ctrl & engine::kCtrlIdle) == 0) {
    return absl::UnavailableError(absl::StrFormat(
        "mmio: the engine is still busy (CTRL=0x%x); an HLS block cannot be reset over "
        "AXI-Lite: reload the bitstream",
        ctrl));
  }
  return absl::OkStatus();
}

}  // namespace pynq::accel
