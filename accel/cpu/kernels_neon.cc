// The "neon" kernel set: ARMv7-A NEON on armhf (PYNQ-Z1/Z2's Cortex-A9, chosen when the kernel
// reports HWCAP_NEON) and Advanced SIMD on every arm64 core; the same intrinsics compile for both.
//
// Int8 GEMM, weights row-major padded to 16 bytes: per 16 inputs of one row and one image,
// vmull.s8 multiplies 8 byte pairs into int16 lanes, vmlal.s8 adds the next 8 products to them,
// and vpadal.s16 adds the int16 pairs into four int32 accumulators; the four are summed at the
// end of the row. Two products share an int16 lane only when the inputs are in 0..127
// (|sum| <= 2 * 127 * 128 = 32512); inputs that may be negative ((-128)^2 * 2 overflows int16)
// take one vpadal per vmull instead. Blocks of 2 rows x 3 images (armhf: 16 q registers) or
// 4 x 4 (arm64: 32) load each row and image vector once for the whole block.
//
// Binarized layers: veor, vcnt.8 and vpadal.u8 on two words at a time, the same blocking.
// Requantization: vmull.s32 to 64 bits, vrshl by -n (a rounding shift right that is exactly
// RoundShift()), vqmovn to 32 bits with saturation, then the clamp.
#if defined(__arm__) || defined(__aarch64__)

#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

#include "accel/cpu/kernel_set.h"
#include "accel/model/model_format.h"
#include "overlays/nn_engine/abi/arith.h"

// Everything below is compiled for NEON; the headers above are not (see kernel_set.h). arm64
// always has Advanced SIMD; armhf needs it switched on.
#if defined(__arm__)
#pragma GCC push_options
#pragma GCC target("fpu=neon")
#endif

namespace pynq::accel::cpu {
namespace {

// The loops over a block's rows and images are unrolled by pragma: GCC 12 keeps an array of
// vector accumulators in registers only when those loops are unrolled before it splits the
// array up; otherwise it moves them around, through the stack, at every step.
#if defined(__aarch64__)
constexpr size_t kRows = 4;    // Rows per GEMM block.
constexpr size_t kImages = 4;  // Images per GEMM block.
#else
constexpr size_t kRows = 2;
constexpr size_t kImages = 3;
#endif

inline int32_t Sum(int32x4_t v) {
#if defined(__aarch64__)
  return vaddvq_s32(v);
#else
  const int32x2_t pair = vpadd_s32(vget_low_s32(v), vget_high_s32(v));
  return vget_lane_s32(vpadd_s32(pair, pair), 0);
#endif
}

inline uint32_t Sum(uint16x8_t v) {
  const uint64x2_t wide = vpaddlq_u32(vpaddlq_u16(v));
  return static_cast<uint32_t>(vgetq_lane_u64(wide, 0) + vgetq_lane_u64(wide, 1));
}

void Binarize(const uint8_t* pixels, size_t n, uint8_t threshold, uint64_t* out) {
  const uint8x8_t t = vdup_n_u8(threshold);
  // Lane i of each 8-pixel comparison contributes bit i of its byte of the word.
  const uint8x8_t bit = vcreate_u8(0x8040201008040201ull);
  const size_t full_words = n / engine::kBitsPerWord;
  for (size_t w = 0; w < full_words; ++w) {
    const uint8_t* p = pixels + w * engine::kBitsPerWord;
    uint8x8_t c[8];
    for (size_t i = 0; i < 8; ++i) c[i] = vand_u8(vcge_u8(vld1_u8(p + 8 * i), t), bit);
    // Three rounds of pairwise sums leave byte i = the bits of pixels 8i .. 8i+7.
    const uint8x8_t l0 = vpadd_u8(c[0], c[1]), l1 = vpadd_u8(c[2], c[3]);
    const uint8x8_t l2 = vpadd_u8(c[4], c[5]), l3 = vpadd_u8(c[6], c[7]);
    const uint8x8_t bytes = vpadd_u8(vpadd_u8(l0, l1), vpadd_u8(l2, l3));
    out[w] = vget_lane_u64(vreinterpret_u64_u8(bytes), 0);
  }
  if (const size_t tail = n % engine::kBitsPerWord; tail != 0) {
    const uint8_t* p = pixels + full_words * engine::kBitsPerWord;
    uint64_t word = 0;
    for (size_t b = 0; b < tail; ++b) word |= uint64_t{p[b] >= threshold} << b;
    out[full_words] = word;
  }
}

// Word k..k+1 of a row, or word k alone with a zero beside it at the end of an odd row.
inline uint8x16_t LoadWords(const uint64_t* p, size_t k, size_t words) {
  if (k + 2 <= words) return vreinterpretq_u8_u64(vld1q_u64(p + k));
  return vreinterpretq_u8_u64(vcombine_u64(vld1_u64(p + k), vdup_n_u64(0)));
}

template <size_t R, size_t B>
inline void XorPopcountBlock(const uint64_t* w, size_t words, const uint64_t* x, int32_t* out,
                             size_t out_stride) {
  // Each uint16 lane gains at most 16 per step; rows have at most 4096 bits (32 steps).
  uint16x8_t sum[R][B];
  #pragma GCC unroll 16
  for (size_t r = 0; r < R; ++r) {
    #pragma GCC unroll 16
    for (size_t b = 0; b < B; ++b) sum[r][b] = vdupq_n_u16(0);
  }
  for (size_t k = 0; k < words; k += 2) {
    uint8x16_t rows[R];
    #pragma GCC unroll 16
    for (size_t r = 0; r < R; ++r) rows[r] = LoadWords(w + r * words, k, words);
    #pragma GCC unroll 16
    for (size_t b = 0; b < B; ++b) {
      const uint8x16_t xb = LoadWords(x + b * words, k, words);
      #pragma GCC unroll 16
      for (size_t r = 0; r < R; ++r) {
        sum[r][b] = vpadalq_u8(sum[r][b], vcntq_u8(veorq_u8(rows[r], xb)));
      }
    }
  }
  #pragma GCC unroll 16
  for (size_t b = 0; b < B; ++b) {
    #pragma GCC unroll 16
    for (size_t r = 0; r < R; ++r) out[b * out_stride + r] = static_cast<int32_t>(Sum(sum[r][b]));
  }
}

template <size_t R>
inline void XorPopcountRows(const uint64_t* w, size_t words, const uint64_t* x, size_t images,
                            int32_t* out, size_t out_stride) {
  size_t b = 0;
  for (; b + kImages <= images; b += kImages) {
    XorPopcountBlock<R, kImages>(w, words, x + b * words, out + b * out_stride, out_stride);
  }
  for (; b < images; ++b) {
    XorPopcountBlock<R, 1>(w, words, x + b * words, out + b * out_stride, out_stride);
  }
}

void XorPopcount(const BitMatrix& w, const uint64_t* x, size_t images, int32_t* out,
                 size_t out_stride) {
  size_t r = 0;
  for (; r + kRows <= w.padded_rows; r += kRows) {
    XorPopcountRows<kRows>(w.data.data() + r * w.words, w.words, x, images, out + r, out_stride);
  }
  for (; r < w.padded_rows; ++r) {
    XorPopcountRows<1>(w.data.data() + r * w.words, w.words, x, images, out + r, out_stride);
  }
}

void SignBits(const int32_t* differing, const int32_t* max_differing, size_t n, uint64_t* out) {
  const uint8x8_t bit = vcreate_u8(0x8040201008040201ull);
  for (size_t w = 0; w < engine::WordsForBits(n); ++w) {
    // Byte g of the word from rows 8g .. 8g+7: their 0xff / 0 flags, one bit kept each.
    uint8x8_t c[8];
    for (size_t g = 0; g < 8; ++g) {
      const size_t r = w * engine::kBitsPerWord + g * 8;
      const uint32x4_t f0 = vcleq_s32(vld1q_s32(differing + r), vld1q_s32(max_differing + r));
      const uint32x4_t f1 =
          vcleq_s32(vld1q_s32(differing + r + 4), vld1q_s32(max_differing + r + 4));
      c[g] = vand_u8(vmovn_u16(vcombine_u16(vmovn_u32(f0), vmovn_u32(f1))), bit);
    }
    const uint8x8_t l0 = vpadd_u8(c[0], c[1]), l1 = vpadd_u8(c[2], c[3]);
    const uint8x8_t l2 = vpadd_u8(c[4], c[5]), l3 = vpadd_u8(c[6], c[7]);
    const uint8x8_t bytes = vpadd_u8(vpadd_u8(l0, l1), vpadd_u8(l2, l3));
    out[w] = vget_lane_u64(vreinterpret_u64_u8(bytes), 0);  // Padding rows never fire.
  }
}

template <size_t R, size_t B, bool kNonnegative>
inline void GemmBlock(const int8_t* w, size_t ld, const int8_t* x, size_t x_stride, int32_t* out,
                      size_t out_stride) {
  int32x4_t acc[R][B];
  #pragma GCC unroll 16
  for (size_t r = 0; r < R; ++r) {
    #pragma GCC unroll 16
    for (size_t b = 0; b < B; ++b) acc[r][b] = vdupq_n_s32(0);
  }
  for (size_t k = 0; k < ld; k += 16) {
    int8x16_t rows[R];
    #pragma GCC unroll 16
    for (size_t r = 0; r < R; ++r) rows[r] = vld1q_s8(w + r * ld + k);
    #pragma GCC unroll 16
    for (size_t b = 0; b < B; ++b) {
      const int8x16_t xb = vld1q_s8(x + b * x_stride + k);
      #pragma GCC unroll 16
      for (size_t r = 0; r < R; ++r) {
        const int16x8_t low = vmull_s8(vget_low_s8(rows[r]), vget_low_s8(xb));
        if constexpr (kNonnegative) {
          acc[r][b] = vpadalq_s16(acc[r][b], vmlal_s8(low, vget_high_s8(rows[r]), vget_high_s8(xb)));
        } else {
          acc[r][b] = vpadalq_s16(acc[r][b], low);
          acc[r][b] = vpadalq_s16(acc[r][b], vmull_s8(vget_high_s8(rows[r]), vget_high_s8(xb)));
        }
      }
    }
  }
  #pragma GCC unroll 16
  for (size_t b = 0; b < B; ++b) {
    #pragma GCC unroll 16
    for (size_t r = 0; r < R; ++r) out[b * out_stride + r] = Sum(acc[r][b]);
  }
}

template <size_t R, bool kNonnegative>
inline void GemmRows(const int8_t* w, size_t ld, const int8_t* x, size_t x_stride, size_t images,
                     int32_t* out, size_t out_stride) {
  size_t b = 0;
  for (; b + kImages <= images; b += kImages) {
    GemmBlock<R, kImages, kNonnegative>(w, ld, x + b * x_stride, x_stride, out + b * out_stride,
                                        out_stride);
  }
  for (; b < images; ++b) {
    GemmBlock<R, 1, kNonnegative>(w, ld, x + b * x_stride, x_stride, out + b * out_stride,
                                  out_stride);
  }
}

template <bool kNonnegative>
void GemmAll(const Int8Matrix& w, const int8_t* x, size_t x_stride, size_t images, int32_t* out,
             size_t out_stride) {
  const size_t ld = w.padded_cols;
  size_t r = 0;
  for (; r + kRows <= w.padded_rows; r += kRows) {
    GemmRows<kRows, kNonnegative>(w.data.data() + r * ld, ld, x, x_stride, images, out + r,
                                  out_stride);
  }
  for (; r < w.padded_rows; ++r) {
    GemmRows<1, kNonnegative>(w.data.data() + r * ld, ld, x, x_stride, images, out + r,
                              out_stride);
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

// Eight channels, two halves of four: Requantize() of acc + bias, clamped, to eight bytes.
struct Requantizer {
  int32x4_t bias[2], multiplier[2], lo, hi;
  int64x2_t right[4];  // -n per 64-bit lane: vrshl by -n is RoundShift() by n.

  Requantizer(const RequantTable& t, size_t c)
      : lo(vdupq_n_s32(t.lo)), hi(vdupq_n_s32(engine::kInt8Max)) {
    for (size_t h = 0; h < 2; ++h) {
      bias[h] = vld1q_s32(t.bias.data() + c + 4 * h);
      multiplier[h] = vld1q_s32(t.multiplier.data() + c + 4 * h);
      const int32x4_t negated = vnegq_s32(vld1q_s32(t.shift.data() + c + 4 * h));
      right[2 * h] = vmovl_s32(vget_low_s32(negated));
      right[2 * h + 1] = vmovl_s32(vget_high_s32(negated));
    }
  }

  int32x4_t Half(const int32_t* acc, size_t h) const {
    const int32x4_t sum = vaddq_s32(vld1q_s32(acc), bias[h]);
    const int64x2_t low =
        vrshlq_s64(vmull_s32(vget_low_s32(sum), vget_low_s32(multiplier[h])), right[2 * h]);
    const int64x2_t high =
        vrshlq_s64(vmull_s32(vget_high_s32(sum), vget_high_s32(multiplier[h])), right[2 * h + 1]);
    // Saturating to int32 first keeps the clamp right for products far outside int8.
    const int32x4_t q = vcombine_s32(vqmovn_s64(low), vqmovn_s64(high));
    return vminq_s32(vmaxq_s32(q, lo), hi);
  }

  void operator()(const int32_t* acc, int8_t* out) const {
    const int16x8_t words = vcombine_s16(vqmovn_s32(Half(acc, 0)), vqmovn_s32(Half(acc + 4, 1)));
    vst1_s8(out, vqmovn_s16(words));
  }
};

void Requantize(const int32_t* acc, size_t acc_stride, size_t count, const RequantTable& t,
                int8_t* out, size_t out_stride) {
  if (t.channels <= 16) {
    // A convolution's few channels, over many pixels: their parameters stay in registers (the
    // table always holds 16 channels).
    const Requantizer first(t, 0), second(t, 8);
    for (size_t b = 0; b < count; ++b) {
      first(acc + b * acc_stride, out + b * out_stride);
      if (t.channels > 8) second(acc + b * acc_stride + 8, out + b * out_stride + 8);
    }
    return;
  }
  for (size_t b = 0; b < count; ++b) {
    for (size_t c = 0; c < t.channels; c += 8) {
      Requantizer(t, c)(acc + b * acc_stride + c, out + b * out_stride + c);
    }
  }
}

void QuantizeInput(const uint8_t* pixels, size_t n, int32_t multiplier, int32_t shift,
                   int8_t* out) {
  const uint32x4_t m = vdupq_n_u32(static_cast<uint32_t>(multiplier));
  // vrshl by -s: (v + 2^(s-1)) >> s, QuantizePixel()'s rounding, exactly (v < 2^24).
  const int32x4_t right = vdupq_n_s32(-static_cast<int32_t>(static_cast<uint32_t>(shift) & 31u));
  const uint32x4_t hi = vdupq_n_u32(engine::kInt8Max);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const uint16x8_t p = vmovl_u8(vld1_u8(pixels + i));
    const uint32x4_t q0 =
        vminq_u32(vrshlq_u32(vmulq_u32(vmovl_u16(vget_low_u16(p)), m), right), hi);
    const uint32x4_t q1 =
        vminq_u32(vrshlq_u32(vmulq_u32(vmovl_u16(vget_high_u16(p)), m), right), hi);
    vst1_s8(out + i, vreinterpret_s8_u8(vmovn_u16(vcombine_u16(vmovn_u32(q0), vmovn_u32(q1)))));
  }
  for (; i < n; ++i) {
    out[i] = static_cast<int8_t>(
        engine::QuantizePixel(pixels[i], multiplier, static_cast<uint32_t>(shift)));
  }
}

}  // namespace

#if defined(__arm__)
// Outside the target region: this runs on every CPU (to list the sets), not only on NEON ones.
#pragma GCC pop_options
#endif

const KernelSet& NeonKernels() {
  static constexpr KernelSet kSet = {
      .name = "neon",
      .binarize = Binarize,
      .bnn_row_block = 1,
      .xor_popcount = XorPopcount,
      .sign_bits = SignBits,
      .int8_layout = {.row_block = 1, .k_group = 1, .col_align = 16},
      .int8_gemm = Int8Gemm,
      .requantize = Requantize,
      .quantize_input = QuantizeInput,
  };
  return kSet;
}

}  // namespace pynq::accel::cpu

#endif  // __arm__ || __aarch64__
