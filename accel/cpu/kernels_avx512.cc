// The "avx512vnni" kernel set, for x86-64 cores with AVX-512 F/BW/VL, VNNI and VPOPCNTDQ (Ice
// Lake, Zen 4 and later).
//
// Int8 GEMM: the weights are packed 16 rows x 4 inputs per 64 bytes; each step broadcasts 4 input
// bytes of one image to all sixteen 32-bit lanes, and vpdpbusd multiplies them with the 16 rows'
// 4 weights and adds the four products to the int32 accumulators, exactly (no intermediate
// saturation). A block of up to 4 x 16 rows x 4 images keeps its accumulators in registers.
// vpdpbusd takes the input bytes as unsigned: inputs that may be negative are sent as x + 128 and
// 128 * (sum of the row's weights) is subtracted at the end.
//
// Binarized layers: rows interleaved 8 by 8 (bnn_row_block 8), so that one load gives the same
// word of 8 rows; each image word is broadcast, XORed with them and counted by vpopcntq, 8 rows
// per instruction with no horizontal sums.
#if defined(__x86_64__)

// GCC 12 warns that the unmasked AVX-512 intrinsics read an uninitialized vector: they pass
// _mm512_undefined_epi32() as the merge source under an all-ones mask, which never reads it
// (GCC bug 105593, fixed in GCC 13). The warning points into the header, so it is silenced there.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "accel/cpu/kernel_set.h"
#include "accel/model/model_format.h"
#include "overlays/nn_engine/abi/arith.h"

// Everything below is compiled for AVX-512; the headers above are not (see kernel_set.h).
#pragma GCC push_options
#pragma GCC target("avx2,fma,bmi,bmi2,popcnt,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512vpopcntdq")

namespace pynq::accel::cpu {
namespace {

// The loops over a block's rows and images are unrolled by pragma: GCC 12 keeps an array of
// vector accumulators in registers only when those loops are unrolled before it splits the
// array up; otherwise it moves them around, through the stack, at every step.
void Binarize(const uint8_t* pixels, size_t n, uint8_t threshold, uint64_t* out) {
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

constexpr size_t kBnnRowBlock = 8;

// R row blocks (8 rows each) x B images.
template <size_t R, size_t B>
inline void XorPopcountBlock(const uint64_t* w, size_t words, const uint64_t* x, int32_t* out,
                             size_t out_stride) {
  __m512i sum[R][B];
  #pragma GCC unroll 16
  for (size_t r = 0; r < R; ++r) {
    #pragma GCC unroll 16
    for (size_t b = 0; b < B; ++b) sum[r][b] = _mm512_setzero_si512();
  }
  for (size_t k = 0; k < words; ++k) {
    __m512i rows[R];
    #pragma GCC unroll 16
    for (size_t r = 0; r < R; ++r) rows[r] = _mm512_loadu_si512(w + (r * words + k) * kBnnRowBlock);
    #pragma GCC unroll 16
    for (size_t b = 0; b < B; ++b) {
      const __m512i xb = _mm512_set1_epi64(static_cast<int64_t>(x[b * words + k]));
      #pragma GCC unroll 16
      for (size_t r = 0; r < R; ++r) {
        sum[r][b] = _mm512_add_epi64(sum[r][b], _mm512_popcnt_epi64(_mm512_xor_si512(rows[r], xb)));
      }
    }
  }
  #pragma GCC unroll 16
  for (size_t b = 0; b < B; ++b) {
    #pragma GCC unroll 16
    for (size_t r = 0; r < R; ++r) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + b * out_stride + r * kBnnRowBlock),
                          _mm512_cvtepi64_epi32(sum[r][b]));
    }
  }
}

template <size_t R>
inline void XorPopcountRows(const uint64_t* w, size_t words, const uint64_t* x, size_t images,
                            int32_t* out, size_t out_stride) {
  size_t b = 0;
  for (; b + 4 <= images; b += 4) {
    XorPopcountBlock<R, 4>(w, words, x + b * words, out + b * out_stride, out_stride);
  }
  for (; b < images; ++b) {
    XorPopcountBlock<R, 1>(w, words, x + b * words, out + b * out_stride, out_stride);
  }
}

void XorPopcount(const BitMatrix& w, const uint64_t* x, size_t images, int32_t* out,
                 size_t out_stride) {
  const size_t blocks = w.padded_rows / kBnnRowBlock;
  const size_t block_words = w.words * kBnnRowBlock;
  size_t block = 0;
  for (; block + 2 <= blocks; block += 2) {
    XorPopcountRows<2>(w.data.data() + block * block_words, w.words, x, images,
                       out + block * kBnnRowBlock, out_stride);
  }
  if (block < blocks) {
    XorPopcountRows<1>(w.data.data() + block * block_words, w.words, x, images,
                       out + block * kBnnRowBlock, out_stride);
  }
}

void SignBits(const int32_t* differing, const int32_t* max_differing, size_t n, uint64_t* out) {
  for (size_t w = 0; w < engine::WordsForBits(n); ++w) {
    uint64_t word = 0;
    for (size_t g = 0; g < 4; ++g) {
      const size_t r = w * engine::kBitsPerWord + g * 16;
      word |= uint64_t{_mm512_cmple_epi32_mask(_mm512_loadu_si512(differing + r),
                                               _mm512_loadu_si512(max_differing + r))}
              << (g * 16);
    }
    out[w] = word;  // Padding rows never fire (max_differing -1).
  }
}

constexpr size_t kRowBlock = 16;
constexpr size_t kMaxBlocks = 4;  // Row blocks per pass.
constexpr size_t kImages = 4;     // Images per pass.

// The GEMM's block: M row blocks (16 rows each) x N images, over all of K.
template <size_t M, size_t N, bool kNonnegative>
inline void GemmBlock(const int8_t* w, size_t block_bytes, size_t groups, const int32_t* row_sums,
                      const int8_t* x, size_t x_stride, int32_t* out, size_t out_stride) {
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  __m512i acc[M][N];
  #pragma GCC unroll 16
  for (size_t m = 0; m < M; ++m) {
    #pragma GCC unroll 16
    for (size_t n = 0; n < N; ++n) acc[m][n] = _mm512_setzero_si512();
  }
  for (size_t g = 0; g < groups; ++g) {
    __m512i wv[M];
    #pragma GCC unroll 16
    for (size_t m = 0; m < M; ++m) wv[m] = _mm512_loadu_si512(w + m * block_bytes + g * 64);
    #pragma GCC unroll 16
    for (size_t n = 0; n < N; ++n) {
      int32_t quad;
      std::memcpy(&quad, x + n * x_stride + g * 4, sizeof(quad));
      __m512i xb = _mm512_set1_epi32(quad);
      if constexpr (!kNonnegative) xb = _mm512_xor_si512(xb, flip);  // x + 128, unsigned
      #pragma GCC unroll 16
      for (size_t m = 0; m < M; ++m) acc[m][n] = _mm512_dpbusd_epi32(acc[m][n], xb, wv[m]);
    }
  }
  #pragma GCC unroll 16
  for (size_t m = 0; m < M; ++m) {
    __m512i correction = _mm512_setzero_si512();
    if constexpr (!kNonnegative) {
      correction = _mm512_slli_epi32(_mm512_loadu_si512(row_sums + m * kRowBlock), 7);
    }
    #pragma GCC unroll 16
    for (size_t n = 0; n < N; ++n) {
      _mm512_storeu_si512(out + n * out_stride + m * kRowBlock,
                          _mm512_sub_epi32(acc[m][n], correction));
    }
  }
}

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

// Eight channels in 64-bit lanes: Requantize() exactly as the ABI writes it, with AVX-512's
// arithmetic 64-bit shift and 64-bit min/max; vpmovqb keeps the low byte of each lane.
struct Requantizer {
  __m256i bias;
  __m512i multiplier, rounding, shift, lo, hi;

  Requantizer(const RequantTable& t, size_t c)
      : bias(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.bias.data() + c))),
        multiplier(_mm512_cvtepi32_epi64(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.multiplier.data() + c)))),
        rounding(_mm512_loadu_si512(t.rounding.data() + c)),
        shift(_mm512_cvtepi32_epi64(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.shift.data() + c)))),
        lo(_mm512_set1_epi64(t.lo)),
        hi(_mm512_set1_epi64(engine::kInt8Max)) {}

  void operator()(const int32_t* acc, int8_t* out) const {
    const __m256i sum =
        _mm256_add_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc)), bias);
    const __m512i product = _mm512_mul_epi32(_mm512_cvtepi32_epi64(sum), multiplier);
    const __m512i q = _mm512_srav_epi64(_mm512_add_epi64(product, rounding), shift);
    const __m512i r = _mm512_min_epi64(_mm512_max_epi64(q, lo), hi);
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out), _mm512_cvtepi64_epi8(r));
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
  const __m512i m = _mm512_set1_epi32(multiplier);
  const uint32_t s = static_cast<uint32_t>(shift) & 31u;
  const __m512i half = _mm512_set1_epi32(s == 0 ? 0 : int32_t{1} << (s - 1));
  const __m128i count = _mm_cvtsi32_si128(static_cast<int>(s));
  const __m512i hi = _mm512_set1_epi32(engine::kInt8Max);
  size_t i = 0;
  // pixel * M + half < 2^24 + 2^30: a logical shift of non-negative int32 lanes.
  for (; i + 16 <= n; i += 16) {
    const __m512i p =
        _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(pixels + i)));
    const __m512i q = _mm512_srl_epi32(_mm512_add_epi32(_mm512_mullo_epi32(p, m), half), count);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i),
                     _mm512_cvtepi32_epi8(_mm512_min_epi32(q, hi)));
  }
  for (; i < n; ++i) {
    out[i] = static_cast<int8_t>(
        engine::QuantizePixel(pixels[i], multiplier, static_cast<uint32_t>(shift)));
  }
}

}  // namespace

// Outside the target region: this runs on every CPU (to list the sets), not only on this set's.
#pragma GCC pop_options

const KernelSet& Avx512VnniKernels() {
  static constexpr KernelSet kSet = {
      .name = "avx512vnni",
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
