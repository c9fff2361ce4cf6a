#include "accel/fpga/devices/sim/sim_device.h"

#include <cstring>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"

namespace pynq::accel {

namespace {

using engine::kRegisterBlockBytes;

absl::Status CheckRegisterOffset(uint32_t offset) {
  if (offset % 4 != 0 || offset >= kRegisterBlockBytes) {
    return absl::OutOfRangeError(absl::StrFormat(
        "sim: register offset 0x%x is not a 4-byte aligned offset in the engine's 0x%x-byte "
        "register block",
        offset, kRegisterBlockBytes));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SimFaultPlan> ParseSimFaultPlan(std::string_view spec) {
  if (spec == "none" || spec.empty()) return SimFaultPlan{};
  std::vector<absl::string_view> parts =
      absl::StrSplit(absl::string_view(spec.data(), spec.size()), ':');
  SimFaultPlan plan;
  if (parts[0] == "hang") {
    plan.kind = SimFault::kHang;
  } else if (parts[0] == "corrupt") {
    plan.kind = SimFault::kCorruptOutput;
  } else if (parts[0] == "bus_error") {
    plan.kind = SimFault::kBusError;
  } else if (parts[0] == "flip_weight") {
    plan.kind = SimFault::kFlipWeightBit;
  } else {
    return absl::InvalidArgumentError(absl::StrFormat(
        "sim fault \"%s\": the kind must be none, hang, corrupt, bus_error or flip_weight",
        std::string(spec)));
  }
  if (parts.size() > 4 || (parts.size() > 1 && (!absl::SimpleAtoi(parts[1], &plan.first_run) ||
                                                plan.first_run < 1)) ||
      (parts.size() > 2 && !absl::SimpleAtoi(parts[2], &plan.count)) ||
      (parts.size() > 3 && (!absl::SimpleAtoi(parts[3], &plan.every) ||
                            (plan.every != 0 && (plan.count < 1 || plan.count > plan.every))))) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "sim fault \"%s\" is not KIND[:FIRST[:COUNT[:EVERY]]] with FIRST >= 1, COUNT >= 0 (0 = "
        "all) and, if EVERY is not 0, 1 <= COUNT <= EVERY",
        std::string(spec)));
  }
  return plan;
}

absl::StatusOr<std::vector<SimFaultPlan>> ParseSimFaultPlans(std::string_view spec) {
  std::vector<SimFaultPlan> plans;
  if (spec == "none" || spec.empty()) return plans;
  for (absl::string_view one : absl::StrSplit(absl::string_view(spec.data(), spec.size()), ',')) {
    PYNQ_ASSIGN_OR_RETURN(SimFaultPlan plan, ParseSimFaultPlan(std::string_view(one.data(), one.size())));
    if (plan.kind != SimFault::kNone) plans.push_back(plan);
  }
  return plans;
}

// A buffer of the virtual board: a host view of its own, and a range of DDR.
class SimDmaBuffer final : public DmaBuffer {
 public:
  SimDmaBuffer(SimDevice* device, size_t ddr_offset, size_t bytes)
      : device_(device), ddr_offset_(ddr_offset), host_(bytes / 8, 0) {}
  ~SimDmaBuffer() override { device_->arena_.Free(ddr_offset_); }

  uint8_t* host() override { return reinterpret_cast<uint8_t*>(host_.data()); }
  uint64_t device_address() const override { return device_->ddr_.base + ddr_offset_; }
  size_t size() const override { return host_.size() * 8; }
  absl::Status SyncToDevice(size_t offset, size_t bytes) override {
    PYNQ_RETURN_IF_ERROR(CheckRange(offset, bytes));
    std::memcpy(device_->ddr_.data + ddr_offset_ + offset, host() + offset, bytes);
    return absl::OkStatus();
  }
  absl::Status SyncFromDevice(size_t offset, size_t bytes) override {
    PYNQ_RETURN_IF_ERROR(CheckRange(offset, bytes));
    std::memcpy(host() + offset, device_->ddr_.data + ddr_offset_ + offset, bytes);
    return absl::OkStatus();
  }

 private:
  absl::Status CheckRange(size_t offset, size_t bytes) const {
    if (offset > size() || bytes > size() - offset) {
      return absl::OutOfRangeError(absl::StrFormat(
          "sim: sync of [%d, %d) passes the end of a %d-byte buffer", offset, offset + bytes,
          size()));
    }
    return absl::OkStatus();
  }

  SimDevice* const device_;
  const size_t ddr_offset_;
  std::vector<uint64_t> host_;
};

absl::StatusOr<std::unique_ptr<SimDevice>> SimDevice::Create(const Options& options) {
  if (options.ddr_bytes < (size_t{1} << 20) || options.ddr_bytes % 4096 != 0 ||
      options.ddr_base % 4096 != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "sim: DDR window of %d bytes at 0x%x must be at least 1 MiB, both 4 KiB aligned",
        options.ddr_bytes, options.ddr_base));
  }
  if (!(options.clock_mhz > 0)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("sim: clock of %f MHz must be positive", options.clock_mhz));
  }
  return std::unique_ptr<SimDevice>(new SimDevice(options));
}

SimDevice::SimDevice(const Options& options)
    : options_(options),
      ddr_words_(options.ddr_bytes / 8, 0xA5A5A5A5A5A5A5A5ull),
      ddr_{.data = reinterpret_cast<uint8_t*>(ddr_words_.data()),
           .base = options.ddr_base,
           .bytes = options.ddr_bytes},
      arena_(options.ddr_bytes),
      store_(std::make_unique<SimEngineStore>()),
      faults_(options.faults) {
  engine_thread_ = std::thread([this] { EngineLoop(); });
}

SimDevice::~SimDevice() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  engine_thread_.join();
}

SimFault SimDevice::FaultForRunLocked(uint64_t run) const {
  for (const SimFaultPlan& plan : faults_) {
    if (plan.kind == SimFault::kNone || run < plan.first_run) continue;
    const uint64_t since = plan.every != 0 ? (run - plan.first_run) % plan.every
                                           : run - plan.first_run;
    if (plan.count == 0 || since < plan.count) return plan.kind;
  }
  return SimFault::kNone;
}

void SimDevice::EngineLoop() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return start_pending_ || stopping_; });
    if (stopping_) return;
    start_pending_ = false;
    busy_ = true;
    const uint64_t generation = generation_;
    auto superseded = [&] { return generation_ != generation || stopping_; };
    SimCall call = ReadCallRegisters(registers_.data());
    ++stats_.calls;
    const SimFault fault = call.command == engine::kCommandRun ? FaultForRunLocked(++stats_.runs)
                                                               : SimFault::kNone;
    const absl::Time started = absl::Now();
    if (fault == SimFault::kHang) {
      // A hung engine holds busy until Reset() (or the board's end).
      cv_.wait(lock, superseded);
      continue;
    }
    if (fault == SimFault::kBusError) call.output = ddr_.base + ddr_.bytes;

    // The engine works on DDR without the register lock, as the hardware does.
    in_engine_ = true;
    lock.unlock();
    if (call.command == engine::kCommandLoad && call.slot < engine::kResidentSlots) {
      flipped_[call.slot] = false;  // the LOAD rewrites the copy
    }
    const bool flip = fault == SimFault::kFlipWeightBit && FlipResidentBit(call);
    SimCallResult result = RunSimCall(call, ddr_, *store_);
    if (fault == SimFault::kCorruptOutput && !result.bus_error &&
        call.output >= ddr_.base && call.output - ddr_.base < ddr_.bytes) {
      ddr_.data[call.output - ddr_.base] ^= 1;
    }
    lock.lock();
    in_engine_ = false;
    cv_.notify_all();

    if (flip) ++stats_.weight_flips;
    stats_.cycles_last = result.cycles;
    stats_.cycles_total += result.cycles;
    if (options_.timing) {
      const absl::Time done_at = started + options_.call_overhead +
                                 absl::Microseconds(static_cast<double>(result.cycles) /
                                                    options_.clock_mhz);
      cv_.wait_until(lock, absl::ToChronoTime(done_at), superseded);
    }
    if (superseded()) continue;  // Reset() came first: the call's results are dropped
    if (result.bus_error) {
      // The engine stalls on the failed transfer: done never rises; the board reports it.
      bus_error_ = result.BusErrorMessage(ddr_);
      cv_.notify_all();
      continue;
    }
    WriteResultRegisters(result.outputs, registers_.data());
    busy_ = false;
    done_ = true;
    ready_ = true;
    registers_[engine::kRegIsr / 4] |= registers_[engine::kRegIer / 4] & 3u;
    cv_.notify_all();
  }
}

bool SimDevice::FlipResidentBit(const SimCall& call) {
  if (call.slot >= engine::kResidentSlots) return false;
  const engine::ResidentSlot& resident = store_->slots[call.slot];
  if (resident.key == 0 || resident.key != call.key || resident.params == 0 ||
      flipped_[call.slot]) {
    return false;
  }
  store_->bias[0][resident.params_base + resident.params - 1] ^= int32_t{1} << 20;
  flipped_[call.slot] = true;
  return true;
}

uint32_t SimDevice::ReadCtrlLocked() {
  const bool running = start_pending_ || busy_;
  const uint32_t ctrl = (running ? engine::kCtrlStart : 0) | (done_ ? engine::kCtrlDone : 0) |
                        (running ? 0 : engine::kCtrlIdle) | (ready_ ? engine::kCtrlReady : 0);
  done_ = false;  // clear on read
  ready_ = false;
  return ctrl;
}

absl::StatusOr<uint32_t> SimDevice::Read32(uint32_t offset) {
  PYNQ_RETURN_IF_ERROR(CheckRegisterOffset(offset));
  std::lock_guard lock(mu_);
  if (offset == engine::kRegCtrl) return ReadCtrlLocked();
  return registers_[offset / 4];
}

absl::Status SimDevice::Write32(uint32_t offset, uint32_t value) {
  PYNQ_RETURN_IF_ERROR(CheckRegisterOffset(offset));
  {
    std::lock_guard lock(mu_);
    if (offset == engine::kRegCtrl) {
      if ((value & engine::kCtrlStart) == 0) return absl::OkStatus();
      if (start_pending_ || busy_) {
        ++stats_.ignored_starts;
        return absl::OkStatus();
      }
      start_pending_ = true;
    } else if (offset == engine::kRegIsr) {
      registers_[offset / 4] ^= value & 3u;  // toggle on write
      return absl::OkStatus();
    } else if (engine::IsOutputRegister(offset)) {
      return absl::OkStatus();  // read-only on the hardware
    } else {
      registers_[offset / 4] = value;
      return absl::OkStatus();
    }
  }
  cv_.notify_all();
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<DmaBuffer>> SimDevice::Allocate(size_t bytes) {
  PYNQ_ASSIGN_OR_RETURN(size_t offset, arena_.Allocate(bytes));
  const size_t rounded = std::max<size_t>(64, (bytes + 63) / 64 * 64);
  return std::unique_ptr<DmaBuffer>(new SimDmaBuffer(this, offset, rounded));
}

absl::Status SimDevice::WaitForDone(absl::Duration timeout) {
  std::unique_lock lock(mu_);
  cv_.wait_until(lock, absl::ToChronoTime(absl::Now() + timeout),
                 [this] { return done_ || !bus_error_.empty(); });
  if (!bus_error_.empty()) return absl::InternalError(absl::StrCat("sim: ", bus_error_));
  const bool running = start_pending_ || busy_;
  if ((ReadCtrlLocked() & engine::kCtrlDone) != 0) return absl::OkStatus();
  return absl::DeadlineExceededError(absl::StrFormat(
      "sim: the engine did not raise ap_done within %s (%s)", absl::FormatDuration(timeout),
      running ? "still busy" : "idle: was it started?"));
}

absl::Status SimDevice::Reset() {
  std::unique_lock lock(mu_);
  ++generation_;
  ++stats_.resets;
  cv_.notify_all();
  // A reset stops the engine's DDR traffic: wait for a call in progress to leave DDR alone, so
  // it cannot write into buffers the driver reuses afterwards.
  cv_.wait(lock, [this] { return !in_engine_; });
  registers_.fill(0);
  store_->ForgetResidents();
  start_pending_ = false;
  busy_ = false;
  done_ = false;
  ready_ = false;
  bus_error_.clear();
  return absl::OkStatus();
}

void SimDevice::InjectFault(const SimFaultPlan& plan) {
  std::lock_guard lock(mu_);
  faults_ = {plan};
}

SimDevice::Stats SimDevice::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace pynq::accel
