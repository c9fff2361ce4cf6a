// The engine's cycle count for one call, as formulas over the program's shapes and the
// configuration: what the virtual board delays ap_done by and engine_timing_report prints.
// tests/engine_csim_test.cc checks that it equals the cycles the C simulation counts as the HLS
// code runs (hls_compat.h Clock) for every shipped model and random ones, resident and streamed,
// so the model cannot drift from the code. Its constants (engine_config.h "Cycle costs") are
// estimates: csynth's latency report and a board are what to calibrate them against.
//
// Formulas (L = kMemLatencyCycles, D* the pipeline depths, all divisions rounding up):
//   call     = kCallOverheadCycles + program + plan + (LOAD: load | RUN: run + trailer)
//   program  = (L + 2 + Dprogram) + (L + 8 layers + Dprogram) + (layers + Ddecode)
//   plan     = layers + Ddecode
//   load     = 1 + sum over layers with weights of (kLayerOverheadCycles + tile(all units))
//   tile     = max(L + words + Dload, L + Dload + 1 + units * runs + Dalign)   weights: reader
//              + sum over params arrays of (L + words + Dparams)                  and aligner
//   run      = pass (resident: one, all layers)
//            | sum over stages, tiles of (kLayerOverheadCycles + tile + pass)   (streamed)
//              + (scores tiled: L + batch * score stride + Dtrailer)
//   trailer  = L + 8 + Dtrailer
//   pass     = the dataflow recurrence of DataflowMakespan() over three processes, per image
//     input   = stride words / kAxiWords (+ L for the first image; Dinput after the last)
//     compute = (entries in + Dcopy) + sum over layers of (kLayerOverheadCycles + layer)
//               + (entries out + Dcopy)
//     output  = span words / kAxiWords (+ L per image for a tile's span; else L + Doutput
//               after the last, Doutput alone for a tile)
//   layer: BNN_DENSE / INT8_DENSE (and *_SCORES), n_in -> rows, words = n_in/64 or n_in/8:
//            groups (rows / kLanes) * max(words, kLanes / kDrainLanes) + kLanes / kDrainLanes
//            + Dmac
//          INT8_CONV: groups (channels / 2 * OH * OW / 8) * max(C K, 4) + 4 + Dmac
//          MAXPOOL:   C * OH/P * (OW/P) / floor(16 / P) * P + Dpool
#ifndef PYNQ_OVERLAYS_NN_ENGINE_TIMING_MODEL_H_
#define PYNQ_OVERLAYS_NN_ENGINE_TIMING_MODEL_H_

#include <cstdint>

#include "overlays/nn_engine/abi/memory_layout.h"
#include "overlays/nn_engine/abi/registers.h"
#include "overlays/nn_engine/bnn_dense.h"
#include "overlays/nn_engine/engine_config.h"
#include "overlays/nn_engine/int8_conv.h"
#include "overlays/nn_engine/maxpool.h"
#include "overlays/nn_engine/nn_engine.h"
#include "overlays/nn_engine/plan.h"
#include "overlays/nn_engine/program.h"
#include "overlays/nn_engine/weight_loader.h"

namespace pynq {
namespace engine {

// Cycles of one layer on chip for one image, computing output units [0, units) (all of them,
// or a tile's), after a convolution of `channels` channels (MAXPOOL of a tile).
template <typename Config>
uint64_t LayerCycles(const LayerDesc& layer, uint32_t units, uint32_t channels) {
  if (layer.op == Op::kMaxPool) {
    const MaxPoolArgs args = {channels != 0 ? channels : layer.in_c, layer.in_h, layer.in_w,
                              static_cast<uint32_t>(layer.arg0)};
    return PoolSteps(args) + kDepthPool;
  }
  if (layer.op == Op::kInt8Conv) {
    const ConvArgs args = {layer.in_c, layer.in_h, layer.in_w, static_cast<uint32_t>(layer.arg0),
                           units, 0, 0, false};
    return LaneLoopIterations<Config>(ConvGroups<Config>(args), LayerSteps(layer)) + kDepthMac;
  }
  return LaneLoopIterations<Config>(CeilDiv32(units, Config::kLanes), LayerSteps(layer)) +
         kDepthMac;
}

// Cycles of loading units [lo, hi) of a layer (weight_loader.h LoadLayer).
template <typename Config>
uint64_t LoadCycles(const LayerDesc& layer, uint32_t lo, uint32_t hi) {
  const WeightRuns r = RunsOf(layer, lo, hi);
  const uint64_t reader = kMemLatencyCycles + RunWords(r) + kDepthLoad;
  const uint64_t aligner =
      kMemLatencyCycles + kDepthLoad + 1 + uint64_t{r.units} * r.runs + kDepthAlign;
  uint64_t cycles = reader > aligner ? reader : aligner;
  const uint32_t units = Units(layer);
  const uint32_t n = hi - lo;
  const bool requantized = layer.op == Op::kInt8Dense || layer.op == Op::kInt8Conv;
  for (uint32_t a = 0; a < (requantized ? 3u : 1u); ++a) {
    const uint32_t first = a * units + lo;
    cycles += kMemLatencyCycles + ((first + n - 1) / 2 - first / 2 + 1) + kDepthParams;
  }
  return cycles;
}

// The three processes' cycles for one image of a pass, and what follows the last.
struct PassTimes {
  uint64_t input;   // per image; the first also pays a burst's latency
  uint64_t compute;
  uint64_t output;
  uint64_t input_tail;
  uint64_t output_tail;
};

template <typename Config>
PassTimes PassImageCycles(const LayerDesc layers[kMaxLayers], const PassArgs& pass) {
  PassTimes t;
  t.input = pass.in_stride / Config::kAxiWords;
  t.input_tail = kDepthInput;
  t.compute = pass.in_entries + kDepthCopy + pass.out_entries + kDepthCopy;
  uint32_t channels = 0;
  for (uint32_t l = pass.first; l <= pass.last; ++l) {
    const LayerDesc& layer = layers[l];
    const uint32_t units =
        l == pass.tiled ? pass.hi - pass.lo : HasWeights(layer.op) ? Units(layer) : 0;
    t.compute += kLayerOverheadCycles + LayerCycles<Config>(layer, units, channels);
    if (layer.op == Op::kInt8Conv) channels = units;
  }
  const uint32_t span = pass.out_whole ? pass.out_stride : pass.out_words;
  t.output = CeilDiv32(span, Config::kAxiWords) + (pass.out_whole ? 0 : kMemLatencyCycles);
  t.output_tail = (pass.out_whole ? kMemLatencyCycles : 0) + kDepthOutput;
  return t;
}

// DataflowMakespan() of a pass in closed form per image: finish[s][i] = max(finish[s][i-1],
// finish[s-1][i]) + the process's cycles for image i.
template <typename Config>
uint64_t PassCycles(const LayerDesc layers[kMaxLayers], const PassArgs& pass) {
  const PassTimes t = PassImageCycles<Config>(layers, pass);
  uint64_t in = 0, compute = 0, out = 0;
  for (uint32_t i = 0; i < pass.batch; ++i) {
    const bool last = i + 1 == pass.batch;
    in += t.input + (i == 0 ? kMemLatencyCycles : 0) + (last ? t.input_tail : 0);
    compute = (compute > in ? compute : in) + t.compute;
    out = (out > compute ? out : compute) + t.output + (last ? t.output_tail : 0);
  }
  return out;
}

// The passes of a RUN, as nn_engine.h makes them; `visit(pass, tile_layer, lo, hi)` for each,
// with tile_layer = count for the resident pass (no tile to load).
template <typename Config, typename Visit>
void ForEachPass(const LayerDesc layers[kMaxLayers], uint32_t count, const ProgramPlan& plan,
                 bool resident, uint32_t batch, Visit visit) {
  const uint32_t classes = layers[count - 1].n_out;
  if (resident) {
    PassArgs pass;
    pass.batch = batch;
    ImageInput(layers[0], 1, pass);
    const Stage all = {0, count - 1, count - 1};
    PassOutput(layers, all, 0, Units(layers[count - 1]), true, 0, classes, pass);
    visit(pass, count, 0u, 0u);
    return;
  }
  for (uint32_t k = 0; k < plan.stage_count; ++k) {
    const Stage& stage = plan.stages[k];
    const LayerDesc& weighted = layers[stage.weighted];
    const uint32_t units = Units(weighted);
    const uint32_t tile = StreamTileUnits<Config>(weighted);
    for (uint32_t lo = 0; lo < units; lo += tile) {
      const uint32_t hi = units - lo < tile ? units : lo + tile;
      PassArgs pass;
      pass.batch = batch;
      if (k == 0) {
        ImageInput(layers[0], 1, pass);
      } else {
        const uint32_t bytes = TensorBytes(InputKind(layers[stage.first].op),
                                           layers[stage.first].n_in);
        pass.in_mode = InputMode::kRaw;
        pass.in_stride = AlignToBurst(bytes) / 8;
        pass.in_entries = EntriesFor(bytes);
        pass.first = stage.first;
      }
      PassOutput(layers, stage, lo, hi, stage.last == count - 1, k % 2, classes, pass);
      visit(pass, stage.weighted, lo, hi);
    }
  }
}

// Cycles of one call of `command` (IDENTIFY, CHECK, LOAD, or RUN of `batch` images, resident or
// streamed) on a program that ReadProgram() accepts, when the call succeeds.
template <typename Config>
uint64_t CallCycles(const LayerDesc layers[kMaxLayers], uint32_t count, uint32_t command,
                    uint32_t batch, bool resident) {
  uint64_t cycles = kCallOverheadCycles;
  if (command == kCommandIdentify) return cycles;
  cycles += (kMemLatencyCycles + kProgramHeaderWords + kDepthProgram) +
            (kMemLatencyCycles + uint64_t{kLayerWords} * count + kDepthProgram) +
            (count + kDepthDecode);
  ProgramPlan plan;
  Clock unused;
  PlanProgram<Config>(layers, count, plan, unused);
  cycles += count + kDepthDecode;
  if (command == kCommandCheck) return cycles;
  if (command == kCommandLoad) {
    cycles += 1;
    for (uint32_t l = 0; l < count; ++l) {
      if (HasWeights(layers[l].op)) {
        cycles += kLayerOverheadCycles + LoadCycles<Config>(layers[l], 0, Units(layers[l]));
      }
    }
    return cycles;
  }
  bool scores_tiled = false;
  ForEachPass<Config>(layers, count, plan, resident, batch,
                      [&](const PassArgs& pass, uint32_t tile_layer, uint32_t lo, uint32_t hi) {
                        if (tile_layer < count) {
                          cycles += kLayerOverheadCycles +
                                    LoadCycles<Config>(layers[tile_layer], lo, hi);
                          if (pass.last == count - 1 && !pass.out_whole) scores_tiled = true;
                        }
                        cycles += PassCycles<Config>(layers, pass);
                      });
  const uint32_t classes = layers[count - 1].n_out;
  if (scores_tiled) {
    cycles += kMemLatencyCycles + uint64_t{batch} * (OutputStride(classes) / 8) + kDepthTrailer;
  }
  return cycles + kMemLatencyCycles + kTrailerBytes / 8 + kDepthTrailer;
}

}  // namespace engine
}  // namespace pynq

#endif  // PYNQ_OVERLAYS_NN_ENGINE_TIMING_MODEL_H_
