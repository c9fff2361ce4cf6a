// Int8 kernels of the CPU backend, the ops of MODEL_FORMAT.md "Int8 ops": activations are int8 in
// CHW order, weights int8, accumulators int32, and every requantization is
// Requantize(acc, M, n, lo) = clamp(RoundShift(int64(acc) * M, n), lo, 127).
//
//   int8::QuantizeInput(image, 784, 32639, 16, x);                       // x: int16_t[784]
//   int8::Dense(weights, x, 784, 128, {bias, multiplier, shift, /*lo=*/0}, y);
//
// Int8 values are held in int16 lanes, weights and activations alike (the backend widens each
// layer's weights once, when it is created). The fastest integer dot product that baseline SSE2
// and NEON have is the 16-bit multiply-add into 32-bit lanes (pmaddwd, smlal); widening int8 inside
// the inner loop costs more than the multiply-add itself, about 2.5x the time in our measurements.
// The values are the same, so results are bit-exact with the Python reference
// (models/reference.py): integer arithmetic has one answer.
//
// Pure functions on caller-owned memory: no allocation, safe from any thread.
#ifndef PYNQ_ACCEL_CPU_INT8_KERNELS_H_
#define PYNQ_ACCEL_CPU_INT8_KERNELS_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "overlays/nn_engine/abi/arith.h"

namespace pynq::accel::int8 {

// Requantize() of the ABI, into the int16 lanes the kernels hold int8 values in.
inline int16_t Requantize(int32_t acc, int32_t multiplier, int32_t shift, int32_t lo) {
  return static_cast<int16_t>(
      engine::Requantize(acc, multiplier, static_cast<uint32_t>(shift), lo));
}

// Per-output-channel requantization of one layer: arrays of n_out entries, and the clamp's lower
// bound (engine::kReluLo or engine::kNoReluLo).
struct Requantizer {
  const int32_t* bias;
  const int32_t* multiplier;
  const int32_t* shift;
  int32_t lo;
};

// INPUT_QUANTIZE: out[i] = clamp(RoundShift(pixels[i] * multiplier, shift), -128, 127) for n
// pixels; multiplier in 1..2^16, shift in 0..31.
inline void QuantizeInput(const uint8_t* pixels, size_t n, int32_t multiplier, int32_t shift,
                          int16_t* out) {
  for (size_t i = 0; i < n; ++i) {
    out[i] = static_cast<int16_t>(
        engine::QuantizePixel(pixels[i], multiplier, static_cast<uint32_t>(shift)));
  }
}

// sum_j w[j] * x[j] over n pairs of int8 values. |sum| <= 4096 * 128 * 128 = 2^26: a dense layer
// reads at most 4096 inputs, and a convolution's C*K*K taps are at most its input's C*H*W <= 4096.
inline int32_t Dot(const int16_t* w, const int16_t* x, size_t n) {
  int32_t sum = 0;
  for (size_t j = 0; j < n; ++j) sum += int32_t{w[j]} * int32_t{x[j]};
  return sum;
}

// INT8_DENSE: out[i] = Requantize(bias[i] + Dot(row i, in), M_i, n_i, lo); weights [n_out][n_in].
inline void Dense(const int16_t* weights, const int16_t* in, size_t n_in, size_t n_out,
                  const Requantizer& rq, int16_t* out) {
  for (size_t i = 0; i < n_out; ++i) {
    const int32_t acc = rq.bias[i] + Dot(weights + i * n_in, in, n_in);
    out[i] = Requantize(acc, rq.multiplier[i], rq.shift[i], rq.lo);
  }
}

// INT8_DENSE_SCORES: scores[i] = bias[i] + Dot(row i, in); weights [n_out][n_in].
inline void DenseScores(const int16_t* weights, const int32_t* bias, const int16_t* in,
                        size_t n_in, size_t n_out, int32_t* scores) {
  for (size_t i = 0; i < n_out; ++i) scores[i] = bias[i] + Dot(weights + i * n_in, in, n_in);
}

// Taps (weights per output channel) of a convolution are padded with zeros to a multiple of this,
// so every dot product runs whole SIMD vectors and no scalar tail.
inline constexpr size_t kTapAlignment = 8;

// The geometry of a valid, stride-1 K x K convolution of a C x H x W input into OC channels.
struct ConvShape {
  size_t c, h, w;  // Input.
  size_t oc;       // Output channels.
  size_t k;        // Kernel side.

  size_t out_h() const { return h - k + 1; }
  size_t out_w() const { return w - k + 1; }
  size_t out_pixels() const { return out_h() * out_w(); }
  size_t taps() const { return c * k * k; }
  size_t padded_taps() const { return (taps() + kTapAlignment - 1) / kTapAlignment * kTapAlignment; }
  // Scratch Conv() needs for its patch matrix, in int16 elements.
  size_t patch_elements() const { return out_pixels() * padded_taps(); }
};

// INT8_CONV: out[o][y][x] = Requantize(bias[o] + sum_{c,ky,kx} w[o][c][ky][kx] *
// in[c][y+ky][x+kx], M_o, n_o, lo). `weights` is [OC][padded_taps], each row the [C][K][K]
// kernel followed by zeros; `patches` is scratch of shape.patch_elements().
//
// The input is first unrolled into one patch per output pixel p = y * out_w + x: row p of
// `patches` holds in[c][y+ky][x+kx] in (c, ky, kx) order, then zeros. Each output is then one dot
// product of a weight row and a patch, the same long contiguous loop as a dense layer.
inline void Conv(const int16_t* weights, const int16_t* in, const ConvShape& shape,
                 const Requantizer& rq, int16_t* patches, int16_t* out) {
  const size_t ow = shape.out_w();
  const size_t pixels = shape.out_pixels();
  const size_t taps = shape.taps();
  const size_t stride = shape.padded_taps();
  for (size_t p = 0; p < pixels; ++p) {
    const size_t y = p / ow;
    const size_t x = p % ow;
    int16_t* patch = patches + p * stride;
    for (size_t c = 0; c < shape.c; ++c) {
      for (size_t ky = 0; ky < shape.k; ++ky) {
        // invariant: this copies taps (c * k + ky) * k .. + k - 1 of the patch
        std::memcpy(patch + (c * shape.k + ky) * shape.k, in + (c * shape.h + y + ky) * shape.w + x,
                    shape.k * sizeof(int16_t));
      }
    }
    std::fill(patch + taps, patch + stride, int16_t{0});
  }
  for (size_t o = 0; o < shape.oc; ++o) {
    const int16_t* row = weights + o * stride;
    int16_t* o_out = out + o * pixels;
    for (size_t p = 0; p < pixels; ++p) {
      const int32_t acc = rq.bias[o] + Dot(row, patches + p * stride, stride);
      o_out[p] = Requantize(acc, rq.multiplier[o], rq.shift[o], rq.lo);
    }
  }
}

// MAXPOOL: out[c][y][x] = the maximum of in[c][y*P .. y*P+P-1][x*P .. x*P+P-1]; H and W are
// multiples of P.
inline void MaxPool(const int16_t* in, size_t c, size_t h, size_t w, size_t p, int16_t* out) {
  const size_t oh = h / p;
  const size_t ow = w / p;
  for (size_t ch = 0; ch < c; ++ch) {
    const int16_t* plane = in + ch * h * w;
    for (size_t y = 0; y < oh; ++y) {
      int16_t* o = out + (ch * oh + y) * ow;
      // The first row of each window, then the maximum with each further row.
      for (size_t x = 0; x < ow; ++x) {
        int16_t m = plane[y * p * w + x * p];
        for (size_t dx = 1; dx < p; ++dx) m = std::max(m, plane[y * p * w + x * p + dx]);
        o[x] = m;
      }
      for (size_t dy = 1; dy < p; ++dy) {
        const int16_t* r = plane + (y * p + dy) * w;
        for (size_t x = 0; x < ow; ++x) {
          for (size_t dx = 0; dx < p; ++dx) o[x] = std::max(o[x], r[x * p + dx]);
        }
      }
    }
  }
}

}  // namespace pynq::accel::int8

#endif  // PYNQ_ACCEL_CPU_INT8_KERNELS_H_
