// The engine's cycle count for one call, from the loop trip counts of nn_engine.h and the PE / SIMD
// configuration. The virtual board (accel/fpga/devices/sim/sim_device.h) delays ap_done by it, so
// batching can be studied without a board. It is a model: csynth's latency report and a board's
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
//   INPUT_QUANTIZE (n pixels):  n / 8 + burst                                 (8 pixels per cycle)
//   int8 params (n channels):   3 n + burst                                   (bias, M, shift; II 3)
//   INT8_DENSE (n_in -> n_out): params(n_out) + sum over rows of
//       row_words + burst + kPipelineDepthCycles                              (8 MACs per cycle)
//     row_words = the weight words row i straddles: ceil((i+1) n_in / 8) - floor(i n_in / 8)
//   INT8_DENSE_SCORES: as INT8_DENSE without params, plus one burst per row (its bias)
//   INT8_CONV (C x H x W -> OC x OH x OW, K): taps = C K K; taps (tap offsets) + params(OC)
//     + sum over channels of [kernel_words + burst                            (kernel to BRAM)
//                             + OH OW (taps / kConvLanes + kPipelineDepthCycles)]
//   MAXPOOL (C x H x W, P): C (H/P) (W/P) (P P + 2)                          (one compare/cycle)
// Weights are streamed from DDR for every image, so a binarized layer is bound by the larger of
// its compute (PE x SIMD words per cycle) and its weight stream (kAxiWords words per cycle); an
// int8 dense layer consumes one weight word (8 MACs) per cycle, so it is bound by its stream,
// and an int8 convolution, which reads each kernel once per image and reuses it from BRAM, by
// its kConvLanes MACs per cycle.
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

// Loading the requantization params of n channels (int8_arith.h LoadRequantizer).
inline uint64_t ParamsCycles(uint64_t n) { return 3 * n + kMemLatencyCycles; }

// The 64-bit words a run of n bytes starting at byte `first` straddles.
inline uint64_t StraddledWords(uint64_t first, uint64_t n) {
  return CeilDiv(first + n, 8) - first / 8;
}

template <typename Config>
uint64_t Int8LayerCycles(const LayerDesc& layer) {
  if (layer.op == Op::kInputQuantize) return CeilDiv(layer.n_in, 8) + kMemLatencyCycles;
  if (layer.op == Op::kMaxPool) {
    const uint64_t p = static_cast<uint64_t>(layer.arg0);
    return uint64_t{layer.n_out} * (p * p + 2);
  }
  if (layer.op == Op::kInt8Conv) {
    const uint64_t k = static_cast<uint64_t>(layer.arg0);
    const uint64_t taps = layer.in_c * k * k;
    const uint64_t pixels = uint64_t{layer.out_h} * layer.out_w;
    uint64_t cycles = taps + ParamsCycles(layer.out_c);
    for (uint64_t o = 0; o < layer.out_c; ++o) {
      cycles += StraddledWords(o * taps, taps) + kMemLatencyCycles +
                pixels * (CeilDiv(taps, Config::kConvLanes) + kPipelineDepthCycles);
    }
    return cycles;
  }
  const bool scores = layer.op == Op::kInt8DenseScores;
  uint64_t cycles = scores ? 0 : ParamsCycles(layer.n_out);
  for (uint64_t row = 0; row < layer.n_out; ++row) {
    cycles += StraddledWords(row * layer.n_in, layer.n_in) + kMemLatencyCycles +
              kPipelineDepthCycles + (scores ? kMemLatencyCycles : 0);
  }
  return cycles;
}

template <typename Config>
uint64_t LayerCycles(const LayerDesc& layer) {
  if (layer.op == Op::kInputBinarize) {
    return kClearCycles + CeilDiv(layer.n_in, 8) + kMemLatencyCycles;
  }
  if (layer.op != Op::kBnnDense && layer.op != Op::kBnnDenseScores) {
    return Int8LayerCycles<Config>(layer);
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
