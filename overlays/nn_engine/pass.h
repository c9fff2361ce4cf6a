// One pass of a RUN over all images of the batch: a dataflow region of three processes joined
// by FIFOs of 128-bit entries, each looping over the images, so that image i + 1's DDR reads,
// image i's compute and image i - 1's DDR writes overlap:
//   input:   reads each image (uint8 pixels, binarized or quantized on the way in, INPUT_BINARIZE
//            and INPUT_QUANTIZE) or each image's activations from scratch, one burst for the
//            whole batch, kAxiWords words per cycle;
//   compute: copies an image into its activation buffer, runs the pass's layers on chip against
//            the store, and hands the result on;
//   output:  writes each image's scores (one burst for the batch, summing the checksum) or its
//            share of the activations to scratch (a tile: one burst per image).
//
//   PassArgs pass = ...;   // nn_engine.h fills it from the plan
//   RunPass<Config>(src, dst, layers, pass, store..., checksum, clock);
//
// The region's cycles are DataflowMakespan() of the three processes' per-image cycles.
#ifndef PYNQ_OVERLAYS_NN_ENGINE_PASS_H_
#define PYNQ_OVERLAYS_NN_ENGINE_PASS_H_

#include <cstdint>

#include "overlays/nn_engine/abi/arith.h"
#include "overlays/nn_engine/abi/limits.h"
#include "overlays/nn_engine/abi/memory_layout.h"
#include "overlays/nn_engine/act_buffers.h"
#include "overlays/nn_engine/bnn_dense.h"
#include "overlays/nn_engine/engine_config.h"
#include "overlays/nn_engine/hls_compat.h"
#include "overlays/nn_engine/int8_conv.h"
#include "overlays/nn_engine/int8_dense.h"
#include "overlays/nn_engine/maxpool.h"
#include "overlays/nn_engine/plan.h"
#include "overlays/nn_engine/program.h"

namespace pynq {
namespace engine {

// What the input process makes of a DDR word.
enum class InputMode : uint32_t {
  kBinarize,  // 8 pixels -> 8 bits, pixel >= threshold (INPUT_BINARIZE)
  kQuantize,  // 8 pixels -> 8 int8, QuantizePixel (INPUT_QUANTIZE)
  kRaw,       // activations from scratch, as they are
};

struct PassArgs {
  uint32_t batch;
  // Input: image i's words start at src word in_word + i * in_stride; the first in_data of them
  // hold the image, handed on as in_entries entries (the rest is stride padding).
  InputMode in_mode;
  uint32_t in_word;
  uint32_t in_stride;
  uint32_t in_data;
  uint32_t in_entries;
  uint32_t in_pixels;  // kBinarize: pixels; bits past it are 0
  int32_t in_arg0;     // threshold, or the quantizer's multiplier
  int32_t in_arg1;     // the quantizer's shift
  // Compute: layers [first, last] (the input op excluded) on chip; layer `tiled` computes output
  // units [lo, hi), the others all of theirs; the first layer with weights has its weights at
  // store row store_row and params row param_row, each later one right after the one before.
  uint32_t first;
  uint32_t last;
  uint32_t tiled;
  uint32_t lo;
  uint32_t hi;
  uint32_t store_row;
  uint32_t param_row;
  uint32_t out_entries;
  uint32_t out_bytes;  // meaningful bytes of the out_entries entries; the rest is zeroed
  // Output: image i's span starts at dst word out_word + i * out_stride and is out_words words.
  // With out_whole the span is the whole stride (zero padding after the data), so the batch is
  // one run of consecutive words; otherwise a tile's share, one burst per image.
  uint32_t out_word;
  uint32_t out_stride;
  uint32_t out_words;
  bool out_whole;
  bool out_checksum;  // the output is every score of the image: add them to the checksum
  uint32_t classes;
};

// Entries of each of a pass's FIFOs: a whole image, kMaxFeatures int8 or kMaxClasses scores.
constexpr uint32_t kPassFifoEntries = kMaxFeatures / 16;
static_assert(kMaxClasses * 4 / 16 <= kPassFifoEntries, "a row of scores fits a FIFO");

// Entries one image occupies: ceil(bytes / 16).
inline uint32_t EntriesFor(uint32_t bytes) { return CeilDiv32(bytes, 16); }

// --- Input ----------------------------------------------------------------------------------

template <typename Config, typename Port>
void InputProcess(const Port& src, const PassArgs& pass, Stream<Entry>& to_compute,
                  Clock& clock) {
  constexpr uint32_t kAxi = Config::kAxiWords;
  // Words making one entry: 16 pixel words (binarize: 8 bits each), else 2.
  const uint32_t per_entry = pass.in_mode == InputMode::kBinarize ? 16 : 2;
  const uint32_t cycles_per_image = pass.in_stride / kAxi;
  const uint32_t total = pass.batch * cycles_per_image;
  Entry entry = {0, 0};
  uint32_t word_in_image = 0, image = 0;
  clock.Add(kMemLatencyCycles);
  // II = 1: kAxiWords consecutive words per cycle (one beat of the port), at most one entry
  // written (an entry spans per_entry >= 2 >= kAxiWords words and starts at a multiple of it).
Words:
  for (uint32_t c = 0; c < kMaxBatch * (kMaxFeatures / 8 + 8); ++c) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 8 max = 106496
    if (c >= total) break;
    clock.Tick(1);
    bool push = false;
  Beat:
    for (uint32_t a = 0; a < kAxi; ++a) {
#pragma HLS UNROLL
      const uint32_t w = word_in_image + a;
      const uint64_t word = PortRead(src, pass.in_word + image * pass.in_stride + w);
      if (w < pass.in_data) {
        const uint32_t slot = w % per_entry;  // this word's place in the entry
        if (pass.in_mode == InputMode::kBinarize) {
          uint64_t bits = 0;
        Pixels:
          for (uint32_t b = 0; b < 8; ++b) {
#pragma HLS UNROLL
            const uint32_t pixel = static_cast<uint32_t>((word >> (8 * b)) & 0xFFu);
            const uint32_t inside = w * 8 + b < pass.in_pixels ? 1u : 0u;
            const uint32_t set = pixel >= static_cast<uint32_t>(pass.in_arg0) ? 1u : 0u;
            bits |= static_cast<uint64_t>(inside & set) << b;
          }
          // 8 words fill one 64-bit half of the entry: word slot s gives bits 8 (s % 8).
          if (slot < 8) {
            entry.lo |= bits << (8 * slot);
          } else {
            entry.hi |= bits << (8 * (slot - 8));
          }
        } else {
          uint64_t value = word;
          if (pass.in_mode == InputMode::kQuantize) {
            value = 0;
          Bytes:
            for (uint32_t b = 0; b < 8; ++b) {
#pragma HLS UNROLL
              const uint8_t pixel = static_cast<uint8_t>(word >> (8 * b));
              const int32_t q = QuantizePixel(pixel, pass.in_arg0, static_cast<uint32_t>(pass.in_arg1));
              value |= static_cast<uint64_t>(static_cast<uint8_t>(q)) << (8 * b);
            }
          }
          if (slot == 0) {
            entry.lo = value;
          } else {
            entry.hi = value;
          }
        }
        if (slot + 1 == per_entry || w + 1 == pass.in_data) push = true;
      }
    }
    if (push) {
      to_compute.write(entry);
      entry.lo = 0;
      entry.hi = 0;
    }
    word_in_image += kAxi;
    if (word_in_image == pass.in_stride) {
      word_in_image = 0;
      ++image;
      clock.EndImage();
    }
  }
  clock.Add(kDepthInput);
}

// --- Compute --------------------------------------------------------------------------------

template <typename Config>
void ComputeProcess(const LayerDesc layers[kMaxLayers], const PassArgs& pass,
                    const uint64_t store[Config::kStoreRows][Config::kLanes],
                    const int32_t bias[Config::kDrainLanes][Config::kParamRows],
                    const int32_t multiplier[Config::kDrainLanes][Config::kParamRows],
                    const uint8_t shift[Config::kDrainLanes][Config::kParamRows],
                    Stream<Entry>& from_input, Stream<Entry>& to_output, Clock& clock) {
  // Two ping-pong halves in separate memories (dim 1), 16 int8 banks (dim 2) or 2 bit banks:
  // a layer reads one half and writes the other, each bank at most once per cycle
  // (act_buffers.h).
  int8_t act[2][kActRows][kActBanks];
#pragma HLS ARRAY_PARTITION variable = act dim = 1 complete
#pragma HLS ARRAY_PARTITION variable = act dim = 3 complete
#pragma HLS BIND_STORAGE variable = act type = ram_s2p impl = lutram
  uint64_t bits[2][kBitRows][kBitBanks];
#pragma HLS ARRAY_PARTITION variable = bits dim = 1 complete
#pragma HLS ARRAY_PARTITION variable = bits dim = 3 complete
#pragma HLS BIND_STORAGE variable = bits type = ram_s2p impl = lutram
  int32_t scores[kScoreRows][kScoreBanks];
#pragma HLS ARRAY_PARTITION variable = scores dim = 2 complete
  const bool input_bits = InputKind(layers[pass.first].op) == TensorKind::kBits;
Images:
  for (uint32_t image = 0; image < kMaxBatch; ++image) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 1024
    if (image >= pass.batch) break;
    // II = 1: one FIFO read, one 16-byte (all banks, aligned) or two-word (both bit banks) write.
  CopyIn:
    for (uint32_t e = 0; e < kMaxFeatures / 16; ++e) {
#pragma HLS PIPELINE II = 1
      if (e >= pass.in_entries) break;
      clock.Tick(1);
      const Entry entry = from_input.read();
      if (input_bits) {
        WriteBits(bits[0], 2 * e, entry.lo);
        WriteBits(bits[0], 2 * e + 1, entry.hi);
      } else {
        WriteRun(act[0], 16 * e, entry, kActBanks);
      }
    }
    clock.Add(kDepthCopy);

    uint32_t current = 0;   // the half holding the current tensor
    uint32_t channels = 0;  // of the current int8 tensor, once a convolution made it
    uint32_t store_row = pass.store_row;
    uint32_t param_row = pass.param_row;
  Layers:
    for (uint32_t l = 0; l < kMaxLayers; ++l) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 16
      if (l < pass.first) continue;
      if (l > pass.last) break;
      clock.Add(kLayerOverheadCycles);
      const LayerDesc& layer = layers[l];
      const uint32_t lo = l == pass.tiled ? pass.lo : 0;
      const uint32_t hi = l == pass.tiled ? pass.hi : HasWeights(layer.op) ? Units(layer) : 0;
      if (layer.op == Op::kBnnDense || layer.op == Op::kBnnDenseScores) {
        const DenseArgs args = {layer.n_in, hi - lo, store_row, param_row,
                                layer.op == Op::kBnnDenseScores, false};
        BnnDense<Config>(args, store, bias, bits[current], bits[1 - current], scores, clock);
      } else if (layer.op == Op::kInt8Dense || layer.op == Op::kInt8DenseScores) {
        const DenseArgs args = {layer.n_in, hi - lo, store_row, param_row,
                                layer.op == Op::kInt8DenseScores, layer.arg1 != 0};
        Int8Dense<Config>(args, store, bias, multiplier, shift, act[current], act[1 - current],
                          scores, clock);
      } else if (layer.op == Op::kInt8Conv) {
        const ConvArgs args = {layer.in_c, layer.in_h, layer.in_w,
                               static_cast<uint32_t>(layer.arg0), hi - lo, store_row, param_row,
                               layer.arg1 != 0};
        Int8Conv<Config>(args, store, bias, multiplier, shift, act[current], act[1 - current],
                         clock);
        channels = hi - lo;
      } else {
        // MAXPOOL: after a convolution of a tile, of the tile's channels.
        const MaxPoolArgs args = {channels != 0 ? channels : layer.in_c, layer.in_h, layer.in_w,
                                  static_cast<uint32_t>(layer.arg0)};
        MaxPool(args, act[current], act[1 - current], clock);
      }
      current = 1 - current;
      if (HasWeights(layer.op)) {
        store_row += StoreRowsFor<Config>(layer, hi - lo);
        param_row += ParamRowsFor<Config>(hi - lo);
      }
    }

    const TensorKind kind = OutputKind(layers[pass.last].op);
    // II = 1: one 16-byte aligned read (all banks), two bit words (both banks) or four scores
    // (all score banks), one FIFO write.
  Emit:
    for (uint32_t e = 0; e < kMaxFeatures / 16; ++e) {
#pragma HLS PIPELINE II = 1
      if (e >= pass.out_entries) break;
      clock.Tick(1);
      Entry entry = {0, 0};
      if (kind == TensorKind::kBits) {
        entry.lo = ReadBits(bits[current], 2 * e);
        entry.hi = ReadBits(bits[current], 2 * e + 1);
      } else if (kind == TensorKind::kScores) {
        entry.lo = static_cast<uint32_t>(scores[e][0]) |
                   static_cast<uint64_t>(static_cast<uint32_t>(scores[e][1])) << 32;
        entry.hi = static_cast<uint32_t>(scores[e][2]) |
                   static_cast<uint64_t>(static_cast<uint32_t>(scores[e][3])) << 32;
      } else {
        entry = ReadWindow(act[current], 16 * e);
      }
      // Bytes past the tensor are zeroed, so what reaches DDR does not depend on stale buffers.
      const uint32_t valid = pass.out_bytes - 16 * e;  // > 0
      if (valid < 8) {
        entry.lo &= (uint64_t{1} << (8 * valid)) - 1;
        entry.hi = 0;
      } else if (valid < 16) {
        entry.hi &= valid == 8 ? 0 : (uint64_t{1} << (8 * (valid - 8))) - 1;
      }
      to_output.write(entry);
    }
    clock.Add(kDepthCopy);
    clock.EndImage();
  }
}

// --- Output ---------------------------------------------------------------------------------

template <typename Config, typename Port>
void OutputProcess(const Port& dst, const PassArgs& pass, Stream<Entry>& from_compute,
                   Fletcher32& checksum, Clock& clock) {
  constexpr uint32_t kAxi = Config::kAxiWords;
  const uint32_t span = pass.out_whole ? pass.out_stride : pass.out_words;
  const uint32_t cycles_per_image = CeilDiv32(span, kAxi);
  const uint32_t data_words = 2 * pass.out_entries;  // words the entries fill
  const uint32_t total = pass.batch * cycles_per_image;
  Entry entry = {0, 0};
  uint32_t word_in_image = 0, image = 0;
  // II = 1: kAxiWords consecutive words per cycle, at most one entry read (two words each),
  // and up to 2 kAxiWords chained 32-bit adds for the checksum.
Words:
  for (uint32_t c = 0; c < kMaxBatch * (kMaxClasses / 2 + 8); ++c) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 8 max = 532480
    if (c >= total) break;
    clock.Tick(1);
    if (!pass.out_whole && word_in_image == 0) clock.Add(kMemLatencyCycles);
  Beat:
    for (uint32_t a = 0; a < kAxi; ++a) {
#pragma HLS UNROLL
      const uint32_t w = word_in_image + a;
      if (w < span) {
        if (w < data_words && w % 2 == 0) entry = from_compute.read();
        const uint64_t word = w >= data_words ? 0 : w % 2 == 0 ? entry.lo : entry.hi;
        if (pass.out_checksum) {
        Scores:
          for (uint32_t h = 0; h < 2; ++h) {
#pragma HLS UNROLL
            if (2 * w + h < pass.classes) checksum.Add(static_cast<uint32_t>(word >> (32 * h)));
          }
        }
        PortWrite(dst, pass.out_word + image * pass.out_stride + w, word);
      }
    }
    word_in_image += kAxi;
    if (word_in_image >= span) {
      word_in_image = 0;
      ++image;
      clock.EndImage();
    }
  }
  // The write responses of the last burst.
  if (pass.out_whole) clock.Add(kMemLatencyCycles);
  clock.Add(kDepthOutput);
}

// The dataflow region; `in_clocks` gets the three processes' cycles.
template <typename Config, typename Port>
void PassRegion(const Port& src, const Port& dst, const LayerDesc layers[kMaxLayers],
                const PassArgs& pass, const uint64_t store[Config::kStoreRows][Config::kLanes],
                const int32_t bias[Config::kDrainLanes][Config::kParamRows],
                const int32_t multiplier[Config::kDrainLanes][Config::kParamRows],
                const uint8_t shift[Config::kDrainLanes][Config::kParamRows],
                Fletcher32& checksum, Clock clocks[3]) {
#pragma HLS DATAFLOW
  Stream<Entry> to_compute;
  Stream<Entry> to_output;
  // A whole image (kPassFifoEntries, 256) fits each FIFO, so the input process can read image
  // i + 1 while compute works on image i.
#pragma HLS STREAM variable = to_compute depth = 256
#pragma HLS STREAM variable = to_output depth = 256
  InputProcess<Config>(src, pass, to_compute, clocks[0]);
  ComputeProcess<Config>(layers, pass, store, bias, multiplier, shift, to_compute, to_output,
                         clocks[1]);
  OutputProcess<Config>(dst, pass, to_output, checksum, clocks[2]);
}

template <typename Config, typename Port>
void RunPass(const Port& src, const Port& dst, const LayerDesc layers[kMaxLayers],
             const PassArgs& pass, const uint64_t store[Config::kStoreRows][Config::kLanes],
             const int32_t bias[Config::kDrainLanes][Config::kParamRows],
             const int32_t multiplier[Config::kDrainLanes][Config::kParamRows],
             const uint8_t shift[Config::kDrainLanes][Config::kParamRows], Fletcher32& checksum,
             Clock& clock) {
  Clock clocks[3];
  PassRegion<Config>(src, dst, layers, pass, store, bias, multiplier, shift, checksum, clocks);
  clock.Add(DataflowMakespan(clocks, 3, pass.batch));
}

}  // namespace engine
}  // namespace pynq

#endif  // PYNQ_OVERLAYS_NN_ENGINE_PASS_H_
