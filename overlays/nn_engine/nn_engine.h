// The network-agnostic engine: executes the layer program of a model file from DDR on a batch of
// images, streaming each layer's weights from DDR, and writes int32 scores back to DDR. A new
// model needs no re-synthesis, only its PROGRAM and WEIGHTS sections in DDR.
//
// Two entry points, one body:
//   - nn_engine(): the synthesizable top function, with m_axi ports and the s_axilite register
//     map of overlays/nn_engine/abi/registers.h. C-simulation tests call it with host pointers.
//   - RunEngine<Config>(ports...): the body, over any memory "port" type with
//       uint64_t Read(uint32_t word) const;   void Write(uint32_t word, uint64_t value);
//     The virtual board (accel/fpga/devices/sim/sim_device.h) runs it over address-checked DDR
//     windows.
//
//   EngineOutputs out;
//   RunEngine<DefaultEngineConfig>(program, weights, input, output, batch, kCommandRun, tag, out);
//   if (StatusCode(out.status) != kStatusOk) ...
//
// No dynamic memory, no recursion, every loop labelled and statically bounded.
#ifndef PYNQ_OVERLAYS_NN_ENGINE_NN_ENGINE_H_
#define PYNQ_OVERLAYS_NN_ENGINE_NN_ENGINE_H_

#include <cstdint>

#include "overlays/nn_engine/abi/memory_layout.h"
#include "overlays/nn_engine/abi/registers.h"
#include "overlays/nn_engine/bnn_dense.h"
#include "overlays/nn_engine/engine_config.h"
#include "overlays/nn_engine/input_binarize.h"
#include "overlays/nn_engine/input_quantize.h"
#include "overlays/nn_engine/int8_arith.h"
#include "overlays/nn_engine/int8_conv.h"
#include "overlays/nn_engine/int8_dense.h"
#include "overlays/nn_engine/maxpool.h"
#include "overlays/nn_engine/program.h"

namespace pynq {
namespace engine {

// The output registers of one call.
struct EngineOutputs {
  uint32_t status = 0;
  uint32_t checksum = 0;
  uint32_t id = 0;
  uint32_t version = 0;
  uint32_t caps = 0;
};

// A memory port over a host pointer: what an m_axi pointer argument is in C simulation.
class PointerPort {
 public:
  explicit PointerPort(uint64_t* base) : base_(base) {}
  uint64_t Read(uint32_t word) const { return base_[word]; }
  void Write(uint32_t word, uint64_t value) const { base_[word] = value; }

 private:
  uint64_t* base_;
};

template <typename Config, typename Port>
void RunEngine(const Port& program, const Port& weights, const Port& input, const Port& output,
               uint32_t batch, uint32_t command, uint32_t tag, EngineOutputs& out) {
  out.id = kEngineId;
  out.version = kEngineVersion;
  out.caps = Caps(kImplementedOps, Config::kPe, Config::kSimd);
  out.checksum = 0;
  out.status = MakeStatus(kStatusOk, 0, 0);
  if (command == kCommandIdentify) return;
  if (command != kCommandCheck && command != kCommandRun) {
    out.status = MakeStatus(kStatusBadCommand, 0, 0);
    return;
  }
  LayerDesc layers[kMaxLayers];
  uint32_t count = 0;
  out.status = ReadProgram<Config>(program, layers, count);
  if (StatusCode(out.status) != kStatusOk || command == kCommandCheck) return;
  if (batch < 1 || batch > kMaxBatch) {
    out.status = MakeStatus(kStatusBadBatch, 0, 0);
    return;
  }

  // Ping-pong activations (packed bits for the binarized ops, int8 for the others), the scores
  // of the last layer, and the requantization params of the int8 layer running.
  uint64_t act[2][Config::kMaxWords];
#pragma HLS ARRAY_PARTITION variable = act cyclic factor = Config::kSimd dim = 2
  int8_t act8[2][kMaxFeatures];
#pragma HLS ARRAY_PARTITION variable = act8 cyclic factor = Config::kConvLanes dim = 2
  Requantizer rq;
  int32_t scores[kMaxClasses];
  const uint32_t classes = layers[count - 1].n_out;
  const uint32_t input_stride_words = InputStride(layers[0].n_in) / 8;
  const uint32_t output_stride_words = OutputStride(classes) / 8;
  ScoresChecksum checksum(tag);

Images:
  for (uint32_t image = 0; image < kMaxBatch; ++image) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 1024
    if (image >= batch) break;
    uint32_t current = 0;
  Program:
    for (uint32_t l = 0; l < kMaxLayers; ++l) {
#pragma HLS LOOP_TRIPCOUNT min = 2 max = 16
      if (l >= count) break;
      const LayerDesc& layer = layers[l];
      const uint32_t weights_word = layer.weights_offset / 8;
      const uint32_t params_word = layer.params_offset / 8;
      if (layer.op == Op::kInputBinarize) {
        InputBinarize<Config>(input, image * input_stride_words, layer.n_in,
                              static_cast<uint32_t>(layer.arg0), act[current]);
      } else if (layer.op == Op::kInputQuantize) {
        const InputQuantizeArgs args = {layer.n_in, layer.arg0,
                                        static_cast<uint32_t>(layer.arg1)};
        InputQuantize(input, image * input_stride_words, args, act8[current]);
      } else if (layer.op == Op::kBnnDense || layer.op == Op::kBnnDenseScores) {
        BnnDense<Config>(weights, weights_word, params_word, layer.n_in, layer.n_out,
                         layer.op == Op::kBnnDenseScores, act[current], act[1 - current], scores);
        current = 1 - current;
      } else if (layer.op == Op::kInt8Dense || layer.op == Op::kInt8DenseScores) {
        const Int8DenseArgs args = {layer.n_in,   layer.n_out,     weights_word,
                                    params_word, layer.arg1 != 0, layer.op == Op::kInt8DenseScores};
        Int8Dense(weights, args, act8[current], rq, act8[1 - current], scores);
        current = 1 - current;
      } else if (layer.op == Op::kInt8Conv) {
        const Int8ConvArgs args = {layer.in_c,   layer.in_h,
                                   layer.in_w,   layer.out_c,
                                   static_cast<uint32_t>(layer.arg0), weights_word,
                                   params_word,  layer.arg1 != 0};
        Int8Conv<Config>(weights, args, act8[current], rq, act8[1 - current]);
        current = 1 - current;
      } else {
        const MaxPoolArgs args = {layer.in_c, layer.in_h, layer.in_w,
                                  static_cast<uint32_t>(layer.arg0)};
        MaxPool(args, act8[current], act8[1 - current]);
        current = 1 - current;
      }
    }
    const uint32_t row_word = image * output_stride_words;
  WriteScores:
    for (uint32_t w = 0; w < kMaxClasses / 2; ++w) {
#pragma HLS PIPELINE II = 1
      if (w * 2 >= classes) break;
      const uint32_t a = static_cast<uint32_t>(scores[2 * w]);
      const uint32_t b = 2 * w + 1 < classes ? static_cast<uint32_t>(scores[2 * w + 1]) : 0u;
      checksum.Add(scores[2 * w]);
      if (2 * w + 1 < classes) checksum.Add(scores[2 * w + 1]);
      output.Write(row_word + w, (static_cast<uint64_t>(b) << 32) | a);
    }
  }
  const uint32_t trailer_word = batch * output_stride_words;
  out.checksum = checksum.Value();
  output.Write(trailer_word, (static_cast<uint64_t>(batch) << 32) | tag);
  output.Write(trailer_word + 1, out.checksum);
Trailer:
  for (uint32_t w = 2; w < kTrailerBytes / 8; ++w) {
#pragma HLS PIPELINE II = 1
    output.Write(trailer_word + w, 0);
  }
}

}  // namespace engine
}  // namespace pynq

// The synthesizable top function. Pointers are DDR addresses set through the register map; the
// scalars are registers. Runs one command to completion per ap_start.
void nn_engine(uint64_t* program, uint64_t* weights, uint64_t* input, uint64_t* output,
               uint32_t batch, uint32_t command, uint32_t tag, uint32_t* status,
               uint32_t* checksum, uint32_t* id, uint32_t* version, uint32_t* caps);

#endif  // PYNQ_OVERLAYS_NN_ENGINE_NN_ENGINE_H_
