// Binarized-layer kernels of the CPU backend, over the packed-bit layout of MODEL_FORMAT.md:
// n values as ceil(n/64) little-endian u64 words, bit j%64 of word j/64, 1 = +1, padding 0.
// Pure functions on caller-owned memory: no allocation, safe from any thread.
//
// Each kernel has a portable version; x86-64 also gets SIMD ones (SSE2 is part of the
// architecture; AVX2 only where the CPU has it, chosen at run time by the CPU backend). All
// versions compute the same bits: tests compare them on random inputs.
#ifndef PYNQ_ACCEL_CPU_BNN_KERNELS_H_
#define PYNQ_ACCEL_CPU_BNN_KERNELS_H_

#include <bit>
#include <cstddef>
#include <cstdint>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "accel/model/model_format.h"

namespace pynq::accel::bnn {

// Packs `n` pixels into bits: bit j = pixels[j] >= threshold. Writes WordsForBits(n) words.
inline void Binarize(const uint8_t* pixels, size_t n, uint8_t threshold, uint64_t* out) {
  const size_t full_words = n / engine::kBitsPerWord;
  for (size_t w = 0; w < full_words; ++w) {
    const uint8_t* p = pixels + w * engine::kBitsPerWord;
    uint64_t word = 0;
    // A fixed 64-step loop of compares and shifts, which compilers vectorize.
    for (size_t b = 0; b < engine::kBitsPerWord; ++b) {
      word |= uint64_t{p[b] >= threshold} << b;
    }
    out[w] = word;
  }
  if (const size_t tail = n % engine::kBitsPerWord; tail != 0) {
    const uint8_t* p = pixels + full_words * engine::kBitsPerWord;
    uint64_t word = 0;
    for (size_t b = 0; b < tail; ++b) word |= uint64_t{p[b] >= threshold} << b;
    out[full_words] = word;
  }
}

#if defined(__x86_64__)

// Binarize() with SSE2: 16 pixels per compare, their sign bits gathered by movemask.
inline void BinarizeSse2(const uint8_t* pixels, size_t n, uint8_t threshold, uint64_t* out) {
  const size_t full_words = n / engine::kBitsPerWord;
  const __m128i t = _mm_set1_epi8(static_cast<char>(threshold));
  for (size_t w = 0; w < full_words; ++w) {
    const uint8_t* p = pixels + w * engine::kBitsPerWord;
    uint64_t word = 0;
    for (size_t q = 0; q < 4; ++q) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * q));
      // Unsigned p >= t exactly when max(p, t) == p.
      const __m128i ge = _mm_cmpeq_epi8(_mm_max_epu8(v, t), v);
      word |= uint64_t{static_cast<uint16_t>(_mm_movemask_epi8(ge))} << (16 * q);
    }
    out[w] = word;
  }
  if (n % engine::kBitsPerWord != 0) {
    const size_t done = full_words * engine::kBitsPerWord;
    Binarize(pixels + done, n - done, threshold, out + full_words);
  }
}

// Binarize() with AVX2: 32 pixels per compare. Call only on CPUs with AVX2.
__attribute__((target("avx2"))) inline void BinarizeAvx2(const uint8_t* pixels, size_t n,
                                                         uint8_t threshold, uint64_t* out) {
  const size_t full_words = n / engine::kBitsPerWord;
  const __m256i t = _mm256_set1_epi8(static_cast<char>(threshold));
  for (size_t w = 0; w < full_words; ++w) {
    const uint8_t* p = pixels + w * engine::kBitsPerWord;
    const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32));
    const auto lo_bits = static_cast<uint32_t>(
        _mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_max_epu8(lo, t), lo)));
    const auto hi_bits = static_cast<uint32_t>(
        _mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_max_epu8(hi, t), hi)));
    out[w] = uint64_t{lo_bits} | uint64_t{hi_bits} << 32;
  }
  if (n % engine::kBitsPerWord != 0) {
    const size_t done = full_words * engine::kBitsPerWord;
    BinarizeSse2(pixels + done, n - done, threshold, out + full_words);
  }
}

#endif  // __x86_64__

// The ±1 dot product of a packed weight row with packed input bits, both `words` long, for a
// vector of `n` real elements: n - 2 * (number of differing signs). Padding is 0 in both.
inline int32_t Dot(const uint64_t* row, const uint64_t* in, size_t words, size_t n) {
  int32_t differing = 0;
  for (size_t w = 0; w < words; ++w) differing += std::popcount(row[w] ^ in[w]);
  return static_cast<int32_t>(n) - 2 * differing;
}

using DotFn = int32_t (*)(const uint64_t* row, const uint64_t* in, size_t words, size_t n);

// Hidden binarized dense layer: out bit i = DotOf(row i) >= thresholds[i].
template <DotFn DotOf = Dot>
inline void DenseSign(const uint64_t* rows, const int32_t* thresholds, const uint64_t* in,
                      size_t n_in, size_t n_out, uint64_t* out) {
  const size_t words = engine::WordsForBits(n_in);
  for (size_t w = 0; w < engine::WordsForBits(n_out); ++w) out[w] = 0;
  for (size_t i = 0; i < n_out; ++i) {
    const bool fire = DotOf(rows + i * words, in, words, n_in) >= thresholds[i];
    out[i / engine::kBitsPerWord] |= uint64_t{fire} << (i % engine::kBitsPerWord);
  }
}

// Output binarized dense layer: scores[i] = DotOf(row i) + bias[i].
template <DotFn DotOf = Dot>
inline void DenseScores(const uint64_t* rows, const int32_t* bias, const uint64_t* in,
                        size_t n_in, size_t n_out, int32_t* scores) {
  const size_t words = engine::WordsForBits(n_in);
  for (size_t i = 0; i < n_out; ++i) scores[i] = DotOf(rows + i * words, in, words, n_in) + bias[i];
}

#if defined(__x86_64__)

// Binarize() with AVX-512BW: one compare yields a whole 64-bit word. Call only on CPUs with
// AVX-512BW.
__attribute__((target("avx512f,avx512bw"))) inline void BinarizeAvx512(const uint8_t* pixels,
                                                                       size_t n,
                                                                       uint8_t threshold,
                                                                       uint64_t* out) {
  const size_t full_words = n / engine::kBitsPerWord;
  const __m512i t = _mm512_set1_epi8(static_cast<char>(threshold));
  for (size_t w = 0; w < full_words; ++w) {
    out[w] = _mm512_cmpge_epu8_mask(_mm512_loadu_si512(pixels + w * engine::kBitsPerWord), t);
  }
  if (const size_t tail = n % engine::kBitsPerWord; tail != 0) {
    // Only the tail's bytes are read and compared; the padding bits stay 0 even for threshold 0.
    const __mmask64 valid = (__mmask64{1} << tail) - 1;
    const __m512i v = _mm512_maskz_loadu_epi8(valid, pixels + full_words * engine::kBitsPerWord);
    out[full_words] = _mm512_mask_cmpge_epu8_mask(valid, v, t);
  }
}

// Dot() with AVX-512 VPOPCNTDQ: eight words per XOR and popcount. Call only on CPUs with it.
__attribute__((target("avx512f,avx512vpopcntdq"))) inline int32_t DotAvx512(const uint64_t* row,
                                                                            const uint64_t* in,
                                                                            size_t words,
                                                                            size_t n) {
  __m512i differing = _mm512_setzero_si512();
  size_t w = 0;
  for (; w + 8 <= words; w += 8) {
    const __m512i x = _mm512_xor_si512(_mm512_loadu_si512(row + w), _mm512_loadu_si512(in + w));
    differing = _mm512_add_epi64(differing, _mm512_popcnt_epi64(x));
  }
  if (w < words) {
    const __mmask8 valid = static_cast<__mmask8>((1u << (words - w)) - 1);
    const __m512i x = _mm512_xor_si512(_mm512_maskz_loadu_epi64(valid, row + w),
                                       _mm512_maskz_loadu_epi64(valid, in + w));
    differing = _mm512_add_epi64(differing, _mm512_popcnt_epi64(x));
  }
  // The eight lane sums added by halves. _mm512_reduce_add_epi64 and _mm512_castsi512_si256
  // do the same through an "undefined" vector that GCC 12 warns about; the zero-masked extracts
  // do not.
  const __m256i quad = _mm256_add_epi64(_mm512_maskz_extracti64x4_epi64(0xff, differing, 0),
                                        _mm512_maskz_extracti64x4_epi64(0xff, differing, 1));
  const __m128i pair =
      _mm_add_epi64(_mm256_castsi256_si128(quad), _mm256_extracti128_si256(quad, 1));
  const auto total = static_cast<int32_t>(_mm_cvtsi128_si64(pair) + _mm_extract_epi64(pair, 1));
  return static_cast<int32_t>(n) - 2 * total;
}

#endif  // __x86_64__

}  // namespace pynq::accel::bnn

#endif  // PYNQ_ACCEL_CPU_BNN_KERNELS_H_
