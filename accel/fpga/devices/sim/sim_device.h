// SimDevice, the virtual board: the engine's registers and DDR in host memory, and the engine's
// own HLS C++ (overlays/nn_engine/, compiled for the host) running on a thread of its own when the
// driver sets ap_start. It behaves the way real hardware does where a careless driver breaks:
//   - memory is not coherent: each DmaBuffer's host view is separate from DDR, so the engine sees
//     only what was synced to the device and the host sees results only after syncing back (DDR
//     starts filled with 0xA5, so unsynced data is visibly wrong);
//   - ap_done and ap_ready clear when CTRL is read; ap_start while busy is ignored (and counted);
//   - every engine access is range-checked: a bad DMA address is a reported bus error;
//   - faults can be injected: a hang (done never rises), corrupted output, a bus error, and a bit
//     flipped in a resident model's weights (what the driver's checksums cannot see: the engine
//     computes wrong scores and checksums them faithfully; only a check of the scores themselves,
//     such as the daemon's --shadow_check_rate, finds it);
//   - the engine's on-chip weight store keeps resident models between calls, and a Reset()
//     forgets them (the engine then answers a resident RUN with kStatusNotResident);
//   - optionally, ap_done is delayed by the engine's cycle count at a given clock plus a fixed
//     per-call overhead: the cycles the C simulation counted, which equal the timing model's
//     (overlays/nn_engine/timing_model.h has the formula).
//
//   PYNQ_ASSIGN_OR_RETURN(std::unique_ptr<SimDevice> board,
//                         SimDevice::Create({.timing = true, .clock_mhz = 100}));
//   board->InjectFault({.kind = SimFault::kHang, .first_run = 3});  // the 3rd RUN hangs
//
// Thread-safety: as Device; InjectFault() and stats() are thread-safe.
#ifndef PYNQ_ACCEL_FPGA_DEVICES_SIM_SIM_DEVICE_H_
#define PYNQ_ACCEL_FPGA_DEVICES_SIM_SIM_DEVICE_H_

#include <array>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "accel/fpga/device.h"
#include "accel/fpga/devices/sim/sim_engine.h"
#include "overlays/nn_engine/abi/memory_layout.h"
#include "overlays/nn_engine/abi/registers.h"

namespace pynq::accel {

enum class SimFault {
  kNone,
  kHang,           // the engine never raises ap_done (until Reset())
  kCorruptOutput,  // the engine finishes, then one bit of its first score flips in DDR
  kBusError,       // the engine's first write goes to an address outside DDR
  // Before the RUN, one bit of the resident copy it runs from flips in the on-chip store (bit 20
  // of the bias in bank 0 of the copy's last params row: in a model whose last layer has params,
  // one class score of every image moves by 2^20), and stays flipped until a LOAD of that slot
  // rewrites it; a RUN of the plan finding the bit already flipped leaves it. So COUNT 1 is one
  // upset that a reload cures, COUNT 0 a stuck bit that comes back after every reload. A
  // streamed RUN has no resident copy: nothing flips.
  kFlipWeightBit,
};

// Which RUN calls (counted from 1 since the board was made) get a fault.
struct SimFaultPlan {
  SimFault kind = SimFault::kNone;
  uint64_t first_run = 1;
  // How many RUN calls from first_run on; 0 = every one from then on.
  uint64_t count = 1;
  // If not 0, the window of `count` RUNs repeats every `every` RUNs from first_run on (a soak's
  // recurring fault); `count` must then be 1..every.
  uint64_t every = 0;
};

// Parses "none" or "KIND[:FIRST[:COUNT[:EVERY]]]", KIND one of hang, corrupt, bus_error,
// flip_weight; e.g. "hang:3" (the 3rd RUN hangs), "corrupt:1:0" (every RUN), "flip_weight:50" (a
// bit of the resident weights flips before the 50th RUN) or "hang:100:1:1000" (RUNs 100, 1100,
// 2100, ... hang). kInvalidArgument naming the problem.
absl::StatusOr<SimFaultPlan> ParseSimFaultPlan(std::string_view spec);
// Several plans separated by commas, e.g. "hang:100:1:1000,flip_weight:600:1:1000"; a RUN gets
// the fault of the first plan that names it. "none" or "" is no plan.
absl::StatusOr<std::vector<SimFaultPlan>> ParseSimFaultPlans(std::string_view spec);

class SimDevice final : public Device {
 public:
  struct Options {
    // DDR as the engine sees it.
    uint64_t ddr_base = 0x1000'0000;
    size_t ddr_bytes = size_t{64} << 20;
    // Delay ap_done by the timing model at clock_mhz, plus call_overhead per call.
    bool timing = false;
    double clock_mhz = 100;
    absl::Duration call_overhead = absl::Microseconds(20);
    std::vector<SimFaultPlan> faults;
  };

  struct Stats {
    uint64_t calls = 0;  // every ap_start accepted
    uint64_t runs = 0;   // of them, RUN commands
    uint64_t ignored_starts = 0;  // ap_start written while busy
    uint64_t cycles_last = 0;     // modeled cycles of the last call
    uint64_t cycles_total = 0;
    uint64_t resets = 0;
    uint64_t weight_flips = 0;    // bits flipped by kFlipWeightBit
  };

  // kInvalidArgument for a DDR window under 1 MiB, not 4 KiB aligned, or a clock <= 0.
  static absl::StatusOr<std::unique_ptr<SimDevice>> Create(const Options& options);
  // Stops the engine thread. Every DmaBuffer of this board must be gone.
  ~SimDevice() override;

  std::string_view name() const override { return "sim"; }
  // See Device. Reads and writes follow the Vitis HLS register semantics (abi/registers.h).
  absl::StatusOr<uint32_t> Read32(uint32_t offset) override;
  absl::Status Write32(uint32_t offset, uint32_t value) override;
  absl::StatusOr<std::unique_ptr<DmaBuffer>> Allocate(size_t bytes) override;
  // Waits on the engine thread instead of polling; a bus error returns kInternal at once with
  // what the engine touched (real hardware would only hang).
  absl::Status WaitForDone(absl::Duration timeout) override;
  absl::Status Reset() override;

  // Replaces the fault plans with this one; RUN calls keep their numbering.
  void InjectFault(const SimFaultPlan& plan);
  Stats stats() const;

 private:
  friend class SimDmaBuffer;
  explicit SimDevice(const Options& options);

  void EngineLoop();
  uint32_t ReadCtrlLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // kFlipWeightBit on the engine thread, before `call` runs: flips the bit in the resident copy
  // the call runs from, unless it is flipped already or there is none; whether it flipped.
  bool FlipResidentBit(const SimCall& call);
  SimFault FaultForRunLocked(uint64_t run) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  // DDR; the engine thread and buffer syncs touch it without mu_: they touch disjoint bytes
  // unless the driver syncs a buffer the engine is using, which is the driver's bug to find.
  std::vector<uint64_t> ddr_words_;
  const SimDdr ddr_;
  DmaArena arena_;
  // The engine's BRAM: the engine thread uses it without mu_ while in_engine_, Reset() after.
  const std::unique_ptr<SimEngineStore> store_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::array<uint32_t, engine::kRegisterBlockBytes / 4> registers_ ABSL_GUARDED_BY(mu_){};
  bool start_pending_ ABSL_GUARDED_BY(mu_) = false;
  bool busy_ ABSL_GUARDED_BY(mu_) = false;
  // The engine thread is running the engine on DDR, without mu_.
  bool in_engine_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;   // ap_done, until CTRL is read
  bool ready_ ABSL_GUARDED_BY(mu_) = false;  // ap_ready, until CTRL is read
  std::string bus_error_ ABSL_GUARDED_BY(mu_);  // set by a call that hit one, until Reset()
  // Resident slots whose copy has a bit flipped by kFlipWeightBit since its last LOAD. Touched by
  // the engine thread only, with the store.
  std::array<bool, engine::kResidentSlots> flipped_{};
  // Bumped by Reset(): a call of an older generation must not touch the registers.
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<SimFaultPlan> faults_ ABSL_GUARDED_BY(mu_);
  Stats stats_ ABSL_GUARDED_BY(mu_);
  std::thread engine_thread_;
};

}  // namespace pynq::accel

#endif  // PYNQ_ACCEL_FPGA_DEVICES_SIM_SIM_DEVICE_H_
