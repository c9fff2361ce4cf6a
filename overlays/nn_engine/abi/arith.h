// The integer arithmetic of the int8 ops (accel/model/MODEL_FORMAT.md "Int8 ops") that must give
// the same answer on every backend: the rounding shift, the requantization of an int32
// accumulator to int8, and the quantization of an input pixel. The CPU backend's kernels, the
// HLS engine and (in Python) models/reference.py compute exactly these; the golden tests compare
// them bit for bit.
//
//   const int32_t y = Requantize(acc, multiplier, shift, kReluLo);   // in kReluLo..kInt8Max
//   const int32_t q = QuantizePixel(pixel, multiplier, shift);       // in 0..kInt8Max
//
// Part of the engine's ABI (this folder): plain C++14, no dependencies, so Vitis HLS compiles it.
// Pure functions.
#ifndef PYNQ_OVERLAYS_NN_ENGINE_ABI_ARITH_H_
#define PYNQ_OVERLAYS_NN_ENGINE_ABI_ARITH_H_

#include <cstdint>

namespace pynq {
namespace engine {

constexpr int32_t kInt8Min = -128;
constexpr int32_t kInt8Max = 127;
// The clamp's lower bound of a requantization with ReLU (arg[1] = 1) and without.
constexpr int32_t kReluLo = 0;
constexpr int32_t kNoReluLo = kInt8Min;

// x / 2^n rounded half up (the floor of x / 2^n + 1/2). `>>` of a negative int64 is the
// arithmetic (floor) shift that C++20 defines and GCC and Vitis HLS implement in C++14 too. The
// loader keeps n in 0..62; the mask keeps a corrupt program that reaches the engine from asking
// for an undefined shift.
inline int64_t RoundShift(int64_t x, uint32_t n) {
  const uint32_t s = n & 63u;
  const int64_t half = s == 0 ? 0 : int64_t{1} << (s - 1);
  return (x + half) >> s;
}

// clamp(RoundShift(int64(acc) * multiplier, shift), lo, 127), lo = kReluLo or kNoReluLo.
// |acc| < 2^27 (the loader bounds every layer's inputs and biases) and multiplier < 2^31, so the
// product and the rounding term stay far inside int64.
inline int32_t Requantize(int32_t acc, int32_t multiplier, uint32_t shift, int32_t lo) {
  const int64_t scaled = RoundShift(int64_t{acc} * multiplier, shift);
  // Two selects rather than std::clamp, which GCC compiles to a branch for the lower bound: with
  // ReLU about half the outputs fall below it, in no pattern a predictor can learn.
  const int64_t floored = scaled < lo ? int64_t{lo} : scaled;
  return static_cast<int32_t>(floored > kInt8Max ? int64_t{kInt8Max} : floored);
}

// INPUT_QUANTIZE of one pixel: clamp(RoundShift(pixel * multiplier, shift), -128, 127) with
// multiplier in 1..2^16 and shift in 0..31. pixel * multiplier < 2^24 and the rounding term is at
// most 2^30, so the exact RoundShift fits in 32 bits (which vectorizes twice as wide as 64), and
// the result is never negative. As in RoundShift(), the mask only keeps a corrupt program
// defined.
inline int32_t QuantizePixel(uint8_t pixel, int32_t multiplier, uint32_t shift) {
  const uint32_t s = shift & 31u;
  const int32_t half = s == 0 ? 0 : int32_t{1} << (s - 1);
  const int32_t q = (int32_t{pixel} * multiplier + half) >> s;
  return q > kInt8Max ? kInt8Max : q;
}

}  // namespace engine
}  // namespace pynq

#endif  // PYNQ_OVERLAYS_NN_ENGINE_ABI_ARITH_H_
