// The "neon-dotprod" kernel set: arm64 cores with the dot-product extension (ARMv8.2 DotProd:
// Cortex-A55, A76 and later; not the Cortex-A53 of the Zynq UltraScale+ boards), chosen when the
// kernel reports HWCAP_ASIMDDP. Everything but the int8 GEMM is the "neon" set's.
//
// Int8 GEMM: the weights are packed 4 rows x 4 inputs per 16 bytes; sdot (by element) multiplies
// one such group with one 4-byte group of an image's 16-byte vector and adds each row's four
// products to its int32 lane, exactly, for any signed bytes. A block of 4 x 4 rows x 4 images
// keeps 16 accumulators in registers and loads each image vector once per 16 inputs.
#if defined(__aarch64__)

#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

#include "accel/cpu/kernel_set.h"

// Everything below is compiled for ARMv8.2-A with DotProd; the headers above are not (see
// kernel_set.h).
#pragma GCC push_options
#pragma GCC target("arch=armv8.2-a+dotprod")

namespace pynq::accel::cpu {
namespace {

// The loops over a block's rows and images are unrolled by pragma: GCC 12 keeps an array of
// vector accumulators in registers only when those loops are unrolled before it splits the
// array up; otherwise it moves them around, through the stack, at every step.
constexpr size_t kRowBlock = 4;
constexpr size_t kMaxBlocks = 4;  // Row blocks per pass.
constexpr size_t kImages = 4;     // Images per pass.

// M row blocks (4 rows each) x N images, over all of K; `w` is the first block's panel.
template <size_t M, size_t N>
inline void GemmBlock(const int8_t* w, size_t block_bytes, size_t cols, const int8_t* x,
                      size_t x_stride, int32_t* out, size_t out_stride) {
  int32x4_t acc[M][N];
  #pragma GCC unroll 16
  for (size_t m = 0; m < M; ++m) {
    #pragma GCC unroll 16
    for (size_t n = 0; n < N; ++n) acc[m][n] = vdupq_n_s32(0);
  }
  for (size_t k = 0; k < cols; k += 16) {
    int8x16_t xv[N];
    #pragma GCC unroll 16
    for (size_t n = 0; n < N; ++n) xv[n] = vld1q_s8(x + n * x_stride + k);
    #pragma GCC unroll 16
    for (size_t m = 0; m < M; ++m) {
      // The 4 groups of 4 inputs k..k+15 for this block's rows: 16 bytes each.
      const int8_t* panel = w + m * block_bytes + k * kRowBlock;
      const int8x16_t g0 = vld1q_s8(panel), g1 = vld1q_s8(panel + 16);
      const int8x16_t g2 = vld1q_s8(panel + 32), g3 = vld1q_s8(panel + 48);
      #pragma GCC unroll 16
      for (size_t n = 0; n < N; ++n) {
        acc[m][n] = vdotq_laneq_s32(acc[m][n], g0, xv[n], 0);
        acc[m][n] = vdotq_laneq_s32(acc[m][n], g1, xv[n], 1);
        acc[m][n] = vdotq_laneq_s32(acc[m][n], g2, xv[n], 2);
        acc[m][n] = vdotq_laneq_s32(acc[m][n], g3, xv[n], 3);
      }
    }
  }
  #pragma GCC unroll 16
  for (size_t m = 0; m < M; ++m) {
    #pragma GCC unroll 16
    for (size_t n = 0; n < N; ++n) vst1q_s32(out + n * out_stride + m * kRowBlock, acc[m][n]);
  }
}

template <size_t M>
inline void GemmRows(const Int8Matrix& w, size_t block, const int8_t* x, size_t x_stride,
                     size_t images, int32_t* out, size_t out_stride) {
  const size_t block_bytes = kRowBlock * w.padded_cols;
  const int8_t* panel = w.data.data() + block * block_bytes;
  int32_t* o = out + block * kRowBlock;
  size_t b = 0;
  for (; b + kImages <= images; b += kImages) {
    GemmBlock<M, kImages>(panel, block_bytes, w.padded_cols, x + b * x_stride, x_stride,
                          o + b * out_stride, out_stride);
  }
  for (; b < images; ++b) {
    GemmBlock<M, 1>(panel, block_bytes, w.padded_cols, x + b * x_stride, x_stride,
                    o + b * out_stride, out_stride);
  }
}

// sdot multiplies signed bytes exactly, so the sign of the inputs does not matter here.
void Int8Gemm(const Int8Matrix& w, const int8_t* x, size_t x_stride, size_t images,
              bool /*nonnegative*/, int32_t* out, size_t out_stride) {
  const size_t blocks = w.padded_rows / kRowBlock;
  size_t block = 0;
  for (; block + kMaxBlocks <= blocks; block += kMaxBlocks) {
    GemmRows<kMaxBlocks>(w, block, x, x_stride, images, out, out_stride);
  }
  switch (blocks - block) {
    case 3: GemmRows<3>(w, block, x, x_stride, images, out, out_stride); break;
    case 2: GemmRows<2>(w, block, x, x_stride, images, out, out_stride); break;
    case 1: GemmRows<1>(w, block, x, x_stride, images, out, out_stride); break;
    default: break;
  }
}

}  // namespace

// Outside the target region: this runs on every CPU (to list the sets), not only on this set's.
#pragma GCC pop_options

const KernelSet& NeonDotprodKernels() {
  static const KernelSet kSet = [] {
    KernelSet set = NeonKernels();
    set.name = "neon-dotprod";
    set.int8_layout = {.row_block = kRowBlock, .k_group = 4, .col_align = 16};
    set.int8_gemm = Int8Gemm;
    return set;
  }();
  return kSet;
}

}  // namespace pynq::accel::cpu


#endif  // __aarch64__
