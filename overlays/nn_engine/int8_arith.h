// The integer arithmetic every int8 layer of the engine shares (accel/model/MODEL_FORMAT.md "Int8 ops"):
// RoundShift and Requantize with 64-bit intermediates, exactly as the CPU backend computes them,
// and the read of int8 weight bytes streamed from DDR as 64-bit words.
//
//   const int8_t y = Requantize(acc, multiplier, shift, /*lo=*/0);  // ReLU layer
//   const int32_t dot = StreamDot<Config>(weights, blob_word, first_byte, n, x);
//
// Pure functions: no state, no dynamic memory, every loop statically bounded.
#ifndef PYNQ_OVERLAYS_NN_ENGINE_INT8_ARITH_H_
#define PYNQ_OVERLAYS_NN_ENGINE_INT8_ARITH_H_

#include <cstdint>

#include "accel/fpga/engine_regs.h"
#include "overlays/nn_engine/engine_config.h"

namespace pynq {
namespace engine {

constexpr int32_t kInt8Min = -128;
constexpr int32_t kInt8Max = 127;

// x / 2^n rounded half up; `>>` of a negative int64 is the arithmetic (floor) shift GCC and Vitis
// HLS both implement. The loader keeps n in 0..62; the mask keeps a corrupt program from asking
// for an undefined shift.
inline int64_t RoundShift(int64_t x, uint32_t n) {
  const uint32_t s = n & 63u;
  const int64_t half = s == 0 ? 0 : int64_t{1} << (s - 1);
  return (x + half) >> s;
}

// clamp(RoundShift(int64(acc) * multiplier, shift), lo, 127), lo = 0 (ReLU) or -128.
inline int8_t Requantize(int32_t acc, int32_t multiplier, uint32_t shift, int32_t lo) {
  const int64_t scaled = RoundShift(int64_t{acc} * multiplier, shift);
  const int64_t floored = scaled < lo ? int64_t{lo} : scaled;
  return static_cast<int8_t>(floored > kInt8Max ? int64_t{kInt8Max} : floored);
}

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
  rq.lo = relu ? 0 : kInt8Min;
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
