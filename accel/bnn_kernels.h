// Binarized-layer kernels of the CPU backend, over the packed-bit layout of MODEL_FORMAT.md:
// n values as ceil(n/64) little-endian u64 words, bit j%64 of word j/64, 1 = +1, padding 0.
// Pure functions on caller-owned memory: no allocation, safe from any thread.
#ifndef PYNQ_ACCEL_BNN_KERNELS_H_
#define PYNQ_ACCEL_BNN_KERNELS_H_

#include <bit>
#include <cstddef>
#include <cstdint>

#include "accel/model_format.h"

namespace pynq::accel::bnn {

// Packs `n` pixels into bits: bit j = pixels[j] >= threshold. Writes WordsForBits(n) words.
inline void Binarize(const uint8_t* pixels, size_t n, uint8_t threshold, uint64_t* out) {
  const size_t full_words = n / format::kBitsPerWord;
  for (size_t w = 0; w < full_words; ++w) {
    const uint8_t* p = pixels + w * format::kBitsPerWord;
    uint64_t word = 0;
    // A fixed 64-step loop of compares and shifts, which compilers vectorize.
    for (size_t b = 0; b < format::kBitsPerWord; ++b) {
      word |= uint64_t{p[b] >= threshold} << b;
    }
    out[w] = word;
  }
  if (const size_t tail = n % format::kBitsPerWord; tail != 0) {
    const uint8_t* p = pixels + full_words * format::kBitsPerWord;
    uint64_t word = 0;
    for (size_t b = 0; b < tail; ++b) word |= uint64_t{p[b] >= threshold} << b;
    out[full_words] = word;
  }
}

// The ±1 dot product of a packed weight row with packed input bits, both `words` long, for a
// vector of `n` real elements: n - 2 * (number of differing signs). Padding is 0 in both.
inline int32_t Dot(const uint64_t* row, const uint64_t* in, size_t words, size_t n) {
  int32_t differing = 0;
  for (size_t w = 0; w < words; ++w) differing += std::popcount(row[w] ^ in[w]);
  return static_cast<int32_t>(n) - 2 * differing;
}

// Hidden binarized dense layer: out bit i = Dot(row i) >= thresholds[i].
inline void DenseSign(const uint64_t* rows, const int32_t* thresholds, const uint64_t* in,
                      size_t n_in, size_t n_out, uint64_t* out) {
  const size_t words = format::WordsForBits(n_in);
  for (size_t w = 0; w < format::WordsForBits(n_out); ++w) out[w] = 0;
  for (size_t i = 0; i < n_out; ++i) {
    const bool fire = Dot(rows + i * words, in, words, n_in) >= thresholds[i];
    out[i / format::kBitsPerWord] |= uint64_t{fire} << (i % format::kBitsPerWord);
  }
}

// Output binarized dense layer: scores[i] = Dot(row i) + bias[i].
inline void DenseScores(const uint64_t* rows, const int32_t* bias, const uint64_t* in,
                        size_t n_in, size_t n_out, int32_t* scores) {
  const size_t words = format::WordsForBits(n_in);
  for (size_t i = 0; i < n_out; ++i) scores[i] = Dot(rows + i * words, in, words, n_in) + bias[i];
}

}  // namespace pynq::accel::bnn

#endif  // PYNQ_ACCEL_BNN_KERNELS_H_
