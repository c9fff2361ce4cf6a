// The engine's cycle count for one call, from the loop trip counts of nn_engine.h and the PE /
// SIMD configuration. The virtual board (accel/sim_device.h) delays ap_done by it, so batching
// can be studied without a board. It is a model: csynth's latency report and a board's
// measurements are what to calibrate it against (overlays/README.md).
//
// Formula (all divisions round up; L = layers; "burst" = kMemLatencyCycles to open a DDR burst):
//   call       = kCallOverheadCycles + (2 + 8 L) + burst                      (read the program)
//              + batch * image + 8 + burst                                    (trailer)
//   image      = sum over layers of layer(l) + classes / 2 + burst            (write scores)
//   INPUT_BINARIZE (n pixels):  kClearCycles + n / 8 + burst                  (8 pixels per cycle)
//   BNN_DENSE[_SCORES] (n_in -> n_out), words = n_in / 64, tiles = n_out / PE:
//     kClearCycles + sum over tiles of
//       max(words / SIMD, rows_in_tile * words / kAxiWords)                   (compute vs. stream)
//       + burst + kPipelineDepthCycles + rows_in_tile                         (params, outputs)
// Weights are streamed from DDR for every image, so a layer is bound by the larger of its
// compute (PE x SIMD words per cycle) and its weight stream (kAxiWords words per cycle).
#ifndef PYNQ_OVERLAYS_NN_ENGINE_TIMING_MODEL_H_
#define PYNQ_OVERLAYS_NN_ENGINE_TIMING_MODEL_H_

#include <algorithm>
#include <cstdint>

#include "overlays/nn_engine/engine_config.h"
#include "overlays/nn_engine/program.h"

namespace pynq {
namespace engine {

// Cycles to open a DDR read or write burst through a Zynq HP port at 100 MHz.
constexpr uint64_t kMemLatencyCycles = 32;
// Depth of the XNOR-popcount pipeline (popcount adder tree and accumulate).
constexpr uint64_t kPipelineDepthCycles = 8;
// Clearing a kMaxWords activation buffer, 8 words per cycle.
constexpr uint64_t kClearCycles = kMaxFeatures / 64 / 8;
// ap_start to the first program read, and the last write to ap_done.
constexpr uint64_t kCallOverheadCycles = 16;

inline uint64_t CeilDiv(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

template <typename Config>
uint64_t LayerCycles(const LayerDesc& layer) {
  if (layer.op == kOpInputBinarize) {
    return kClearCycles + CeilDiv(layer.n_in, 8) + kMemLatencyCycles;
  }
  const uint64_t words = CeilDiv(layer.n_in, 64);
  uint64_t cycles = kClearCycles;
  for (uint64_t first_row = 0; first_row < layer.n_out; first_row += Config::kPe) {
    const uint64_t rows = std::min<uint64_t>(Config::kPe, layer.n_out - first_row);
    const uint64_t compute = CeilDiv(words, Config::kSimd);
    const uint64_t stream = CeilDiv(rows * words, Config::kAxiWords);
    cycles += std::max(compute, stream) + kMemLatencyCycles + kPipelineDepthCycles + rows;
  }
  return cycles;
}

// Cycles of one call of `command` on a validated program of `count` layers.
template <typename Config>
uint64_t CallCycles(const LayerDesc* layers, uint32_t count, uint32_t batch, uint32_t command) {
  if (command == kCommandIdentify) return kCallOverheadCycles;
  const uint64_t program = 2 + 8 * uint64_t{count} + kMemLatencyCycles;
  if (command != kCommandRun) return kCallOverheadCycles + program;
  uint64_t image = CeilDiv(layers[count - 1].n_out, 2) + kMemLatencyCycles;
  for (uint32_t l = 0; l < count; ++l) image += LayerCycles<Config>(layers[l]);
  return kCallOverheadCycles + program + batch * image + 8 + kMemLatencyCycles;
}

}  // namespace engine
}  // namespace pynq

#endif  // PYNQ_OVERLAYS_NN_ENGINE_TIMING_MODEL_H_
