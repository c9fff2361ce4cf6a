// The layer program as the engine reads it from DDR: the PROGRAM section of a model file
// (accel/MODEL_FORMAT.md), a 16-byte header and 64-byte layer descriptors, read as u64 words.
//
//   LayerDesc layers[kMaxLayers];
//   uint32_t count = 0;
//   uint32_t status = ReadProgram<Config>(program_port, layers, count);
//   if (status != kStatusOk) ...  // nothing else is read
//
// ReadProgram() also validates what the engine's fixed-size buffers depend on, so no later loop
// can index past them whatever the program says; the driver's loader has checked the rest.
#ifndef PYNQ_OVERLAYS_NN_ENGINE_PROGRAM_H_
#define PYNQ_OVERLAYS_NN_ENGINE_PROGRAM_H_

#include <cstdint>

#include "accel/engine_regs.h"
#include "overlays/nn_engine/engine_config.h"

namespace pynq {
namespace engine {

struct LayerDesc {
  uint32_t op;
  uint32_t n_in;   // in_c * in_h * in_w
  uint32_t n_out;  // out_c * out_h * out_w
  uint32_t weights_offset;  // bytes from the start of WEIGHTS
  uint32_t params_offset;
  int32_t arg0;
};

// Words of the program header and of one descriptor.
constexpr uint32_t kProgramHeaderWords = 2;
constexpr uint32_t kLayerWords = 8;

inline uint32_t Lo(uint64_t w) { return static_cast<uint32_t>(w); }
inline uint32_t Hi(uint64_t w) { return static_cast<uint32_t>(w >> 32); }

// Reads and checks the program. Returns a MakeStatus() word; on kStatusOk, `layers[0..count)`
// holds a chain the engine can run: an INPUT_BINARIZE first, BNN_DENSE layers, a
// BNN_DENSE_SCORES last, each layer's input the previous layer's output, every width within
// kMaxFeatures, the scores within kMaxClasses.
template <typename Config, typename Port>
uint32_t ReadProgram(const Port& program, LayerDesc layers[kMaxLayers], uint32_t& count) {
  const uint64_t header = program.Read(0);
  count = Lo(header);
  if (count < 1 || count > kMaxLayers || Hi(header) != 0 || program.Read(1) != 0) {
    return MakeStatus(kStatusBadProgram, 0, 0);
  }
Layers:
  for (uint32_t l = 0; l < kMaxLayers; ++l) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 16
    if (l >= count) break;
    uint64_t w[kLayerWords];
  Words:
    for (uint32_t i = 0; i < kLayerWords; ++i) {
#pragma HLS PIPELINE II = 1
      w[i] = program.Read(kProgramHeaderWords + l * kLayerWords + i);
    }
    const uint32_t op = Lo(w[0]);
    const uint32_t flags = Hi(w[0]);
    const uint64_t n_in = uint64_t{Lo(w[1])} * Hi(w[1]) * Lo(w[2]);
    const uint64_t n_out = uint64_t{Hi(w[2])} * Lo(w[3]) * Hi(w[3]);
    if (flags != 0 || Hi(w[7]) != 0) return MakeStatus(kStatusBadProgram, l, op);
    if (op > 15 || ((kImplementedOps >> op) & 1u) == 0) {
      return MakeStatus(kStatusUnsupportedOp, l, op);
    }
    const bool first = l == 0;
    const bool last = l + 1 == count;
    const bool shape_ok =
        n_in >= 1 && n_in <= kMaxFeatures && n_out >= 1 && n_out <= kMaxFeatures &&
        (op == kOpInputBinarize) == first && (op == kOpBnnDenseScores) == last &&
        (op != kOpInputBinarize || n_out == n_in) && (op != kOpBnnDenseScores || n_out <= kMaxClasses) &&
        (first || n_in == layers[l - 1].n_out) && Lo(w[4]) % 8 == 0 && Lo(w[5]) % 8 == 0;
    if (!shape_ok) return MakeStatus(kStatusBadShape, l, op);
    layers[l].op = op;
    layers[l].n_in = static_cast<uint32_t>(n_in);
    layers[l].n_out = static_cast<uint32_t>(n_out);
    layers[l].weights_offset = Lo(w[4]);
    layers[l].params_offset = Lo(w[5]);
    layers[l].arg0 = static_cast<int32_t>(Lo(w[6]));
  }
  return MakeStatus(kStatusOk, 0, 0);
}

}  // namespace engine
}  // namespace pynq

#endif  // PYNQ_OVERLAYS_NN_ENGINE_PROGRAM_H_
