// The overlay manifest: a small text file shipped beside a bitstream that tells the daemon how to
// reach the engine in it (overlays/<board>/nn_engine.manifest). One `key = value` per line, `#`
// starts a comment; unknown keys are errors (a typo must not pass silently).
//
//   format        = 1
//   board         = pynq-z2
//   device        = mmio                 # mmio (/dev/uio + u-dma-buf) or xrt
//   bitstream     = nn_engine.bit        # relative to the manifest's directory; .xclbin for xrt
//   hwh           = nn_engine.hwh        # optional
//   ip_name       = nn_engine_0          # block-design instance (mmio) or kernel name (xrt)
//   clock_mhz     = 100
//   base_address  = 0x40000000           # mmio: the IP's AXI-Lite base address
//   address_range = 0x10000              # mmio
//   uio           = /dev/uio0            # mmio, optional: without it /dev/mem at base_address
//   udmabuf       = udmabuf0             # mmio: the u-dma-buf device for DMA buffers
//   device_index  = 0                    # xrt, optional
//
//   PYNQ_ASSIGN_OR_RETURN(
//       OverlayManifest m,
//       ReadOverlayManifest("/usr/share/pynq-infer/overlay/nn_engine.manifest"));
#ifndef PYNQ_ACCEL_FPGA_OVERLAY_MANIFEST_H_
#define PYNQ_ACCEL_FPGA_OVERLAY_MANIFEST_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace pynq::accel {

struct OverlayManifest {
  std::string board;
  std::string device;     // "mmio" or "xrt"
  std::string bitstream;  // absolute, or relative to the working directory
  std::string hwh;        // "" if not given
  std::string ip_name;
  double clock_mhz = 0;
  uint64_t base_address = 0;
  uint64_t address_range = 0;
  std::string uio;
  std::string udmabuf;
  uint32_t device_index = 0;
};

// Parses manifest text; `dir` is prepended to relative file names. kInvalidArgument naming the
// line and key for a malformed line, an unknown or repeated key, a missing required key or a
// bad value.
absl::StatusOr<OverlayManifest> ParseOverlayManifest(const std::string& text,
                                                     const std::string& dir);

// Reads and parses `path`; kNotFound if it cannot be read. Does not check that the bitstream
// exists (the device that loads it does).
absl::StatusOr<OverlayManifest> ReadOverlayManifest(const std::string& path);

}  // namespace pynq::accel

#endif  // PYNQ_ACCEL_FPGA_OVERLAY_MANIFEST_H_
