// The engine's AXI4-Lite register map, its commands, identity, capabilities and status words: the
// contract between the HLS engine (overlays/nn_engine/) and its driver (accel/fpga/). Both sides
// include this one header, so they cannot drift apart; overlays/nn_engine/hls/check_regmap.py
// compares the offsets with the ones Vitis HLS generates (x<top>_hw.h), and XrtDevice compares
// them with the xclbin's.
//
//   device.Write32(engine::kRegInputLo, Low32(input_address));
//   device.Write32(engine::kRegCommand, engine::kCommandRun);
//   device.Write32(engine::kRegCtrl, engine::kCtrlStart);
//
// Part of the engine's ABI (this folder): plain C++14, no dependencies, so Vitis HLS compiles it.
#ifndef PYNQ_OVERLAYS_NN_ENGINE_ABI_REGISTERS_H_
#define PYNQ_OVERLAYS_NN_ENGINE_ABI_REGISTERS_H_

#include <cstdint>

#include "overlays/nn_engine/abi/ops.h"

namespace pynq {
namespace engine {

// --- Block-level control (Vitis HLS ap_ctrl_hs on s_axilite) ------------------------------------
// 0x00 CTRL: bit0 ap_start (write 1 to start; reads 1 until the engine accepts the call),
// bit1 ap_done (set when the call finishes, CLEARED WHEN READ), bit2 ap_idle, bit3 ap_ready
// (clear on read). 0x04 GIE, 0x08 IER, 0x0C ISR (bit0 done, bit1 ready; write 1 to toggle).
constexpr uint32_t kRegCtrl = 0x00;
constexpr uint32_t kRegGie = 0x04;
constexpr uint32_t kRegIer = 0x08;
constexpr uint32_t kRegIsr = 0x0C;
constexpr uint32_t kCtrlStart = 1u << 0;
constexpr uint32_t kCtrlDone = 1u << 1;
constexpr uint32_t kCtrlIdle = 1u << 2;
constexpr uint32_t kCtrlReady = 1u << 3;

// --- Arguments, in the order of the top function's parameters -----------------------------------
// Vitis HLS gives a 64-bit pointer two words (low, high) and a reserved word; a 32-bit input
// scalar one word and a reserved word; an output scalar a data word and a control word whose
// bit0 is ap_vld.
constexpr uint32_t kRegProgramLo = 0x10;  // DDR address of the PROGRAM section
constexpr uint32_t kRegProgramHi = 0x14;
constexpr uint32_t kRegWeightsLo = 0x1C;  // DDR address of the WEIGHTS section
constexpr uint32_t kRegWeightsHi = 0x20;
constexpr uint32_t kRegInputLo = 0x28;  // DDR address of the input images (see InputStride)
constexpr uint32_t kRegInputHi = 0x2C;
constexpr uint32_t kRegOutputLo = 0x34;  // DDR address of the scores (see OutputStride)
constexpr uint32_t kRegOutputHi = 0x38;
constexpr uint32_t kRegBatch = 0x40;    // images in this call, 1..kMaxBatch (RUN only)
constexpr uint32_t kRegCommand = 0x48;  // kCommand*
constexpr uint32_t kRegTag = 0x50;      // echoed in the output trailer, to catch stale output
constexpr uint32_t kRegStatus = 0x58;   // out: kStatus* word of the last call
constexpr uint32_t kRegChecksum = 0x60;  // out: ScoresChecksum() of what RUN wrote (LOAD: of
                                         // what it loaded, WeightsChecksum)
constexpr uint32_t kRegId = 0x68;        // out: kEngineId
constexpr uint32_t kRegVersion = 0x70;   // out: kEngineVersion
constexpr uint32_t kRegCaps = 0x78;      // out: Caps()
// Revision 2: the on-chip weight store (see "Commands" below). These follow the registers of
// revision 1, so those kept their offsets.
constexpr uint32_t kRegScratchLo = 0x80;  // DDR address of a streamed RUN's scratch
constexpr uint32_t kRegScratchHi = 0x84;  // (ScratchBytes(batch) bytes)
constexpr uint32_t kRegSlot = 0x8C;         // resident slot 0..kResidentSlots-1, or kSlotStreamed
constexpr uint32_t kRegKey = 0x94;          // the resident copy's key, never 0
constexpr uint32_t kRegWeightsBase = 0x9C;  // first store row of the resident copy
constexpr uint32_t kRegParamsBase = 0xA4;   // first params row of the resident copy
constexpr uint32_t kRegStoreRows = 0xAC;    // out: store rows residents may use (every command)
constexpr uint32_t kRegStoreParams = 0xB4;  // out: params rows residents may use
constexpr uint32_t kRegNeedRows = 0xBC;     // out: store rows the program needs resident (CHECK,
constexpr uint32_t kRegNeedParams = 0xC4;   // out: params rows                  LOAD, RUN)
// One past the last register; the engine's register block is this many bytes.
constexpr uint32_t kRegisterBlockBytes = 0xCC;
// Whether the register at `offset` is one the engine writes (status .. caps, store_rows ..
// need_params, data and ap_vld words): read-only for the driver.
constexpr bool IsOutputRegister(uint32_t offset) {
  return (offset >= kRegStatus && offset < kRegScratchLo) ||
         (offset >= kRegStoreRows && offset < kRegisterBlockBytes);
}

// The argument registers of one call, as the driver writes them and the engine reads them.
struct CallArguments {
  uint64_t program = 0;
  uint64_t weights = 0;
  uint64_t input = 0;
  uint64_t output = 0;
  uint32_t batch = 0;
  uint32_t command = 0;
  uint32_t tag = 0;
  uint64_t scratch = 0;
  uint32_t slot = 0;
  uint32_t key = 0;
  uint32_t weights_base = 0;
  uint32_t params_base = 0;
};

// --- Commands ---------------------------------------------------------------------------------
// IDENTIFY: only writes the ID, version, caps and store registers (no memory access).
// CHECK: reads and validates the program and reports the store rows and params rows it needs to
//   be resident (kRegNeedRows, kRegNeedParams). kStatusTooLarge (naming the layer) if one of its
//   layers cannot be split into tiles that fit the engine's stream region: such a program runs
//   only resident. No image is read, no score written.
// LOAD: CHECK, then copies the program's weights and params from WEIGHTS into the on-chip store
//   at rows [weights_base, +need rows) and params rows [params_base, +need params), and
//   remembers them in resident slot `slot` under `key`; any other slot whose rows overlap is
//   forgotten. kRegChecksum = WeightsChecksum() of what was copied. kStatusBadRegion for a slot
//   out of range, key 0, or rows past kRegStoreRows / kRegStoreParams.
// RUN: CHECK, then runs `batch` images and writes their scores and the trailer. With
//   slot < kResidentSlots, from the resident copy: the slot must hold this key, these bases and
//   this program's footprint, or the call ends with kStatusNotResident before any image is read
//   (after a LOAD elsewhere overwrote it, or an engine reset, say). With slot = kSlotStreamed,
//   every layer's weights are copied from WEIGHTS in tiles into the stream region, each tile used
//   by all `batch` images before the next; activations between tiles go through `scratch`.
constexpr uint32_t kCommandIdentify = 0;
constexpr uint32_t kCommandCheck = 1;
constexpr uint32_t kCommandRun = 2;
constexpr uint32_t kCommandLoad = 3;
// Resident copies the engine remembers at once, and the slot value of a streamed RUN.
constexpr uint32_t kResidentSlots = 16;
constexpr uint32_t kSlotStreamed = 0xFFFFFFFFu;

// --- Identity -----------------------------------------------------------------------------------
// "PNNE": the value of kRegId of every nn_engine bitstream.
constexpr uint32_t kEngineId = 0x504E4E45;
// kRegVersion: engine ABI major in bits 31..16 (the model file's engine_abi_version; a driver
// rejects any other), the revision of this register map and its commands in bits 15..0 (a driver
// rejects any other: revision 2 added the weight store's registers and LOAD).
constexpr uint32_t kEngineAbiMajor = 1;
constexpr uint32_t kEngineRevision = 2;
constexpr uint32_t kEngineVersion = (kEngineAbiMajor << 16) | kEngineRevision;
// kRegCaps: bit `op` set for every ABI op the engine implements (bits 0..15), PE (the output
// lanes of its dense layers) in bits 23..16, SIMD (64-bit words per PE per cycle) in bits 31..24.
constexpr uint32_t Caps(uint32_t op_mask, uint32_t pe, uint32_t simd) {
  return (op_mask & 0xFFFFu) | ((pe & 0xFFu) << 16) | ((simd & 0xFFu) << 24);
}
constexpr uint32_t CapsOpMask(uint32_t caps) { return caps & 0xFFFFu; }
// Whether an engine with these caps implements the op code `code` (any u32 a program holds).
constexpr bool CapsHasOp(uint32_t caps, uint32_t code) { return MaskHasOp(CapsOpMask(caps), code); }
constexpr uint32_t CapsPe(uint32_t caps) { return (caps >> 16) & 0xFFu; }
constexpr uint32_t CapsSimd(uint32_t caps) { return (caps >> 24) & 0xFFu; }

// --- Status word (kRegStatus) -----------------------------------------------------------------
// Bits 7..0 the code, bits 15..8 the layer it concerns, bits 31..16 that layer's op.
constexpr uint32_t kStatusOk = 0;
constexpr uint32_t kStatusBadCommand = 1;
constexpr uint32_t kStatusBadProgram = 2;      // layer count, flags or reserved fields
constexpr uint32_t kStatusUnsupportedOp = 3;   // an op this engine does not implement
constexpr uint32_t kStatusBadShape = 4;        // a shape beyond the limits, or layers not chained
constexpr uint32_t kStatusBadBatch = 5;        // batch 0 or above kMaxBatch
constexpr uint32_t kStatusNotResident = 6;     // RUN: the slot does not hold this copy
constexpr uint32_t kStatusBadRegion = 7;       // LOAD / RUN: a slot or store rows out of range
constexpr uint32_t kStatusTooLarge = 8;        // a layer's smallest tile exceeds the stream region
constexpr uint32_t MakeStatus(uint32_t code, uint32_t layer, uint32_t op) {
  return (code & 0xFFu) | ((layer & 0xFFu) << 8) | ((op & 0xFFFFu) << 16);
}
constexpr uint32_t StatusCode(uint32_t status) { return status & 0xFFu; }
constexpr uint32_t StatusLayer(uint32_t status) { return (status >> 8) & 0xFFu; }
constexpr uint32_t StatusOp(uint32_t status) { return status >> 16; }

}  // namespace engine
}  // namespace pynq

#endif  // PYNQ_OVERLAYS_NN_ENGINE_ABI_REGISTERS_H_
