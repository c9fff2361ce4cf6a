// The network-agnostic engine: executes the layer program of a model file on a batch of images
// and writes int32 scores back to DDR. A new model needs no re-synthesis, only its PROGRAM and
// WEIGHTS sections in DDR; its weights are either loaded into the on-chip store once (LOAD) and
// used by every later RUN (resident), or copied in tiles during each RUN, every tile used by the
// whole batch (streamed). abi/registers.h "Commands" is the contract.
//
// Two entry points, one body:
//   - nn_engine(): the synthesizable top function, with m_axi ports, the s_axilite register map
//     of abi/registers.h, and the store as static memories (nn_engine.cc).
//   - RunEngine<Config>(ports..., args, store..., outputs, clock): the body, over any memory port
//     (program.h PortRead); the virtual board runs it over address-checked DDR windows with a
//     store of its own, and counts its cycles in `clock`.
//
//   EngineStore<DefaultEngineConfig> store;
//   EngineOutputs out;
//   Clock clock;
//   RunEngine<DefaultEngineConfig>(program, weights, input, output, scratch, args, store, out,
//                                  clock);
//   if (StatusCode(out.status) != kStatusOk) ...
//
// No dynamic memory, no recursion, every loop labelled and statically bounded.
#ifndef PYNQ_OVERLAYS_NN_ENGINE_NN_ENGINE_H_
#define PYNQ_OVERLAYS_NN_ENGINE_NN_ENGINE_H_

#include <cstdint>

#include "overlays/nn_engine/abi/memory_layout.h"
#include "overlays/nn_engine/abi/registers.h"
#include "overlays/nn_engine/engine_config.h"
#include "overlays/nn_engine/hls_compat.h"
#include "overlays/nn_engine/pass.h"
#include "overlays/nn_engine/plan.h"
#include "overlays/nn_engine/program.h"
#include "overlays/nn_engine/store.h"
#include "overlays/nn_engine/weight_loader.h"

namespace pynq {
namespace engine {

// The output registers of one call.
struct EngineOutputs {
  uint32_t status = 0;
  uint32_t checksum = 0;
  uint32_t id = 0;
  uint32_t version = 0;
  uint32_t caps = 0;
  uint32_t store_rows = 0;
  uint32_t store_params = 0;
  uint32_t need_rows = 0;
  uint32_t need_params = 0;
};

// The input process's reading of the images of a RUN (layer 0, an input op).
inline void ImageInput(const LayerDesc& input_op, uint32_t first_compute, PassArgs& pass) {
  const uint32_t n = input_op.n_in;
  pass.in_mode =
      input_op.op == Op::kInputBinarize ? InputMode::kBinarize : InputMode::kQuantize;
  pass.in_word = 0;
  pass.in_stride = InputStride(n) / 8;
  pass.in_data = CeilDiv32(n, 8);
  pass.in_entries = EntriesFor(TensorBytes(OutputKind(input_op.op), n));
  pass.in_pixels = n;
  pass.in_arg0 = input_op.arg0;
  pass.in_arg1 = input_op.arg1;
  pass.first = first_compute;
}

// Where a pass's outputs go: the scores (the last stage), or scratch area `area`.
inline void PassOutput(const LayerDesc layers[kMaxLayers], const Stage& stage, uint32_t lo,
                       uint32_t hi, bool scores, uint32_t area, uint32_t classes,
                       PassArgs& pass) {
  const LayerDesc& weighted = layers[stage.weighted];
  const LayerDesc& last = layers[stage.last];
  const Span span = OutputSpan(weighted, last, lo, hi);
  const uint32_t tensor = TensorBytes(OutputKind(last.op), last.n_out);
  pass.last = stage.last;
  pass.tiled = stage.weighted;
  pass.lo = lo;
  pass.hi = hi;
  pass.out_bytes = span.bytes;
  pass.out_entries = EntriesFor(span.bytes);
  pass.out_stride = (scores ? OutputStride(classes) : AlignToBurst(tensor)) / 8;
  pass.out_word = (scores ? 0 : ScratchAreaWord(area, pass.batch)) + span.offset / 8;
  pass.out_words = CeilDiv32(span.bytes, 8);
  pass.out_whole = lo == 0 && hi == Units(weighted);
  pass.out_checksum = scores && pass.out_whole;
  pass.classes = classes;
}

// RUN of a resident program: one pass over every layer.
template <typename Config, typename Port>
void RunResident(const Port& input, const Port& output, const LayerDesc layers[kMaxLayers],
                 uint32_t count, const CallArguments& args,
                 const uint64_t store[Config::kStoreRows][Config::kLanes],
                 const int32_t bias[Config::kDrainLanes][Config::kParamRows],
                 const int32_t multiplier[Config::kDrainLanes][Config::kParamRows],
                 const uint8_t shift[Config::kDrainLanes][Config::kParamRows],
                 Fletcher32& checksum, Clock& clock) {
  const Stage all = {0, count - 1, count - 1};
  PassArgs pass;
  pass.batch = args.batch;
  ImageInput(layers[0], 1, pass);
  PassOutput(layers, all, 0, Units(layers[count - 1]), true, 0, layers[count - 1].n_out, pass);
  pass.store_row = args.weights_base;
  pass.param_row = args.params_base;
  RunPass<Config>(input, output, layers, pass, store, bias, multiplier, shift, checksum, clock);
}

// RUN of a streamed program: every stage in tiles, each tile loaded into the stream region and
// run by every image; stage k writes scratch area k % 2 and stage k + 1 reads it. Returns
// whether the scores layer was tiled (then the checksum is still to be taken).
template <typename Config, typename Port>
bool RunStreamed(const Port& weights, const Port& input, const Port& output,
                 const Port& scratch, const LayerDesc layers[kMaxLayers], uint32_t count,
                 const ProgramPlan& plan, const CallArguments& args,
                 uint64_t store[Config::kStoreRows][Config::kLanes],
                 int32_t bias[Config::kDrainLanes][Config::kParamRows],
                 int32_t multiplier[Config::kDrainLanes][Config::kParamRows],
                 uint8_t shift[Config::kDrainLanes][Config::kParamRows], Fletcher32& checksum,
                 Clock& clock) {
  const uint32_t classes = layers[count - 1].n_out;
  bool scores_tiled = false;
  WeightsChecksum unused;
Stages:
  for (uint32_t k = 0; k < kMaxLayers; ++k) {
    if (k >= plan.stage_count) break;
    const Stage& stage = plan.stages[k];
    const LayerDesc& weighted = layers[stage.weighted];
    const uint32_t units = Units(weighted);
    const uint32_t tile = StreamTileUnits<Config>(weighted);
    const bool scores = stage.last == count - 1;
    if (scores && tile < units) scores_tiled = true;
  Tiles:
    for (uint32_t lo = 0; lo < kMaxFeatures; lo += tile) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 8
      if (lo >= units) break;
      const uint32_t hi = units - lo < tile ? units : lo + tile;
      clock.Add(kLayerOverheadCycles);
      LoadLayer<Config>(weights, weighted, lo, hi, Config::kResidentRows,
                        Config::kResidentParamRows, store, bias, multiplier, shift, unused,
                        clock);
      PassArgs pass;
      pass.batch = args.batch;
      if (k == 0) {
        ImageInput(layers[0], 1, pass);
      } else {
        const LayerDesc& first = layers[stage.first];
        const uint32_t bytes = TensorBytes(InputKind(first.op), first.n_in);
        pass.in_mode = InputMode::kRaw;
        pass.in_word = ScratchAreaWord((k + 1) % 2, args.batch);
        pass.in_stride = AlignToBurst(bytes) / 8;
        pass.in_data = CeilDiv32(bytes, 8);
        pass.in_entries = EntriesFor(bytes);
        pass.in_pixels = 0;
        pass.in_arg0 = 0;
        pass.in_arg1 = 0;
        pass.first = stage.first;
      }
      PassOutput(layers, stage, lo, hi, scores, k % 2, classes, pass);
      pass.store_row = Config::kResidentRows;
      pass.param_row = Config::kResidentParamRows;
      RunPass<Config>(k == 0 ? input : scratch, scores ? output : scratch, layers, pass, store,
                      bias, multiplier, shift, checksum, clock);
    }
  }
  return scores_tiled;
}

// The scores checksum read back from DDR, after a RUN whose scores layer ran in tiles.
template <typename Port>
uint32_t ReadBackChecksum(const Port& output, uint32_t batch, uint32_t classes, uint32_t tag,
                          Clock& clock) {
  const uint32_t stride = OutputStride(classes) / 8;
  const uint32_t words = CeilDiv32(classes, 2);
  Fletcher32 sum(tag);
  uint32_t w = 0, row = 0;
  clock.Add(kMemLatencyCycles);
  // II = 1: one DDR word, two chained adds.
ReadBack:
  for (uint32_t i = 0; i < kMaxBatch * (kMaxClasses / 2 + 8); ++i) {
#pragma HLS PIPELINE II = 1
    if (i >= batch * stride) break;
    clock.Tick(1);
    const uint64_t word = PortRead(output, row * stride + w);
    if (w < words) {
      sum.Add(static_cast<uint32_t>(word));
      if (2 * w + 1 < classes) sum.Add(static_cast<uint32_t>(word >> 32));
    }
    if (++w == stride) {
      w = 0;
      ++row;
    }
  }
  clock.Add(kDepthTrailer);
  return sum.Value();
}

template <typename Config, typename Port>
void RunEngine(const Port& program, const Port& weights, const Port& input, const Port& output,
               const Port& scratch, const CallArguments& args,
               uint64_t store[Config::kStoreRows][Config::kLanes],
               int32_t bias[Config::kDrainLanes][Config::kParamRows],
               int32_t multiplier[Config::kDrainLanes][Config::kParamRows],
               uint8_t shift[Config::kDrainLanes][Config::kParamRows],
               ResidentSlot slots[kResidentSlots], EngineOutputs& out, Clock& clock) {
  clock.Add(kCallOverheadCycles);
  out.id = kEngineId;
  out.version = kEngineVersion;
  out.caps = Caps(kImplementedOps, Config::kPe, Config::kSimd);
  out.store_rows = Config::kResidentRows;
  out.store_params = Config::kResidentParamRows;
  out.need_rows = 0;
  out.need_params = 0;
  out.checksum = 0;
  out.status = MakeStatus(kStatusOk, 0, 0);
  const uint32_t command = args.command;
  if (command == kCommandIdentify) return;
  if (command != kCommandCheck && command != kCommandRun && command != kCommandLoad) {
    out.status = MakeStatus(kStatusBadCommand, 0, 0);
    return;
  }
  LayerDesc layers[kMaxLayers];
  uint32_t count = 0;
  out.status = ReadProgram<Config>(program, layers, count, clock);
  if (StatusCode(out.status) != kStatusOk) return;
  ProgramPlan plan;
  PlanProgram<Config>(layers, count, plan, clock);
  out.need_rows = plan.rows;
  out.need_params = plan.params;
  const bool streamable = plan.too_large == count;
  const uint32_t too_large =
      streamable ? 0u
                 : MakeStatus(kStatusTooLarge, plan.too_large,
                              static_cast<uint32_t>(layers[plan.too_large].op));

  if (command == kCommandCheck) {
    if (!streamable) out.status = too_large;
    return;
  }

  if (command == kCommandLoad) {
    if (args.slot >= kResidentSlots || args.key == 0 ||
        args.weights_base > Config::kResidentRows ||
        plan.rows > Config::kResidentRows - args.weights_base ||
        args.params_base > Config::kResidentParamRows ||
        plan.params > Config::kResidentParamRows - args.params_base) {
      out.status = MakeStatus(kStatusBadRegion, 0, 0);
      return;
    }
    // Whatever this copy overwrites is no longer resident, nor is the slot's previous copy. One
    // cycle: the slots are registers, compared at once.
    clock.Add(1);
  Forget:
    for (uint32_t s = 0; s < kResidentSlots; ++s) {
#pragma HLS UNROLL
      const ResidentSlot& other = slots[s];
      if (s == args.slot ||
          RowsOverlap(other.weights_base, other.rows, args.weights_base, plan.rows) ||
          RowsOverlap(other.params_base, other.params, args.params_base, plan.params)) {
        slots[s].key = 0;
      }
    }
    WeightsChecksum sum;
    uint32_t row = args.weights_base;
    uint32_t param_row = args.params_base;
  Layers:
    for (uint32_t l = 0; l < kMaxLayers; ++l) {
      if (l >= count) break;
      if (!HasWeights(layers[l].op)) continue;
      clock.Add(kLayerOverheadCycles);
      const uint32_t units = Units(layers[l]);
      LoadLayer<Config>(weights, layers[l], 0, units, row, param_row, store, bias, multiplier,
                        shift, sum, clock);
      row += StoreRowsFor<Config>(layers[l], units);
      param_row += ParamRowsFor<Config>(units);
    }
    const ResidentSlot loaded = {args.key, args.weights_base, args.params_base, plan.rows,
                                 plan.params};
    slots[args.slot] = loaded;
    out.checksum = sum.Value();
    return;
  }

  // RUN.
  if (args.batch < 1 || args.batch > kMaxBatch) {
    out.status = MakeStatus(kStatusBadBatch, 0, 0);
    return;
  }
  const bool resident = args.slot < kResidentSlots;
  if (resident) {
    const ResidentSlot& slot = slots[args.slot];
    if (args.key == 0 || slot.key != args.key || slot.weights_base != args.weights_base ||
        slot.params_base != args.params_base || slot.rows != plan.rows ||
        slot.params != plan.params) {
      out.status = MakeStatus(kStatusNotResident, 0, 0);
      return;
    }
  } else if (args.slot != kSlotStreamed) {
    out.status = MakeStatus(kStatusBadRegion, 0, 0);
    return;
  } else if (!streamable) {
    out.status = too_large;
    return;
  }
  const uint32_t classes = layers[count - 1].n_out;
  Fletcher32 scores_sum(args.tag);
  bool scores_tiled = false;
  if (resident) {
    RunResident<Config>(input, output, layers, count, args, store, bias, multiplier, shift,
                        scores_sum, clock);
  } else {
    scores_tiled = RunStreamed<Config>(weights, input, output, scratch, layers, count, plan, args,
                                       store, bias, multiplier, shift, scores_sum, clock);
  }
  out.checksum = scores_tiled ? ReadBackChecksum(output, args.batch, classes, args.tag, clock)
                              : scores_sum.Value();
  const uint32_t trailer_word = args.batch * (OutputStride(classes) / 8);
  clock.Add(kMemLatencyCycles);
  // II = 1: one DDR word per cycle.
Trailer:
  for (uint32_t w = 0; w < kTrailerBytes / 8; ++w) {
#pragma HLS PIPELINE II = 1
    clock.Tick(1);
    const uint64_t word = w == 0   ? (static_cast<uint64_t>(args.batch) << 32) | args.tag
                          : w == 1 ? uint64_t{out.checksum}
                                   : uint64_t{0};
    PortWrite(output, trailer_word + w, word);
  }
  clock.Add(kDepthTrailer);
}

// RunEngine() on an EngineStore (C simulation and the virtual board).
template <typename Config, typename Port>
void RunEngine(const Port& program, const Port& weights, const Port& input, const Port& output,
               const Port& scratch, const CallArguments& args, EngineStore<Config>& store,
               EngineOutputs& out, Clock& clock) {
  RunEngine<Config>(program, weights, input, output, scratch, args, store.weights, store.bias,
                    store.multiplier, store.shift, store.slots, out, clock);
}

}  // namespace engine
}  // namespace pynq

// The synthesizable top function. Pointers are DDR addresses set through the register map; the
// other scalars are registers. Runs one command to completion per ap_start; the weight store
// keeps its contents between calls. Built for the PYNQ-Z2 configuration, or the KV260's with
// PYNQ_ENGINE_KV260 defined (hls/run_hls.tcl).
void nn_engine(uint64_t* program, uint64_t* weights, uint64_t* input, uint64_t* output,
               uint32_t batch, uint32_t command, uint32_t tag, uint32_t* status,
               uint32_t* checksum, uint32_t* id, uint32_t* version, uint32_t* caps,
               uint64_t* scratch, uint32_t slot, uint32_t key, uint32_t weights_base,
               uint32_t params_base, uint32_t* store_rows, uint32_t* store_params,
               uint32_t* need_rows, uint32_t* need_params);

#endif  // PYNQ_OVERLAYS_NN_ENGINE_NN_ENGINE_H_
