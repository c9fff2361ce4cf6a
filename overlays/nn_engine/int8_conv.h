// INT8_CONV (op 7): a valid (no padding), stride-1 K x K convolution of a C x H x W int8 tensor
// into OC channels of (H-K+1) x (W-K+1) (accel/model/MODEL_FORMAT.md "Int8 ops"):
//   acc = bias_o + sum_{c,ky,kx} w[o][c][ky][kx] * x[c][y+ky][x+kx];  out = Requantize(acc, ...)
// Each output channel's kernel (C*K*K int8, weights [OC][C][K][K]) is streamed from DDR once, one
// 64-bit word per cycle, into an on-chip buffer, then reused for every output pixel; the taps of
// one pixel are taken kConvLanes per cycle from the on-chip input tensor.
#ifndef PYNQ_OVERLAYS_NN_ENGINE_INT8_CONV_H_
#define PYNQ_OVERLAYS_NN_ENGINE_INT8_CONV_H_

#include <cstdint>

#include "overlays/nn_engine/engine_config.h"
#include "overlays/nn_engine/int8_arith.h"

namespace pynq {
namespace engine {

// Largest kernel side of ABI v1.
constexpr uint32_t kMaxConvK = 7;

// The layer's arguments, from its descriptor; ReadProgram() checked that k <= h, k <= w,
// c * h * w <= kMaxFeatures and oc * (h-k+1) * (w-k+1) <= kMaxFeatures.
struct Int8ConvArgs {
  uint32_t c, h, w;      // input
  uint32_t oc;           // output channels
  uint32_t k;            // arg[0], 1..kMaxConvK
  uint32_t kernels_word; // the weights blob, in words from the start of WEIGHTS
  uint32_t params_word;  // the params blob
  bool relu;             // arg[1]
};

// \tparam Config an EngineConfig (kConvLanes taps per cycle)
// \param rq scratch for the layer's requantization params
template <typename Config, typename Port>
void Int8Conv(const Port& weights, const Int8ConvArgs& args, const int8_t in[kMaxFeatures],
              Requantizer& rq, int8_t out[kMaxFeatures]) {
  const uint32_t taps = args.c * args.k * args.k;
  const uint32_t oh = args.h - args.k + 1;
  const uint32_t ow = args.w - args.k + 1;
  LoadRequantizer(weights, args.params_word, args.oc, args.relu, rq);
  int8_t kernel[kMaxFeatures];
#pragma HLS ARRAY_PARTITION variable = kernel cyclic factor = Config::kConvLanes
  // The input offset of each tap, (c * h + ky) * w + kx, computed once per layer.
  uint32_t tap_offset[kMaxFeatures];
#pragma HLS ARRAY_PARTITION variable = tap_offset cyclic factor = Config::kConvLanes
TapOffsets:
  for (uint32_t t = 0; t < kMaxFeatures; ++t) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 25 max = 4096
    if (t >= taps) break;
    const uint32_t kx = t % args.k;
    const uint32_t ky = t / args.k % args.k;
    const uint32_t c = t / (args.k * args.k);
    tap_offset[t] = (c * args.h + ky) * args.w + kx;
  }
Channels:
  for (uint32_t o = 0; o < kMaxFeatures; ++o) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 64
    if (o >= args.oc) break;
    const uint32_t first_byte = o * taps;
    const uint32_t first_word = first_byte / 8;
    const uint32_t words = (first_byte + taps + 7) / 8 - first_word;
  LoadKernel:
    for (uint32_t w = 0; w < kMaxFeatures / 8 + 1; ++w) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 4 max = 513
      if (w >= words) break;
      const uint64_t word = weights.Read(args.kernels_word + first_word + w);
    KernelLanes:
      for (uint32_t b = 0; b < 8; ++b) {
#pragma HLS UNROLL
        const uint32_t byte = (first_word + w) * 8 + b;
        if (byte >= first_byte && byte < first_byte + taps) {
          kernel[byte - first_byte] = static_cast<int8_t>(ByteOf(word, b));
        }
      }
    }
  Pixels:
    for (uint32_t p = 0; p < kMaxFeatures; ++p) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 576
      if (p >= oh * ow) break;
      // invariant: output pixel p = y * ow + x; tap t reads in[(y * w + x) + tap_offset[t]]
      const uint32_t origin = (p / ow) * args.w + p % ow;
      int32_t dot = 0;
    TapSteps:
      for (uint32_t step = 0; step < kMaxFeatures / Config::kConvLanes; ++step) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 4 max = 512
        if (step * Config::kConvLanes >= taps) break;
      TapLanes:
        for (uint32_t lane = 0; lane < Config::kConvLanes; ++lane) {
#pragma HLS UNROLL
          const uint32_t t = step * Config::kConvLanes + lane;
          if (t < taps) dot += int32_t{kernel[t]} * int32_t{in[origin + tap_offset[t]]};
        }
      }
      const int32_t acc = static_cast<int32_t>(int64_t{rq.bias[o]} + dot);
      out[o * oh * ow + p] =
          static_cast<int8_t>(Requantize(acc, rq.multiplier[o], rq.shift[o], rq.lo));
    }
  }
}

}  // namespace engine
}  // namespace pynq

#endif  // PYNQ_OVERLAYS_NN_ENGINE_INT8_CONV_H_
