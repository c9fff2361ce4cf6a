// Where a program's weights go in the on-chip store, and how a RUN is cut into passes.
//
//   ProgramPlan plan;
//   PlanProgram<Config>(layers, count, plan, clock);   // plan.rows, plan.params: what LOAD needs
//   const Stage& s = plan.stages[0];    // layers [s.first, s.last], weights in layer s.weighted
//   uint32_t tile = StreamTileUnits<Config>(layers[s.weighted]);   // 0: cannot be streamed
//
// The store (store.h) has Config::kLanes banks of 64-bit words; a "row" is one word in every bank.
// A dense layer keeps kLanes output rows side by side, row r in bank r % kLanes, its words one
// per store row; a convolution keeps kConvChannels channels side by side, each kernel row
// (c, ky) of a channel one word padded with zeros, (kLanes / kConvChannels) kernel rows of the
// pair per store row. Params (bias, multiplier, shift, or a threshold) are one per channel in
// the params store, channel c in bank c % kDrainLanes.
//
// A resident RUN is one pass over all layers, the weights of every layer in its own rows. A
// streamed RUN is one pass per stage and tile: a stage is one layer with weights and the pools
// after it (the first stage also the input op and any pools before); a tile is the most output
// units of that layer whose weights fit the stream region, a multiple of TileGranule() so that
// every tile's outputs start on a 64-bit word. Each tile is loaded once and used by every image.
#ifndef PYNQ_OVERLAYS_NN_ENGINE_PLAN_H_
#define PYNQ_OVERLAYS_NN_ENGINE_PLAN_H_

#include <cstdint>

#include "overlays/nn_engine/abi/limits.h"
#include "overlays/nn_engine/abi/memory_layout.h"
#include "overlays/nn_engine/abi/ops.h"
#include "overlays/nn_engine/engine_config.h"
#include "overlays/nn_engine/hls_compat.h"
#include "overlays/nn_engine/program.h"

namespace pynq {
namespace engine {

inline uint32_t CeilDiv32(uint32_t a, uint32_t b) { return (a + b - 1) / b; }

// The output units of a layer with weights: rows of a dense layer, channels of a convolution.
inline uint32_t Units(const LayerDesc& layer) {
  return layer.op == Op::kInt8Conv ? layer.out_c : layer.n_out;
}

// Store words one lane reads for one output: a dense row's 64-bit words, or a convolution's
// kernel rows (C * K of them, one word each).
inline uint32_t LayerSteps(const LayerDesc& layer) {
  if (layer.op == Op::kInt8Conv) return layer.in_c * static_cast<uint32_t>(layer.arg0);
  if (layer.op == Op::kBnnDense || layer.op == Op::kBnnDenseScores) {
    return CeilDiv32(layer.n_in, 64);
  }
  return CeilDiv32(layer.n_in, 8);
}

// Store rows the weights of `units` output units take.
template <typename Config>
uint32_t StoreRowsFor(const LayerDesc& layer, uint32_t units) {
  if (layer.op == Op::kInt8Conv) {
    const uint32_t per_row = Config::kLanes / Config::kConvChannels;
    return CeilDiv32(units, Config::kConvChannels) * CeilDiv32(LayerSteps(layer), per_row);
  }
  return CeilDiv32(units, Config::kLanes) * LayerSteps(layer);
}

// Params rows of `units` output units.
template <typename Config>
uint32_t ParamRowsFor(uint32_t units) {
  return CeilDiv32(units, Config::kDrainLanes);
}

// Tiles are a multiple of this many output units: whole 64-bit words of output bits
// (BNN_DENSE), whole groups of lanes (dense), and for a convolution whole words of output
// whatever the spatial size (8 channels).
template <typename Config>
uint32_t TileGranule(const LayerDesc& layer) {
  if (layer.op == Op::kBnnDense) return 64;
  if (layer.op == Op::kInt8Conv) return 8;
  return Config::kLanes;
}

// The most output units of `layer` whose weights and params fit the stream region: all of them,
// or a multiple of TileGranule(); 0 if not even one granule fits.
template <typename Config>
uint32_t StreamTileUnits(const LayerDesc& layer) {
  const uint32_t units = Units(layer);
  if (StoreRowsFor<Config>(layer, units) <= Config::kStreamRows &&
      ParamRowsFor<Config>(units) <= Config::kStreamParamRows) {
    return units;
  }
  const uint32_t group = layer.op == Op::kInt8Conv ? Config::kConvChannels : Config::kLanes;
  const uint32_t rows_per_group = StoreRowsFor<Config>(layer, group);
  uint32_t most = Config::kStreamRows / rows_per_group * group;
  const uint32_t by_params = Config::kStreamParamRows * Config::kDrainLanes;
  if (by_params < most) most = by_params;
  const uint32_t granule = TileGranule<Config>(layer);
  return most / granule * granule;
}

// A stage: the layers [first, last], `weighted` the one with weights among them.
struct Stage {
  uint32_t first;
  uint32_t weighted;
  uint32_t last;
};

// What a program needs, worked out once per call: the store rows and params rows it takes
// resident (the sum over its layers with weights), the first layer that cannot be streamed
// (count if none), and its stages.
struct ProgramPlan {
  uint32_t rows;
  uint32_t params;
  uint32_t too_large;
  uint32_t stage_count;
  Stage stages[kMaxLayers];
};

// Plans a program ReadProgram() accepted (its last layer has weights, so every layer belongs to
// a stage). Cycles: one layer per cycle.
template <typename Config>
void PlanProgram(const LayerDesc* layers, uint32_t count, ProgramPlan& plan, Clock& clock) {
  plan.rows = 0;
  plan.params = 0;
  plan.too_large = count;
  plan.stage_count = 0;
Layers:
  for (uint32_t l = 0; l < kMaxLayers; ++l) {
#pragma HLS PIPELINE II = 1
    if (l >= count) break;
    clock.Tick(1);
    const LayerDesc& layer = layers[l];
    if (HasWeights(layer.op)) {
      plan.rows += StoreRowsFor<Config>(layer, Units(layer));
      plan.params += ParamRowsFor<Config>(Units(layer));
      if (plan.too_large == count && StreamTileUnits<Config>(layer) == 0) plan.too_large = l;
      // The first stage also holds the layers before it (the input op, pools).
      const Stage stage = {plan.stage_count == 0 ? 0u : l, l, l};
      plan.stages[plan.stage_count] = stage;
      ++plan.stage_count;
    } else if (plan.stage_count > 0) {
      plan.stages[plan.stage_count - 1].last = l;
    }
  }
  clock.Add(kDepthDecode);
}

// Bytes of a tensor of `n` elements as the engine keeps it: bits in whole 64-bit words.
inline uint32_t TensorBytes(TensorKind kind, uint32_t n) {
  if (kind == TensorKind::kBits) return 8 * CeilDiv32(n, 64);
  if (kind == TensorKind::kScores) return 4 * n;
  return n;
}

// Where the outputs of units [lo, hi) of a stage lie in its output tensor (that of layer `last`,
// the stage's last layer), in bytes: a tile's share.
struct Span {
  uint32_t offset;
  uint32_t bytes;
};
inline Span OutputSpan(const LayerDesc& weighted, const LayerDesc& last, uint32_t lo,
                       uint32_t hi) {
  const TensorKind kind = OutputKind(last.op);
  if (kind == TensorKind::kBits) return {lo / 8, 8 * CeilDiv32(hi - lo, 64)};
  if (kind == TensorKind::kScores) return {4 * lo, 4 * (hi - lo)};
  const uint32_t per_unit = last.n_out / Units(weighted);
  return {lo * per_unit, (hi - lo) * per_unit};
}

// A streamed RUN keeps stage k's output in scratch area k % 2: `batch` images, each at a
// 64-byte aligned stride, the area's first word at ScratchAreaWord().
inline uint32_t ScratchAreaWord(uint32_t area, uint32_t batch) {
  return area * batch * (kScratchImageBytes / 8);
}

}  // namespace engine
}  // namespace pynq

#endif  // PYNQ_OVERLAYS_NN_ENGINE_PLAN_H_
