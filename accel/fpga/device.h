// The small interface the FPGA driver (fpga_backend.h) runs on: the engine's 32-bit registers,
// DMA buffers with explicit cache syncs, and a wait for ap_done. Three implementations:
// SimDevice (the virtual board, sim_device.h), XrtDevice (xrt_device.h) and MmioDevice
// (/dev/uio + u-dma-buf, mmio_device.h). The driver is written once against this interface, so
// all of it but the few lines inside XrtDevice and MmioDevice runs in the tests on any machine.
//
//   PYNQ_ASSIGN_OR_RETURN(std::unique_ptr<DmaBuffer> in, device.Allocate(4096));
//   std::memcpy(in->host(), data, n);
//   PYNQ_RETURN_IF_ERROR(in->SyncToDevice(0, n));           // the engine sees only what was synced
//   PYNQ_RETURN_IF_ERROR(device.Write32(engine::kRegInputLo, Low32(in->device_address())));
//   PYNQ_RETURN_IF_ERROR(device.Write32(engine::kRegCtrl, engine::kCtrlStart));
//   PYNQ_RETURN_IF_ERROR(device.WaitForDone(absl::Seconds(1)));
//
// Threading: the driver serializes Read32 / Write32 / WaitForDone / Reset (one engine call at a
// time). Allocate() and the methods of distinct DmaBuffers are thread-safe, so one thread can
// stage a batch while another waits for the engine.
#ifndef PYNQ_ACCEL_FPGA_DEVICE_H_
#define PYNQ_ACCEL_FPGA_DEVICE_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace pynq::accel {

// Memory both the CPU and the engine reach: a host view and a device (bus) address. Memory is
// not coherent: host writes reach the engine only through SyncToDevice(), engine writes reach
// the host view only through SyncFromDevice(). A buffer must not outlive its Device.
class DmaBuffer {
 public:
  virtual ~DmaBuffer() = default;
  // The host view, size() bytes, 64-byte aligned; valid for the buffer's lifetime.
  virtual uint8_t* host() = 0;
  // The address the engine uses for the first byte.
  virtual uint64_t device_address() const = 0;
  virtual size_t size() const = 0;
  // Makes host writes to [offset, offset + bytes) visible to the engine (cache flush).
  // kOutOfRange if the range passes the end. Blocks until done.
  virtual absl::Status SyncToDevice(size_t offset, size_t bytes) = 0;
  // Makes engine writes to [offset, offset + bytes) visible to the host (cache invalidate).
  virtual absl::Status SyncFromDevice(size_t offset, size_t bytes) = 0;
};

class Device {
 public:
  virtual ~Device() = default;

  // "sim", "xrt" or "mmio", as shown to users.
  virtual std::string_view name() const = 0;

  // A 32-bit engine register at byte `offset` (overlays/nn_engine/abi/registers.h). Reading CTRL
  // clears ap_done and ap_ready, as on the hardware. kOutOfRange for an offset outside the register
  // block or not 4-byte aligned.
  virtual absl::StatusOr<uint32_t> Read32(uint32_t offset) = 0;
  virtual absl::Status Write32(uint32_t offset, uint32_t value) = 0;

  // A new DMA buffer of at least `bytes` bytes (rounded up to 64). kResourceExhausted when the
  // device memory is used up.
  virtual absl::StatusOr<std::unique_ptr<DmaBuffer>> Allocate(size_t bytes) = 0;

  // Blocks until the engine finishes the call it was started for, or `timeout` passes. OK when a
  // read of CTRL showed ap_done (that read cleared it); kDeadlineExceeded on timeout; a device
  // that detects a failed call itself (the virtual board's bus errors) says so with kInternal.
  // The default polls CTRL, backing off from 2 us to 200 us between reads.
  virtual absl::Status WaitForDone(absl::Duration timeout);

  // Brings a hung or failed engine back to idle with its registers cleared, so the driver must
  // write every argument again. kUnavailable if the engine does not come back (then only
  // reprogramming the PL helps; see overlays/README.md).
  virtual absl::Status Reset() = 0;
};

// A first-fit allocator of 64-byte aligned ranges inside one device memory window, for devices
// that hand out pieces of one region (the virtual board's DDR, a u-dma-buf). Thread-safe.
class DmaArena {
 public:
  explicit DmaArena(size_t bytes) : bytes_(bytes) {}
  // Offset of a new range of `bytes` (rounded up to 64), or kResourceExhausted naming the sizes.
  absl::StatusOr<size_t> Allocate(size_t bytes);
  // Releases a range returned by Allocate().
  void Free(size_t offset);

 private:
  const size_t bytes_;
  std::mutex mu_;
  std::map<size_t, size_t> used_ ABSL_GUARDED_BY(mu_);  // offset -> bytes
};

inline uint32_t Low32(uint64_t v) { return static_cast<uint32_t>(v); }
inline uint32_t High32(uint64_t v) { return static_cast<uint32_t>(v >> 32); }

}  // namespace pynq::accel

#endif  // PYNQ_ACCEL_FPGA_DEVICE_H_
