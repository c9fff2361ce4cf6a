#include "accel/fpga/device.h"

#include <algorithm>
#include <thread>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "overlays/nn_engine/abi/memory_layout.h"
#include "overlays/nn_engine/abi/registers.h"

namespace pynq::accel {

absl::Status Device::WaitForDone(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Duration pause = absl::Microseconds(2);
  uint32_t ctrl = 0;
  while (true) {
    absl::StatusOr<uint32_t> read = Read32(engine::kRegCtrl);
    if (!read.ok()) return read.status();
    ctrl = *read;
    if ((ctrl & engine::kCtrlDone) != 0) return absl::OkStatus();
    if (absl::Now() >= deadline) break;
    absl::SleepFor(pause);
    pause = std::min(pause * 2, absl::Microseconds(200));
  }
  return absl::DeadlineExceededError(
      absl::StrFormat("%s: the engine did not raise ap_done within %s (CTRL=0x%x)", name(),
                      absl::FormatDuration(timeout), ctrl));
}

absl::StatusOr<size_t> DmaArena::Allocate(size_t bytes) {
  constexpr size_t kAlign = engine::kBurstBytes;
  const size_t want = std::max<size_t>(kAlign, (bytes + kAlign - 1) / kAlign * kAlign);
  std::lock_guard lock(mu_);
  size_t candidate = 0;
  for (const auto& [offset, size] : used_) {
    if (offset - candidate >= want) break;
    candidate = offset + size;
  }
  if (candidate + want > bytes_) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "device memory exhausted: %d bytes wanted, %d-byte window", want, bytes_));
  }
  used_.emplace(candidate, want);
  return candidate;
}

void DmaArena::Free(size_t offset) {
  std::lock_guard lock(mu_);
  used_.erase(offset);
}

}  // namespace pynq::accel
