// The engine's top function for Vitis HLS: the interface pragmas that give it the register map
// of overlays/nn_engine/abi/registers.h, and the on-chip store as static memories, around
// RunEngine(). See nn_engine.h.
#include "overlays/nn_engine/nn_engine.h"

namespace {

#ifdef PYNQ_ENGINE_KV260
using TopConfig = pynq::engine::Kv260EngineConfig;
#else
using TopConfig = pynq::engine::PynqZ2EngineConfig;
#endif

}  // namespace

void nn_engine(uint64_t* program, uint64_t* weights, uint64_t* input, uint64_t* output,
               uint32_t batch, uint32_t command, uint32_t tag, uint32_t* status,
               uint32_t* checksum, uint32_t* id, uint32_t* version, uint32_t* caps,
               uint64_t* scratch, uint32_t slot, uint32_t key, uint32_t weights_base,
               uint32_t params_base, uint32_t* store_rows, uint32_t* store_params,
               uint32_t* need_rows, uint32_t* need_params) {
  // One m_axi bundle for all of DDR: a Zynq-7000 HP port is 64 bits (the KV260's 128: Vitis HLS
  // widens the bursts, max_widen_bitwidth). Reads and writes are separate AXI channels, so the
  // input and output processes of a pass burst at the same time. Addresses come from the
  // control registers.
#pragma HLS INTERFACE mode = m_axi port = program bundle = gmem offset = slave max_read_burst_length = 16 depth = 130
#pragma HLS INTERFACE mode = m_axi port = weights bundle = gmem offset = slave max_read_burst_length = 64 max_widen_bitwidth = 128 num_read_outstanding = 16 depth = 4096
#pragma HLS INTERFACE mode = m_axi port = input bundle = gmem offset = slave max_read_burst_length = 64 max_widen_bitwidth = 128 num_read_outstanding = 16 depth = 4096
#pragma HLS INTERFACE mode = m_axi port = output bundle = gmem offset = slave max_write_burst_length = 64 max_widen_bitwidth = 128 num_write_outstanding = 16 depth = 4096
#pragma HLS INTERFACE mode = m_axi port = scratch bundle = gmem offset = slave max_read_burst_length = 64 max_write_burst_length = 64 max_widen_bitwidth = 128 depth = 4096
#pragma HLS INTERFACE mode = s_axilite port = program bundle = control
#pragma HLS INTERFACE mode = s_axilite port = weights bundle = control
#pragma HLS INTERFACE mode = s_axilite port = input bundle = control
#pragma HLS INTERFACE mode = s_axilite port = output bundle = control
#pragma HLS INTERFACE mode = s_axilite port = batch bundle = control
#pragma HLS INTERFACE mode = s_axilite port = command bundle = control
#pragma HLS INTERFACE mode = s_axilite port = tag bundle = control
#pragma HLS INTERFACE mode = s_axilite port = status bundle = control
#pragma HLS INTERFACE mode = s_axilite port = checksum bundle = control
#pragma HLS INTERFACE mode = s_axilite port = id bundle = control
#pragma HLS INTERFACE mode = s_axilite port = version bundle = control
#pragma HLS INTERFACE mode = s_axilite port = caps bundle = control
#pragma HLS INTERFACE mode = s_axilite port = scratch bundle = control
#pragma HLS INTERFACE mode = s_axilite port = slot bundle = control
#pragma HLS INTERFACE mode = s_axilite port = key bundle = control
#pragma HLS INTERFACE mode = s_axilite port = weights_base bundle = control
#pragma HLS INTERFACE mode = s_axilite port = params_base bundle = control
#pragma HLS INTERFACE mode = s_axilite port = store_rows bundle = control
#pragma HLS INTERFACE mode = s_axilite port = store_params bundle = control
#pragma HLS INTERFACE mode = s_axilite port = need_rows bundle = control
#pragma HLS INTERFACE mode = s_axilite port = need_params bundle = control
#pragma HLS INTERFACE mode = s_axilite port = return bundle = control
  using namespace pynq::engine;
  // The store keeps its contents from call to call (static). kLanes banks (dim 2), each a
  // column of single-port memories one word wide: every loop reads or writes a bank at most once
  // per cycle (the lane of the bank, plan.h). Rows first, so a row's words are adjacent in the
  // host's memory during C simulation; the hardware is the same.
  static uint64_t store[TopConfig::kStoreRows][TopConfig::kLanes];
#pragma HLS ARRAY_PARTITION variable = store dim = 2 complete
#ifdef PYNQ_ENGINE_KV260
#pragma HLS BIND_STORAGE variable = store type = ram_1p impl = uram
#else
#pragma HLS BIND_STORAGE variable = store type = ram_1p impl = bram
#endif
  // Params: kDrainLanes banks, read once per bank per cycle by the drain.
  static int32_t bias[TopConfig::kDrainLanes][TopConfig::kParamRows];
#pragma HLS ARRAY_PARTITION variable = bias dim = 1 complete
  static int32_t multiplier[TopConfig::kDrainLanes][TopConfig::kParamRows];
#pragma HLS ARRAY_PARTITION variable = multiplier dim = 1 complete
  static uint8_t shift[TopConfig::kDrainLanes][TopConfig::kParamRows];
#pragma HLS ARRAY_PARTITION variable = shift dim = 1 complete
  // The resident slots: registers (key 0, empty, after the bitstream is loaded).
  static ResidentSlot slots[kResidentSlots];
#pragma HLS ARRAY_PARTITION variable = slots complete

  CallArguments args;
  args.batch = batch;
  args.command = command;
  args.tag = tag;
  args.slot = slot;
  args.key = key;
  args.weights_base = weights_base;
  args.params_base = params_base;
  EngineOutputs out;
  Clock clock;
  RunEngine<TopConfig>(program, weights, input, output, scratch, args, store, bias, multiplier,
                       shift, slots, out, clock);
  *status = out.status;
  *checksum = out.checksum;
  *id = out.id;
  *version = out.version;
  *caps = out.caps;
  *store_rows = out.store_rows;
  *store_params = out.store_params;
  *need_rows = out.need_rows;
  *need_params = out.need_params;
}
