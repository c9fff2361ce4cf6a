// The layer program as the engine reads it from DDR: the PROGRAM section of a model file
// (accel/model/MODEL_FORMAT.md), a 16-byte header and 64-byte layer descriptors, read as u64 words.
//
//   LayerDesc layers[kMaxLayers];
//   uint32_t count = 0;
//   uint32_t status = ReadProgram<Config>(program_port, layers, count, clock);
//   if (status != kStatusOk) ...  // nothing else is read
//
// ReadProgram() also validates what the engine's fixed-size buffers depend on, so no later loop
// can index past them whatever the program says; the driver's loader has checked the rest.
//
// A memory port is what an m_axi pointer argument is: `uint64_t*` for the synthesized top and
// the C-simulation tests, or any type with PortRead() / PortWrite() overloads found by argument
// lookup (the virtual board's range-checked DDR window, accel/fpga/devices/sim/sim_engine.cc).
#ifndef PYNQ_OVERLAYS_NN_ENGINE_PROGRAM_H_
#define PYNQ_OVERLAYS_NN_ENGINE_PROGRAM_H_

#include <cstdint>

#include "overlays/nn_engine/abi/limits.h"
#include "overlays/nn_engine/abi/memory_layout.h"
#include "overlays/nn_engine/abi/ops.h"
#include "overlays/nn_engine/abi/registers.h"
#include "overlays/nn_engine/engine_config.h"
#include "overlays/nn_engine/hls_compat.h"

namespace pynq {
namespace engine {

// Word `word` of a memory port, and a write to it.
inline uint64_t PortRead(const uint64_t* port, uint32_t word) { return port[word]; }
inline void PortWrite(uint64_t* port, uint32_t word, uint64_t value) { port[word] = value; }

struct LayerDesc {
  Op op;
  uint32_t in_c, in_h, in_w;
  uint32_t out_c, out_h, out_w;
  uint32_t n_in;   // in_c * in_h * in_w
  uint32_t n_out;  // out_c * out_h * out_w
  uint32_t weights_offset;  // bytes from the start of WEIGHTS
  uint32_t params_offset;
  int32_t arg0;
  int32_t arg1;
};

// Words of the program header and of one descriptor (memory_layout.h).
constexpr uint32_t kProgramHeaderWords = kProgramHeaderBytes / 8;
constexpr uint32_t kLayerWords = kLayerBytes / 8;

inline uint32_t Lo(uint64_t w) { return static_cast<uint32_t>(w); }
inline uint32_t Hi(uint64_t w) { return static_cast<uint32_t>(w >> 32); }

// The geometry an int8 convolution or pool needs so that no index leaves its tensors: the
// output shape the op defines for the input shape, and the arg in range.
inline bool SpatialShapeOk(Op op, const uint64_t in[3], const uint64_t out[3], int32_t arg0) {
  if (op == Op::kInt8Conv) {
    const uint64_t k = static_cast<uint64_t>(arg0);
    return arg0 >= 1 && arg0 <= kMaxKernelSide && k <= in[1] && k <= in[2] &&
           out[1] == in[1] - k + 1 && out[2] == in[2] - k + 1;
  }
  if (op == Op::kMaxPool) {
    const uint64_t p = static_cast<uint64_t>(arg0);
    return arg0 >= kMinPoolSide && arg0 <= kMaxPoolSide && in[1] % p == 0 && in[2] % p == 0 &&
           out[0] == in[0] && out[1] == in[1] / p && out[2] == in[2] / p;
  }
  return true;
}

// Reads and checks the program. Returns a MakeStatus() word; on kStatusOk, `layers[0..count)`
// holds a chain the engine can run: an input op first (INPUT_BINARIZE or INPUT_QUANTIZE), a
// scores op last (BNN_DENSE_SCORES or INT8_DENSE_SCORES), binarized ops on bits and int8 ops on
// int8, each layer's input the previous layer's output, every tensor within kMaxFeatures
// elements, the scores within kMaxClasses, conv and pool shapes consistent with their args.
// Cycles: two bursts (the header, then the descriptors, one word per cycle) and the decode, one
// descriptor per cycle.
template <typename Config, typename Port>
uint32_t ReadProgram(const Port& program, LayerDesc layers[kMaxLayers], uint32_t& count,
                     Clock& clock) {
  uint64_t header[kProgramHeaderWords];
  clock.Add(kMemLatencyCycles);
Header:
  for (uint32_t i = 0; i < kProgramHeaderWords; ++i) {
#pragma HLS PIPELINE II = 1
    header[i] = PortRead(program, i);
    clock.Tick(1);
  }
  clock.Add(kDepthProgram);
  count = Lo(header[0]);
  if (count < 1 || count > kMaxLayers || Hi(header[0]) != 0 || header[1] != 0) {
    return MakeStatus(kStatusBadProgram, 0, 0);
  }
  uint64_t words[kMaxLayers * kLayerWords];
  clock.Add(kMemLatencyCycles);
Descriptors:
  for (uint32_t i = 0; i < kMaxLayers * kLayerWords; ++i) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 8 max = 128
    if (i >= count * kLayerWords) break;
    words[i] = PortRead(program, kProgramHeaderWords + i);
    clock.Tick(1);
  }
  clock.Add(kDepthProgram);
  uint32_t status = MakeStatus(kStatusOk, 0, 0);
Layers:
  for (uint32_t l = 0; l < kMaxLayers; ++l) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 16
    if (l >= count) break;
    clock.Tick(1);
    const uint64_t* w = &words[l * kLayerWords];
    const uint32_t code = Lo(w[0]);
    const uint32_t flags = Hi(w[0]);
    const uint64_t in[3] = {Lo(w[1]), Hi(w[1]), Lo(w[2])};
    const uint64_t out[3] = {Hi(w[2]), Lo(w[3]), Hi(w[3])};
    const uint64_t n_in = in[0] * in[1] * in[2];
    const uint64_t n_out = out[0] * out[1] * out[2];
    const int32_t arg0 = static_cast<int32_t>(Lo(w[6]));
    if (flags != 0 || Hi(w[7]) != 0) {
      status = MakeStatus(kStatusBadProgram, l, code);
      break;
    }
    if (!MaskHasOp(kImplementedOps, code)) {
      status = MakeStatus(kStatusUnsupportedOp, l, code);
      break;
    }
    const Op op = static_cast<Op>(code);
    const bool first = l == 0;
    const bool last = l + 1 == count;
    const bool input_op = InputKind(op) == TensorKind::kPixels;
    const bool scores_op = OutputKind(op) == TensorKind::kScores;
    const bool chained =
        first || (n_in == layers[l - 1].n_out && InputKind(op) == OutputKind(layers[l - 1].op));
    const bool shape_ok =
        // Each dimension bounded first, so the products cannot wrap around.
        in[0] <= kMaxFeatures && in[1] <= kMaxFeatures && in[2] <= kMaxFeatures &&
        out[0] <= kMaxFeatures && out[1] <= kMaxFeatures && out[2] <= kMaxFeatures &&
        n_in >= 1 && n_in <= kMaxFeatures && n_out >= 1 && n_out <= kMaxFeatures &&
        input_op == first && scores_op == last && (!input_op || n_out == n_in) &&
        (!scores_op || n_out <= kMaxClasses) && chained && SpatialShapeOk(op, in, out, arg0) &&
        Lo(w[4]) % 8 == 0 && Lo(w[5]) % 8 == 0;
    if (!shape_ok) {
      status = MakeStatus(kStatusBadShape, l, code);
      break;
    }
    layers[l].op = op;
    layers[l].in_c = static_cast<uint32_t>(in[0]);
    layers[l].in_h = static_cast<uint32_t>(in[1]);
    layers[l].in_w = static_cast<uint32_t>(in[2]);
    layers[l].out_c = static_cast<uint32_t>(out[0]);
    layers[l].out_h = static_cast<uint32_t>(out[1]);
    layers[l].out_w = static_cast<uint32_t>(out[2]);
    layers[l].n_in = static_cast<uint32_t>(n_in);
    layers[l].n_out = static_cast<uint32_t>(n_out);
    layers[l].weights_offset = Lo(w[4]);
    layers[l].params_offset = Lo(w[5]);
    layers[l].arg0 = arg0;
    layers[l].arg1 = static_cast<int32_t>(Hi(w[6]));
  }
  clock.Add(kDepthDecode);
  return status;
}

}  // namespace engine
}  // namespace pynq

#endif  // PYNQ_OVERLAYS_NN_ENGINE_PROGRAM_H_
