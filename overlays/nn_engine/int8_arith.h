// What every int8 layer of the engine shares: reading int8 weight bytes and int32 params streamed
// from DDR as 64-bit words, the per-channel requantization params held on chip, and the streamed
// dot product. The arithmetic itself (RoundShift, Requantize) is the ABI's (abi/arith.h), the
// same code the CPU backend runs.
//
//   LoadRequantizer(weights, params_word, n_out, relu, rq);
//   const int32_t dot = StreamDot(weights, blob_word, first_byte, n, x);
//
// Pure functions: no state, no dynamic memory, every loop statically bounded.
#ifndef PYNQ_OVERLAYS_NN_ENGINE_INT8_ARITH_H_
#define PYNQ_OVERLAYS_NN_ENGINE_INT8_ARITH_H_

#include <cstdint>

#include "overlays/nn_engine/abi/arith.h"
#include "overlays/nn_engine/abi/limits.h"
#include "overlays/nn_engine/engine_config.h"

namespace pynq {
namespace engine {

// The int8 byte `byte` (0..7) of a 64-bit DDR word.
inline int32_t ByteOf(uint64_t word, uint32_t byte) {
  return static_cast<int32_t>(static_cast<int8_t>(static_cast<uint8_t>(word >> (8 * byte))));
}

// One i32 of a params array starting at word `first_word`: entry i is half i % 2 of word i / 2.
template <typename Port>
int32_t ParamAt(const Port& weights, uint32_t first_word, uint32_t i) {
  const uint64_t pair = weights.Read(first_word + i / 2);
  return static_cast<int32_t>(static_cast<uint32_t>(i % 2 == 0 ? pair : pair >> 32));
}

// The per-channel requantization params of an int8 layer (bias[], multiplier[], shift[] of n
// entries, back to back from word `params_word`), read once per layer into on-chip arrays.
struct Requantizer {
  int32_t bias[kMaxFeatures];
  int32_t multiplier[kMaxFeatures];
  uint32_t shift[kMaxFeatures];
  int32_t lo;  // 0 with ReLU, -128 without
};

// \param n    channels, 1..kMaxFeatures (checked by ReadProgram)
// \param relu the layer's arg[1]
template <typename Port>
void LoadRequantizer(const Port& weights, uint32_t params_word, uint32_t n, bool relu,
                     Requantizer& rq) {
  rq.lo = relu ? kReluLo : kNoReluLo;
  // The three arrays are consecutive i32 runs: entry i of array a is i32 number a * n + i.
LoadParams:
  for (uint32_t i = 0; i < kMaxFeatures; ++i) {
#pragma HLS PIPELINE II = 3
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 4096
    if (i >= n) break;
    rq.bias[i] = ParamAt(weights, params_word, i);
    rq.multiplier[i] = ParamAt(weights, params_word, n + i);
    rq.shift[i] = static_cast<uint32_t>(ParamAt(weights, params_word, 2 * n + i));
  }
}

// sum over t in 0..n of w[t] * x[t], where w[t] is the int8 at byte `first_byte + t` of the blob
// starting at word `blob_word`. The bytes are streamed one 64-bit word (8 weights, 8 MACs) per
// cycle; a run that does not start on a word boundary (a dense row of n_in % 8 != 0) reads the
// words it straddles and masks the bytes outside it. |sum| <= 4096 * 128 * 128 = 2^26.
template <typename Port>
int32_t StreamDot(const Port& weights, uint32_t blob_word, uint32_t first_byte, uint32_t n,
                  const int8_t x[kMaxFeatures]) {
  const uint32_t first_word = first_byte / 8;
  const uint32_t end_byte = first_byte + n;
  const uint32_t words = (end_byte + 7) / 8 - first_word;
  int32_t sum = 0;
Words:
  for (uint32_t w = 0; w < kMaxFeatures / 8 + 1; ++w) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 513
    if (w >= words) break;
    const uint64_t word = weights.Read(blob_word + first_word + w);
  Lanes:
    for (uint32_t b = 0; b < 8; ++b) {
#pragma HLS UNROLL
      // invariant: this lane holds blob byte (first_word + w) * 8 + b, tap t = that - first_byte
      const uint32_t byte = (first_word + w) * 8 + b;
      if (byte >= first_byte && byte < end_byte) sum += ByteOf(word, b) * x[byte - first_byte];
    }
  }
  return sum;
}

}  // namespace engine
}  // namespace pynq

#endif  // PYNQ_OVERLAYS_NN_ENGINE_INT8_ARITH_H_
