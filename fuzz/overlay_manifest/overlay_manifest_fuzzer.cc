// Fuzz target: the overlay manifest parser (accel/fpga/overlay_manifest.h), the text file beside a
// bitstream that says how to reach the engine.
#include <cstddef>
#include <cstdint>
#include <string>

#include "accel/fpga/overlay_manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)pynq::accel::ParseOverlayManifest(text, "/usr/share/pynq-infer/overlay");
  return 0;
}
