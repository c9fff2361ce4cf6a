// The "avx2" kernel set, for x86-64 cores with AVX2 (Haswell, Zen and later).
//
// Int8 GEMM: the weights are packed 8 rows x 4 inputs per 32 bytes; each step broadcasts 4 input
// bytes of one image to all eight 32-bit lanes and multiplies them with the 8 rows' 4 weights
// (vpmaddubsw: unsigned x signed bytes, adjacent pairs summed to int16), then vpmaddwd with ones
// sums the pairs into the int32 accumulators. A block of up to 4 x 8 rows x 2 images keeps its
// accumulators in registers for the whole row, each weight vector serving both images.
// vpmaddubsw saturates its pair sums at +-32767: with inputs in 0..127 (every layer after a
// quantized input, a ReLU or a pooling of those) |pair| <= 2 * 127 * 128 = 32512 cannot reach it.
// Inputs that may be negative are shifted to x + 128 in 0..255 and split into nibbles (x + 128 =
// 16 hi + lo), each multiplied exactly, and 128 * (sum of the row's weights) is subtracted.
//
// Binarized layers: a vpshufb nibble popcount over 4 rows per vector (see XorPopcountBlock).
#if defined(__x86_64__)

#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "accel/cpu/kernel_set.h"
#include "accel/model/model_format.h"
#include "overlays/nn_engine/abi/arith.h"

// Everything below is compiled for AVX2; the headers above are not (see kernel_set.h).
#pragma GCC push_options
#pragma GCC target("avx2,fma,bmi,bmi2,popcnt")

namespace pynq::accel::cpu {
namespace {

// The loops over a block's rows and images are unrolled by pragma: GCC 12 keeps an array of
// vector accumulators in registers only when those loops are unrolled before it splits the
// array up; otherwise it moves them around, through the stack, at every step.
void Binarize(const uint8_t* pixels, size_t n, uint8_t threshold, uint64_t* out) {
  const size_t full_words = n / engine::kBitsPerWord;
  const __m256i t = _mm256_set1_epi8(static_cast<char>(threshold));
  for (size_t w = 0; w < full_words; ++w) {
    const uint8_t* p = pixels + w * engine::kBitsPerWord;
    const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32));
    // Unsigned p >= t exactly when max(p, t) == p.
    const auto lo_bits = static_cast<uint32_t>(
        _mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_max_epu8(lo, t), lo)));
    const auto hi_bits = static_cast<uint32_t>(
        _mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_max_epu8(hi, t), hi)));
    out[w] = uint64_t{lo_bits} | uint64_t{hi_bits} << 32;
  }
  if (const size_t tail = n % engine::kBitsPerWord; tail != 0) {
    // 16 pixels at a time, then one by one.
    const uint8_t* p = pixels + full_words * engine::kBitsPerWord;
    const __m128i t16 = _mm256_castsi256_si128(t);
    uint64_t word = 0;
    size_t b = 0;
    for (; b + 16 <= tail; b += 16) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + b));
      word |= uint64_t{static_cast<uint16_t>(
                  _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(v, t16), v)))}
              << b;
    }
    for (; b < tail; ++b) word |= uint64_t{p[b] >= threshold} << b;
    out[full_words] = word;
  }
}

// Binarized layers: the rows interleaved 4 by 4 (bnn_row_block 4), so that one vector holds the
// same word of 4 rows, one 64-bit lane per row. The count of differing bits is a nibble lookup
// (vpshufb on a 16-entry popcount table) of the XOR of the low nibbles and of the high nibbles;
// the input's nibbles are split once per image, the rows' once per word, and byte counters are
// summed per row by vpsadbw before they can overflow.
constexpr size_t kBnnRowBlock = 4;
constexpr size_t kBnnBlocks = 2;  // Row blocks per pass.
constexpr size_t kBnnImages = 4;  // Images per pass.
// Largest row, in words (engine::kMaxFeatures bits).
constexpr size_t kMaxWords = engine::kMaxFeatures / engine::kBitsPerWord;
// Words whose counts fit the byte counters: each word adds at most 8 to a byte.
constexpr size_t kWordsPerFlush = 31;

template <size_t M, size_t B>
inline void XorPopcountBlock(const uint64_t* w, size_t words, const uint64_t* planes, int32_t* out,
                             size_t out_stride) {
  const __m256i table = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                         0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
  const __m256i nibble = _mm256_set1_epi8(0x0f);
  __m256i total[M][B];
  #pragma GCC unroll 16
  for (size_t m = 0; m < M; ++m) {
    #pragma GCC unroll 16
    for (size_t b = 0; b < B; ++b) total[m][b] = _mm256_setzero_si256();
  }
  for (size_t k0 = 0; k0 < words; k0 += kWordsPerFlush) {
    const size_t k_end = std::min(words, k0 + kWordsPerFlush);
    __m256i bytes[M][B];
    #pragma GCC unroll 16
    for (size_t m = 0; m < M; ++m) {
      #pragma GCC unroll 16
      for (size_t b = 0; b < B; ++b) bytes[m][b] = _mm256_setzero_si256();
    }
    for (size_t k = k0; k < k_end; ++k) {
      __m256i lo[M], hi[M];
      #pragma GCC unroll 16
      for (size_t m = 0; m < M; ++m) {
        const __m256i v = _mm256_loadu_si256(
            reinterpret_cast<const __m256i*>(w + (m * words + k) * kBnnRowBlock));
        lo[m] = _mm256_and_si256(v, nibble);
        hi[m] = _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble);
      }
      #pragma GCC unroll 16
      for (size_t b = 0; b < B; ++b) {
        const __m256i x_lo = _mm256_set1_epi64x(static_cast<int64_t>(planes[(b * words + k) * 2]));
        const __m256i x_hi =
            _mm256_set1_epi64x(static_cast<int64_t>(planes[(b * words + k) * 2 + 1]));
        #pragma GCC unroll 16
        for (size_t m = 0; m < M; ++m) {
          bytes[m][b] = _mm256_add_epi8(
              bytes[m][b], _mm256_shuffle_epi8(table, _mm256_xor_si256(lo[m], x_lo)));
          bytes[m][b] = _mm256_add_epi8(
              bytes[m][b], _mm256_shuffle_epi8(table, _mm256_xor_si256(hi[m], x_hi)));
        }
      }
    }
    #pragma GCC unroll 16
    for (size_t m = 0; m < M; ++m) {
      #pragma GCC unroll 16
      for (size_t b = 0; b < B; ++b) {
        total[m][b] = _mm256_add_epi64(total[m][b],
                                       _mm256_sad_epu8(bytes[m][b], _mm256_setzero_si256()));
      }
    }
  }
  // The low words of the four 64-bit row counts, to four int32.
  const __m256i low_words = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
  #pragma GCC unroll 16
  for (size_t m = 0; m < M; ++m) {
    #pragma GCC unroll 16
    for (size_t b = 0; b < B; ++b) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + b * out_stride + m * kBnnRowBlock),
                       _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(total[m][b], low_words)));
    }
  }
}

template <size_t B>
inline void XorPopcountImages(const BitMatrix& w, const uint64_t* planes, int32_t* out,
                              size_t out_stride) {
  const size_t blocks = w.padded_rows / kBnnRowBlock;
  const size_t block_words = w.words * kBnnRowBlock;
  size_t block = 0;
  for (; block + kBnnBlocks <= blocks; block += kBnnBlocks) {
    XorPopcountBlock<kBnnBlocks, B>(w.data.data() + block * block_words, w.words, planes,
                                    out + block * kBnnRowBlock, out_stride);
  }
  for (; block < blocks; ++block) {
    XorPopcountBlock<1, B>(w.data.data() + block * block_words, w.words, planes,
                           out + block * kBnnRowBlock, out_stride);
  }
}

void XorPopcount(const BitMatrix& w, const uint64_t* x, size_t images, int32_t* out,
                 size_t out_stride) {
  // The images' words split into low and high nibbles, kBnnImages images at a time.
  uint64_t planes[kBnnImages * kMaxWords * 2];
  constexpr uint64_t kLow = 0x0f0f0f0f0f0f0f0full;
  for (size_t b0 = 0; b0 < images; b0 += kBnnImages) {
    const size_t n = std::min(kBnnImages, images - b0);
    for (size_t i = 0; i < n * w.words; ++i) {
      const uint64_t word = x[b0 * w.words + i];
      planes[2 * i] = word & kLow;
      planes[2 * i + 1] = (word >> 4) & kLow;
    }
    int32_t* o = out + b0 * out_stride;
    switch (n) {
      case 4: XorPopcountImages<4>(w, planes, o, out_stride); break;
      case 3: XorPopcountImages<3>(w, planes, o, out_stride); break;
      case 2: XorPopcountImages<2>(w, planes, o, out_stride); break;
      default: XorPopcountImages<1>(w, planes, o, out_stride); break;
    }
  }
}

// Eight rows per compare; movemask gathers the "does not fire" bits.
void SignBits(const int32_t* differing, const int32_t* max_differing, size_t n, uint64_t* out) {
  for (size_t w = 0; w < engine::WordsForBits(n); ++w) {
    uint64_t quiet = 0;
    for (size_t g = 0; g < 8; ++g) {
      const size_t r = w * engine::kBitsPerWord + g * 8;
      const __m256i over = _mm256_cmpgt_epi32(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(differing + r)),
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(max_differing + r)));
      quiet |= uint64_t{static_cast<uint8_t>(_mm256_movemask_ps(_mm256_castsi256_ps(over)))}
               << (g * 8);
    }
    out[w] = ~quiet;  // Padding rows never fire (max_differing -1).
  }
}

// The GEMM's block: M row blocks (8 rows each) x N images, over all of K.
template <size_t M, size_t N, bool kNonnegative>
inline void GemmBlock(const int8_t* w, size_t block_bytes, size_t groups, const int32_t* row_sums,
                      const int8_t* x, size_t x_stride, int32_t* out, size_t out_stride) {
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256i sixteen = _mm256_set1_epi16(16);
  const __m256i nibble = _mm256_set1_epi8(0x0f);
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
  __m256i acc[M][N];
  #pragma GCC unroll 16
  for (size_t m = 0; m < M; ++m) {
    #pragma GCC unroll 16
    for (size_t n = 0; n < N; ++n) acc[m][n] = _mm256_setzero_si256();
  }
  for (size_t g = 0; g < groups; ++g) {
    __m256i wv[M];
    #pragma GCC unroll 16
    for (size_t m = 0; m < M; ++m) {
      wv[m] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + m * block_bytes + g * 32));
    }
    #pragma GCC unroll 16
    for (size_t n = 0; n < N; ++n) {
      int32_t quad;
      std::memcpy(&quad, x + n * x_stride + g * 4, sizeof(quad));
      const __m256i xb = _mm256_set1_epi32(quad);
      if constexpr (kNonnegative) {
        #pragma GCC unroll 16
        for (size_t m = 0; m < M; ++m) {
          acc[m][n] = _mm256_add_epi32(
              _mm256_madd_epi16(_mm256_maddubs_epi16(xb, wv[m]), ones), acc[m][n]);
        }
      } else {
        const __m256i u = _mm256_xor_si256(xb, flip);  // x + 128, as unsigned bytes
        const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(u, 4), nibble);
        const __m256i lo = _mm256_and_si256(u, nibble);
        #pragma GCC unroll 16
        for (size_t m = 0; m < M; ++m) {
          const __m256i h = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, wv[m]), sixteen);
          const __m256i l = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, wv[m]), ones);
          acc[m][n] = _mm256_add_epi32(acc[m][n], _mm256_add_epi32(h, l));
        }
      }
    }
  }
  #pragma GCC unroll 16
  for (size_t m = 0; m < M; ++m) {
    __m256i correction = _mm256_setzero_si256();
    if constexpr (!kNonnegative) {
      correction = _mm256_slli_epi32(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row_sums + m * 8)), 7);
    }
    #pragma GCC unroll 16
    for (size_t n = 0; n < N; ++n) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + n * out_stride + m * 8),
                          _mm256_sub_epi32(acc[m][n], correction));
    }
  }
}

constexpr size_t kRowBlock = 8;
constexpr size_t kMaxBlocks = 4;  // Row blocks per pass.
constexpr size_t kImages = 2;     // Images per pass.

template <size_t M, bool kNonnegative>
inline void GemmRows(const Int8Matrix& w, size_t block, const int8_t* x, size_t x_stride,
                     size_t images, int32_t* out, size_t out_stride) {
  const size_t block_bytes = kRowBlock * w.padded_cols;
  const size_t groups = w.padded_cols / 4;
  const int8_t* panel = w.data.data() + block * block_bytes;
  const int32_t* sums = w.row_sums.data() + block * kRowBlock;
  int32_t* o = out + block * kRowBlock;
  size_t b = 0;
  for (; b + kImages <= images; b += kImages) {
    GemmBlock<M, kImages, kNonnegative>(panel, block_bytes, groups, sums, x + b * x_stride,
                                        x_stride, o + b * out_stride, out_stride);
  }
  for (; b < images; ++b) {
    GemmBlock<M, 1, kNonnegative>(panel, block_bytes, groups, sums, x + b * x_stride, x_stride,
                                  o + b * out_stride, out_stride);
  }
}

template <bool kNonnegative>
void GemmAll(const Int8Matrix& w, const int8_t* x, size_t x_stride, size_t images, int32_t* out,
             size_t out_stride) {
  const size_t blocks = w.padded_rows / kRowBlock;
  size_t block = 0;
  for (; block + kMaxBlocks <= blocks; block += kMaxBlocks) {
    GemmRows<kMaxBlocks, kNonnegative>(w, block, x, x_stride, images, out, out_stride);
  }
  switch (blocks - block) {
    case 3: GemmRows<3, kNonnegative>(w, block, x, x_stride, images, out, out_stride); break;
    case 2: GemmRows<2, kNonnegative>(w, block, x, x_stride, images, out, out_stride); break;
    case 1: GemmRows<1, kNonnegative>(w, block, x, x_stride, images, out, out_stride); break;
    default: break;
  }
}

void Int8Gemm(const Int8Matrix& w, const int8_t* x, size_t x_stride, size_t images,
              bool nonnegative, int32_t* out, size_t out_stride) {
  if (nonnegative) {
    GemmAll<true>(w, x, x_stride, images, out, out_stride);
  } else {
    GemmAll<false>(w, x, x_stride, images, out, out_stride);
  }
}

// Eight int32 lanes, each in -128..127, to eight bytes at `out`.
inline void StoreBytes(__m256i v, int8_t* out) {
  const __m256i words = _mm256_packs_epi32(v, v);       // v0-3 v0-3 | v4-7 v4-7 (int16)
  const __m256i bytes = _mm256_packs_epi16(words, words);  // v0-3 x4 | v4-7 x4 (int8)
  const __m256i joined = _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 0, 4, 0, 4, 0, 4));
  _mm_storel_epi64(reinterpret_cast<__m128i*>(out), _mm256_castsi256_si128(joined));
}

inline __m256i Load8(const int32_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

// RequantTable::all_shifts_high, eight channels: the high words of the eight 64-bit products,
// in 32-bit lanes (see RequantTable).
struct HighWordRequantizer {
  __m256i bias, multiplier, multiplier_odd, rounding, shift, lo, hi;

  HighWordRequantizer(const RequantTable& t, size_t c)
      : bias(Load8(t.bias.data() + c)),
        multiplier(Load8(t.multiplier.data() + c)),
        multiplier_odd(_mm256_srli_epi64(multiplier, 32)),
        rounding(Load8(t.high_rounding.data() + c)),
        shift(Load8(t.high_shift.data() + c)),
        lo(_mm256_set1_epi32(t.lo)),
        hi(_mm256_set1_epi32(engine::kInt8Max)) {}

  __m256i operator()(__m256i acc) const {
    const __m256i sum = _mm256_add_epi32(acc, bias);
    const __m256i even = _mm256_mul_epi32(sum, multiplier);  // lanes 0, 2, 4, 6 as int64
    const __m256i odd = _mm256_mul_epi32(_mm256_srli_epi64(sum, 32), multiplier_odd);
    // Even products' high words move down into the even lanes; odd ones' already sit in the odd.
    const __m256i high = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xaa);
    const __m256i q = _mm256_srav_epi32(_mm256_add_epi32(high, rounding), shift);
    return _mm256_min_epi32(_mm256_max_epi32(q, lo), hi);
  }
};

// Any shift 0..62, eight channels as two halves of four in 64-bit lanes: RoundShift() with a
// logical shift of x + 2^62 (non-negative: |acc * M| < 2^58 and the rounding term <= 2^61),
// then 2^(62-n) taken off again; clamped to lo..127 in 64 bits.
struct WideRequantizer {
  __m256i bias;
  __m256i multiplier[2], shift[2], add[2], subtract[2];
  __m256i lo, hi;

  WideRequantizer(const RequantTable& t, size_t c)
      : bias(Load8(t.bias.data() + c)),
        lo(_mm256_set1_epi64x(t.lo)),
        hi(_mm256_set1_epi64x(engine::kInt8Max)) {
    const __m256i one = _mm256_set1_epi64x(1);
    for (size_t h = 0; h < 2; ++h) {
      const size_t first = c + 4 * h;
      multiplier[h] = _mm256_cvtepi32_epi64(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(t.multiplier.data() + first)));
      shift[h] = _mm256_cvtepi32_epi64(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(t.shift.data() + first)));
      add[h] = _mm256_add_epi64(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.rounding.data() + first)),
          _mm256_slli_epi64(one, 62));
      subtract[h] = _mm256_sllv_epi64(one, _mm256_sub_epi64(_mm256_set1_epi64x(62), shift[h]));
    }
  }

  __m256i Half(__m128i sum, size_t h) const {
    const __m256i product = _mm256_mul_epi32(_mm256_cvtepi32_epi64(sum), multiplier[h]);
    const __m256i q = _mm256_sub_epi64(
        _mm256_srlv_epi64(_mm256_add_epi64(product, add[h]), shift[h]), subtract[h]);
    const __m256i floored = _mm256_blendv_epi8(q, lo, _mm256_cmpgt_epi64(lo, q));
    return _mm256_blendv_epi8(floored, hi, _mm256_cmpgt_epi64(floored, hi));
  }

  __m256i operator()(__m256i acc) const {
    const __m256i sum = _mm256_add_epi32(acc, bias);
    const __m256i low4 = Half(_mm256_castsi256_si128(sum), 0);
    const __m256i high4 = Half(_mm256_extracti128_si256(sum, 1), 1);
    // Low words of low4 (channels 0..3) and of high4 (4..7) side by side, then in order.
    const __m256i mixed = _mm256_blend_epi32(low4, _mm256_slli_epi64(high4, 32), 0xaa);
    return _mm256_permutevar8x32_epi32(mixed, _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7));
  }
};

template <typename Requantizer>
void RequantizeRows(const int32_t* acc, size_t acc_stride, size_t count, const RequantTable& t,
                    int8_t* out, size_t out_stride) {
  if (t.channels <= 16) {
    // A convolution's few channels, over many pixels: their parameters stay in registers (the
    // table always holds 16 channels).
    const Requantizer first(t, 0), second(t, 8);
    for (size_t b = 0; b < count; ++b) {
      StoreBytes(first(Load8(acc + b * acc_stride)), out + b * out_stride);
      if (t.channels > 8) StoreBytes(second(Load8(acc + b * acc_stride + 8)), out + b * out_stride + 8);
    }
    return;
  }
  for (size_t b = 0; b < count; ++b) {
    for (size_t c = 0; c < t.channels; c += 8) {
      StoreBytes(Requantizer(t, c)(Load8(acc + b * acc_stride + c)), out + b * out_stride + c);
    }
  }
}

void Requantize(const int32_t* acc, size_t acc_stride, size_t count, const RequantTable& t,
                int8_t* out, size_t out_stride) {
  if (t.all_shifts_high) {
    RequantizeRows<HighWordRequantizer>(acc, acc_stride, count, t, out, out_stride);
  } else {
    RequantizeRows<WideRequantizer>(acc, acc_stride, count, t, out, out_stride);
  }
}

void QuantizeInput(const uint8_t* pixels, size_t n, int32_t multiplier, int32_t shift,
                   int8_t* out) {
  const __m256i m = _mm256_set1_epi32(multiplier);
  const uint32_t s = static_cast<uint32_t>(shift) & 31u;
  const __m256i half = _mm256_set1_epi32(s == 0 ? 0 : int32_t{1} << (s - 1));
  const __m128i count = _mm_cvtsi32_si128(static_cast<int>(s));
  const __m256i hi = _mm256_set1_epi32(engine::kInt8Max);
  // pixel * M + half < 2^24 + 2^30: a logical shift of non-negative int32 lanes.
  const auto quantize8 = [&](const uint8_t* p) {
    const __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
    return _mm256_min_epi32(
        _mm256_srl_epi32(_mm256_add_epi32(_mm256_mullo_epi32(v, m), half), count), hi);
  };
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    // Packing 4 x 8 results interleaves them by 128-bit lane: q0 0-3, q1 0-3, q2 0-3, q3 0-3 |
    // q0 4-7, ...; the permutation puts the 4-byte groups back in order.
    const __m256i words01 = _mm256_packs_epi32(quantize8(pixels + i), quantize8(pixels + i + 8));
    const __m256i words23 =
        _mm256_packs_epi32(quantize8(pixels + i + 16), quantize8(pixels + i + 24));
    const __m256i bytes = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(words01, words23),
                                                      _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), bytes);
  }
  for (; i + 8 <= n; i += 8) StoreBytes(quantize8(pixels + i), out + i);
  for (; i < n; ++i) {
    out[i] = static_cast<int8_t>(
        engine::QuantizePixel(pixels[i], multiplier, static_cast<uint32_t>(shift)));
  }
}

}  // namespace

// Outside the target region: this runs on every CPU (to list the sets), not only on this set's.
#pragma GCC pop_options

const KernelSet& Avx2Kernels() {
  static constexpr KernelSet kSet = {
      .name = "avx2",
      .binarize = Binarize,
      .bnn_row_block = kBnnRowBlock,
      .xor_popcount = XorPopcount,
      .sign_bits = SignBits,
      .int8_layout = {.row_block = kRowBlock, .k_group = 4, .col_align = 4},
      .int8_gemm = Int8Gemm,
      .requantize = Requantize,
      .quantize_input = QuantizeInput,
  };
  return kSet;
}

}  // namespace pynq::accel::cpu


#endif  // __x86_64__
