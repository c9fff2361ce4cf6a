// Copies the weights and params of output units [lo, hi) of one layer from the WEIGHTS section
// in DDR into the on-chip store, in the layout of plan.h: what LOAD does for every layer of a
// resident program, and a streamed RUN for every tile.
//
//   WeightsChecksum sum;
//   LoadLayer<Config>(weights_port, layer, lo, hi, store_row, param_row, store..., sum, clock);
//
// The weights of [lo, hi) are one run of consecutive bytes in DDR (row-major dense rows, or
// [OC][C][K][K] kernels), read in one burst, one word per cycle, into a FIFO. An aligner cuts the
// bytes into the store's words: 8 bytes of a dense row, or one kernel row of K bytes padded with
// zeros, one store word per cycle, each needing at most one new DDR word. The two form a dataflow
// region: the aligner starts when the first word arrives and never waits after that, since it
// writes at least as many store words as it reads DDR words. Params arrays (bias, multiplier,
// shift, or thresholds) follow, one burst each, two i32 per cycle.
#ifndef PYNQ_OVERLAYS_NN_ENGINE_WEIGHT_LOADER_H_
#define PYNQ_OVERLAYS_NN_ENGINE_WEIGHT_LOADER_H_

#include <cstdint>

#include "overlays/nn_engine/abi/limits.h"
#include "overlays/nn_engine/abi/memory_layout.h"
#include "overlays/nn_engine/engine_config.h"
#include "overlays/nn_engine/hls_compat.h"
#include "overlays/nn_engine/plan.h"
#include "overlays/nn_engine/program.h"

namespace pynq {
namespace engine {

// Most DDR words of one layer's weights (kMaxFeatures x kMaxFeatures int8), a static bound.
constexpr uint32_t kMaxLayerWeightWords = kMaxFeatures * kMaxFeatures / 8;

// How the weights of one layer are cut into store words.
struct WeightRuns {
  uint32_t first_byte;  // of output unit lo, from the blob's start
  uint32_t units;       // hi - lo
  uint32_t runs;        // store words per unit: a dense row's words, a kernel's rows
  uint32_t run_bytes;   // bytes of a full run (8, or K)
  uint32_t unit_bytes;  // bytes of one unit (the last run of a dense row may be short)
};

inline WeightRuns RunsOf(const LayerDesc& layer, uint32_t lo, uint32_t hi) {
  WeightRuns r;
  r.units = hi - lo;
  if (layer.op == Op::kInt8Conv) {
    const uint32_t k = static_cast<uint32_t>(layer.arg0);
    r.runs = layer.in_c * k;
    r.run_bytes = k;
    r.unit_bytes = layer.in_c * k * k;
  } else if (layer.op == Op::kBnnDense || layer.op == Op::kBnnDenseScores) {
    r.runs = CeilDiv32(layer.n_in, 64);
    r.run_bytes = 8;
    r.unit_bytes = 8 * r.runs;
  } else {
    r.runs = CeilDiv32(layer.n_in, 8);
    r.run_bytes = 8;
    r.unit_bytes = layer.n_in;
  }
  r.first_byte = lo * r.unit_bytes;
  return r;
}

// DDR words the weights of a tile span.
inline uint32_t RunWords(const WeightRuns& r) {
  const uint32_t end = r.first_byte + r.units * r.unit_bytes;
  return (end - 1) / 8 - r.first_byte / 8 + 1;
}

// The reader: RunWords() words from word `first_word` of the blob, one burst, into `words`.
template <typename Port>
void ReadWeightWords(const Port& weights, uint32_t first_word, uint32_t count,
                     Stream<uint64_t>& words, WeightsChecksum& sum, Clock& clock) {
  clock.Add(kMemLatencyCycles);
Words:
  for (uint32_t i = 0; i < kMaxLayerWeightWords; ++i) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 16384
    if (i >= count) break;
    clock.Tick(1);
    const uint64_t word = PortRead(weights, first_word + i);
    sum.AddWord(word);
    words.write(word);
  }
  clock.Add(kDepthLoad);
}

// The aligner: one store word per cycle, the runs of unit u (local, 0 .. units) in the layout
// of plan.h.
template <typename Config>
void AlignWeightWords(const LayerDesc& layer, const WeightRuns& r, uint32_t store_row,
                      Stream<uint64_t>& words, uint64_t store[Config::kStoreRows][Config::kLanes],
                      Clock& clock) {
  constexpr uint32_t kPairRowsPerStoreRow = Config::kLanes / Config::kConvChannels;
  const bool conv = layer.op == Op::kInt8Conv;
  const uint32_t pair_rows = CeilDiv32(r.runs, kPairRowsPerStoreRow);
  const uint32_t total = r.units * r.runs;
  // The DDR words the aligner holds: w0 = word top - 1, w1 = word top (top counts from the
  // first word of the tile, which the prologue takes).
  uint64_t w0 = 0;
  uint64_t w1 = words.read();
  clock.Tick(1);
  uint32_t top = r.first_byte / 8;
  uint32_t pos = r.first_byte;  // byte of the current run
  uint32_t unit_end = r.first_byte + r.unit_bytes;
  uint32_t unit = 0, run = 0;
  // II = 1: one FIFO read at most, one store write (one bank, by the unit's lane) per cycle.
Runs:
  for (uint32_t j = 0; j < kMaxLayerWeightWords * 8; ++j) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 16384
    if (j >= total) break;
    clock.Tick(1);
    const uint32_t len = pos + r.run_bytes <= unit_end ? r.run_bytes : unit_end - pos;
    if ((pos + len - 1) / 8 > top) {
      w0 = w1;
      w1 = words.read();
      ++top;
    }
    // Bytes pos .. pos + len - 1 from the window w1:w0, which starts at byte 8 (top - 1).
    const uint32_t shift = pos - 8 * (top - 1);  // 0 .. 15
    uint64_t value = shift == 0 ? w0 : shift < 8 ? (w0 >> (8 * shift)) | (w1 << (64 - 8 * shift))
                                    : w1 >> (8 * (shift - 8));
    if (len < 8) value &= (uint64_t{1} << (8 * len)) - 1;
    uint32_t bank, row;
    if (conv) {
      bank = 2 * (run % kPairRowsPerStoreRow) + unit % Config::kConvChannels;
      row = store_row + unit / Config::kConvChannels * pair_rows + run / kPairRowsPerStoreRow;
    } else {
      bank = unit % Config::kLanes;
      row = store_row + unit / Config::kLanes * r.runs + run;
    }
  Banks:
    for (uint32_t b = 0; b < Config::kLanes; ++b) {
#pragma HLS UNROLL
      if (b == bank) store[row][b] = value;
    }
    pos += len;
    if (++run == r.runs) {
      run = 0;
      ++unit;
      unit_end += r.unit_bytes;
    }
  }
  clock.Add(kDepthAlign);
}

// Params entries [first, first + n) of a params blob starting at word `blob_word` into params
// rows from `param_row` (entry first + i in bank i % kDrainLanes), one burst, two per cycle.
template <typename Config, typename Port, typename T>
void LoadParamRange(const Port& weights, uint32_t blob_word, uint32_t first, uint32_t n,
                    uint32_t param_row, T params[Config::kDrainLanes][Config::kParamRows],
                    WeightsChecksum& sum, Clock& clock) {
  const uint32_t first_word = first / 2;
  const uint32_t words = (first + n - 1) / 2 - first_word + 1;
  clock.Add(kMemLatencyCycles);
  // II = 1: one DDR read, two writes to two different banks (consecutive entries).
Words:
  for (uint32_t w = 0; w < kMaxFeatures; ++w) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 2048
    if (w >= words) break;
    clock.Tick(1);
    const uint64_t word = PortRead(weights, blob_word + first_word + w);
  Halves:
    for (uint32_t h = 0; h < 2; ++h) {
#pragma HLS UNROLL
      const uint32_t entry = 2 * (first_word + w) + h;
      if (entry >= first && entry < first + n) {
        const int32_t value = static_cast<int32_t>(static_cast<uint32_t>(word >> (32 * h)));
        sum.AddParam(value);
        const uint32_t i = entry - first;
      Banks:
        for (uint32_t b = 0; b < Config::kDrainLanes; ++b) {
#pragma HLS UNROLL
          if (b == i % Config::kDrainLanes) {
            params[b][param_row + i / Config::kDrainLanes] = static_cast<T>(value);
          }
        }
      }
    }
  }
  clock.Add(kDepthParams);
}

// The dataflow region of the reader and the aligner; each counts its own cycles.
template <typename Config, typename Port>
void LoadWeightRuns(const Port& weights, const LayerDesc& layer, const WeightRuns& r,
                    uint32_t store_row, uint64_t store[Config::kStoreRows][Config::kLanes],
                    WeightsChecksum& sum, Clock& reader, Clock& aligner) {
#pragma HLS DATAFLOW
  Stream<uint64_t> words;
#pragma HLS STREAM variable = words depth = 4
  ReadWeightWords(weights, layer.weights_offset / 8 + r.first_byte / 8, RunWords(r), words, sum,
                  reader);
  AlignWeightWords<Config>(layer, r, store_row, words, store, aligner);
}

// The weights and params of output units [lo, hi) of `layer` into the store at `store_row` and
// `param_row`; `sum` takes every word and param read (WeightsChecksum's order when lo = 0 and
// hi = all units).
template <typename Config, typename Port>
void LoadLayer(const Port& weights, const LayerDesc& layer, uint32_t lo, uint32_t hi,
               uint32_t store_row, uint32_t param_row,
               uint64_t store[Config::kStoreRows][Config::kLanes],
               int32_t bias[Config::kDrainLanes][Config::kParamRows],
               int32_t multiplier[Config::kDrainLanes][Config::kParamRows],
               uint8_t shift[Config::kDrainLanes][Config::kParamRows], WeightsChecksum& sum,
               Clock& clock) {
  const WeightRuns r = RunsOf(layer, lo, hi);
  Clock reader, aligner;
  LoadWeightRuns<Config>(weights, layer, r, store_row, store, sum, reader, aligner);
  // The aligner starts when the reader's first word arrives and then never waits for it.
  const uint64_t aligned = kMemLatencyCycles + kDepthLoad + aligner.cycles();
  clock.Add(reader.cycles() > aligned ? reader.cycles() : aligned);
  const uint32_t units = Units(layer);
  const uint32_t blob_word = layer.params_offset / 8;
  const uint32_t n = hi - lo;
  LoadParamRange<Config>(weights, blob_word, lo, n, param_row, bias, sum, clock);
  if (layer.op == Op::kInt8Dense || layer.op == Op::kInt8Conv) {
    LoadParamRange<Config>(weights, blob_word, units + lo, n, param_row, multiplier, sum, clock);
    LoadParamRange<Config>(weights, blob_word, 2 * units + lo, n, param_row, shift, sum, clock);
  }
}

}  // namespace engine
}  // namespace pynq

#endif  // PYNQ_OVERLAYS_NN_ENGINE_WEIGHT_LOADER_H_
