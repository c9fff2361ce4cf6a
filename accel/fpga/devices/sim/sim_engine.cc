#include "accel/fpga/devices/sim/sim_engine.h"

#include <cstring>

#include "absl/strings/str_format.h"
#include "overlays/nn_engine/abi/memory_layout.h"
#include "overlays/nn_engine/abi/registers.h"
#include "overlays/nn_engine/hls_compat.h"

namespace pynq::accel {

namespace {

using engine::DefaultEngineConfig;

struct BusErrorLog {
  bool seen = false;
  uint64_t address = 0;
  bool write = false;
};

// An m_axi pointer argument on the virtual board: word-granular, range-checked access to DDR.
// The engine reaches it through PortRead() / PortWrite() (overlays/nn_engine/program.h).
class SimPort {
 public:
  SimPort(const SimDdr& ddr, uint64_t address, BusErrorLog* log)
      : ddr_(ddr), address_(address), log_(log) {}

  uint64_t Read(uint32_t word) const {
    uint64_t value = 0;
    if (uint8_t* p = Locate(word, /*write=*/false)) std::memcpy(&value, p, sizeof(value));
    return value;
  }
  void Write(uint32_t word, uint64_t value) const {
    if (uint8_t* p = Locate(word, /*write=*/true)) std::memcpy(p, &value, sizeof(value));
  }

 private:
  uint8_t* Locate(uint32_t word, bool write) const {
    const uint64_t address = address_ + uint64_t{word} * 8;
    if (address % 8 == 0 && address >= ddr_.base && address - ddr_.base <= ddr_.bytes - 8) {
      return ddr_.data + (address - ddr_.base);
    }
    if (!log_->seen) *log_ = {.seen = true, .address = address, .write = write};
    return nullptr;
  }

  const SimDdr& ddr_;
  uint64_t address_;
  BusErrorLog* log_;
};

uint64_t PortRead(const SimPort& port, uint32_t word) { return port.Read(word); }
void PortWrite(const SimPort& port, uint32_t word, uint64_t value) { port.Write(word, value); }

uint64_t Join(const volatile uint32_t* registers, uint32_t lo_offset) {
  return uint64_t{registers[lo_offset / 4]} | (uint64_t{registers[lo_offset / 4 + 1]} << 32);
}

}  // namespace

std::string SimCallResult::BusErrorMessage(const SimDdr& ddr) const {
  return absl::StrFormat("bus error: engine %s of 8 bytes at 0x%x is outside DDR [0x%x, 0x%x)",
                         bad_access_was_write ? "write" : "read", bad_address, ddr.base,
                         ddr.base + ddr.bytes);
}

SimCall ReadCallRegisters(const volatile uint32_t* registers) {
  return {.program = Join(registers, engine::kRegProgramLo),
          .weights = Join(registers, engine::kRegWeightsLo),
          .input = Join(registers, engine::kRegInputLo),
          .output = Join(registers, engine::kRegOutputLo),
          .batch = registers[engine::kRegBatch / 4],
          .command = registers[engine::kRegCommand / 4],
          .tag = registers[engine::kRegTag / 4],
          .scratch = Join(registers, engine::kRegScratchLo),
          .slot = registers[engine::kRegSlot / 4],
          .key = registers[engine::kRegKey / 4],
          .weights_base = registers[engine::kRegWeightsBase / 4],
          .params_base = registers[engine::kRegParamsBase / 4]};
}

SimCallResult RunSimCall(const SimCall& call, const SimDdr& ddr, SimEngineStore& store) {
  BusErrorLog log;
  SimCallResult result;
  engine::Clock clock;
  engine::RunEngine<DefaultEngineConfig>(
      SimPort(ddr, call.program, &log), SimPort(ddr, call.weights, &log),
      SimPort(ddr, call.input, &log), SimPort(ddr, call.output, &log),
      SimPort(ddr, call.scratch, &log), call, store, result.outputs, clock);
  result.cycles = clock.cycles();
  result.bus_error = log.seen;
  result.bad_address = log.address;
  result.bad_access_was_write = log.write;
  return result;
}

void WriteResultRegisters(const engine::EngineOutputs& outputs, volatile uint32_t* registers) {
  const std::pair<uint32_t, uint32_t> values[] = {
      {engine::kRegStatus, outputs.status},          {engine::kRegChecksum, outputs.checksum},
      {engine::kRegId, outputs.id},                  {engine::kRegVersion, outputs.version},
      {engine::kRegCaps, outputs.caps},              {engine::kRegStoreRows, outputs.store_rows},
      {engine::kRegStoreParams, outputs.store_params}, {engine::kRegNeedRows, outputs.need_rows},
      {engine::kRegNeedParams, outputs.need_params}};
  for (const auto& [offset, value] : values) {
    registers[offset / 4] = value;
    registers[offset / 4 + 1] = 1;  // ap_vld
  }
}

}  // namespace pynq::accel
