// The engine's top function for Vitis HLS: the interface pragmas that give it the register map
// of overlays/nn_engine/abi/registers.h, around RunEngine(). See nn_engine.h.
#include "overlays/nn_engine/nn_engine.h"

void nn_engine(uint64_t* program, uint64_t* weights, uint64_t* input, uint64_t* output,
               uint32_t batch, uint32_t command, uint32_t tag, uint32_t* status,
               uint32_t* checksum, uint32_t* id, uint32_t* version, uint32_t* caps) {
  // One 64-bit m_axi bundle for all of DDR: the engine reads or writes one buffer at a time, and
  // a Zynq-7000 HP port is 64 bits wide. Addresses come from the control registers.
#pragma HLS INTERFACE mode = m_axi port = program bundle = gmem offset = slave max_read_burst_length = 16 depth = 130
#pragma HLS INTERFACE mode = m_axi port = weights bundle = gmem offset = slave max_read_burst_length = 64 depth = 4096
#pragma HLS INTERFACE mode = m_axi port = input bundle = gmem offset = slave max_read_burst_length = 64 depth = 4096
#pragma HLS INTERFACE mode = m_axi port = output bundle = gmem offset = slave max_write_burst_length = 64 depth = 4096
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
#pragma HLS INTERFACE mode = s_axilite port = return bundle = control
  using pynq::engine::PointerPort;
  pynq::engine::EngineOutputs out;
  pynq::engine::RunEngine<pynq::engine::DefaultEngineConfig>(
      PointerPort(program), PointerPort(weights), PointerPort(input), PointerPort(output), batch,
      command, tag, out);
  *status = out.status;
  *checksum = out.checksum;
  *id = out.id;
  *version = out.version;
  *caps = out.caps;
}
