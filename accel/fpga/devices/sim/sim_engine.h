// One call of the HLS engine (overlays/nn_engine/) on the virtual board: the arguments are read
// from a register block, the engine's own C++ runs over a window of simulated DDR whose every
// access is range-checked (a bad address is a reported bus error, never a host segfault) and
// over the board's on-chip weight store, and the results go back into the register block.
// Shared by SimDevice and the file-backed board of the MmioDevice tests, so both run the same
// engine the same way.
//
//   SimEngineStore store;                          // the board's BRAM, kept between calls
//   SimCall call = ReadCallRegisters(registers);
//   SimCallResult result = RunSimCall(call, ddr, store);
//   if (result.bus_error) ...; else WriteResultRegisters(result.outputs, registers);
#ifndef PYNQ_ACCEL_FPGA_DEVICES_SIM_SIM_ENGINE_H_
#define PYNQ_ACCEL_FPGA_DEVICES_SIM_SIM_ENGINE_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "overlays/nn_engine/abi/memory_layout.h"
#include "overlays/nn_engine/abi/registers.h"
#include "overlays/nn_engine/nn_engine.h"
#include "overlays/nn_engine/store.h"

namespace pynq::accel {

// Simulated DDR: `bytes` bytes at `data`, seen by the engine at bus address `base`.
struct SimDdr {
  uint8_t* data = nullptr;
  uint64_t base = 0;
  size_t bytes = 0;
};

// The arguments of one engine call, as written to the registers.
using SimCall = engine::CallArguments;

// The on-chip store of the engine build the virtual board runs (DefaultEngineConfig, the
// PYNQ-Z2's). A few hundred KiB: allocate it on the heap.
using SimEngineStore = engine::EngineStore<engine::DefaultEngineConfig>;

struct SimCallResult {
  engine::EngineOutputs outputs;
  // The first access outside DDR (or not 8-byte aligned), if any; the engine's other accesses
  // went on, reading zeros and dropping writes, as an AXI slave error would leave them.
  bool bus_error = false;
  uint64_t bad_address = 0;
  bool bad_access_was_write = false;
  // The call's length in engine cycles, as the C simulation counted them while the engine's code
  // ran (equal to overlays/nn_engine/timing_model.h's, which tests/engine_csim_test.cc checks).
  uint64_t cycles = 0;

  // "engine read of 8 bytes at 0x... is outside DDR [0x..., 0x...)", for fault reports.
  std::string BusErrorMessage(const SimDdr& ddr) const;
};

// `registers` is the engine's register block, engine::kRegisterBlockBytes / 4 words.
SimCall ReadCallRegisters(const volatile uint32_t* registers);
// Runs the call with the engine's DefaultEngineConfig. Touches only `ddr` and `store`.
SimCallResult RunSimCall(const SimCall& call, const SimDdr& ddr, SimEngineStore& store);
// Stores the output scalars and sets their ap_vld bits.
void WriteResultRegisters(const engine::EngineOutputs& outputs, volatile uint32_t* registers);

}  // namespace pynq::accel

#endif  // PYNQ_ACCEL_FPGA_DEVICES_SIM_SIM_ENGINE_H_
