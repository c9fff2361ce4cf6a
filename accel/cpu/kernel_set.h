// The CPU backend's kernels, one set per instruction set, chosen at run time: the inner loops of
// the binarized layers (XNOR-popcount), and of the int8 layers (an int8 GEMM over weights packed
// in the set's own layout, the vectorized requantization, the input quantization). Everything
// around them (layer order, tiling, im2col, pooling) is common code (bnn_program.h,
// int8_program.h).
//
//   const cpu::KernelSet* set = cpu::FindKernelSet("avx2");   // nullptr: not on this CPU
//   for (const cpu::KernelSet* s : cpu::SupportedKernelSets()) { ... s->name ... }
//
// Sets (SupportedKernelSets() lists the ones this CPU runs, slowest first, the best last):
//   "portable"     plain C++ (every CPU; the reference the others are tested against)
//   "avx2"         x86-64 with AVX2, FMA-era cores: vpmaddubsw/vpmaddwd int8, scalar popcnt
//   "avx512vnni"   x86-64 with AVX-512 F/BW/VL, VNNI (vpdpbusd) and VPOPCNTDQ
//   "neon"         armhf with NEON (ARMv7-A: vmull.s8/vpadal, vcnt), and every arm64 core
//   "neon-dotprod" arm64 with the dot-product extension (sdot), e.g. Cortex-A55/A76 and later
// All sets compute the same integers: tests force each one and compare them bit for bit.
//
// The kernels are pure functions on caller-owned memory: no allocation, safe from any thread.
// Each set lives in its own kernels_<set>.cc, compiled for its instruction set by a target pragma
// placed after the includes, so that no inline function from a header is compiled for an
// instruction set the CPU may lack.
#ifndef PYNQ_ACCEL_CPU_KERNEL_SET_H_
#define PYNQ_ACCEL_CPU_KERNEL_SET_H_

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "accel/cpu/packed_weights.h"

namespace pynq::accel::cpu {

struct KernelSet {
  const char* name;

  // --- Binarized layers: bits packed as in MODEL_FORMAT.md (64 per word, padding 0) ---

  // Packs `n` pixels into bits, bit j = pixels[j] >= threshold; writes WordsForBits(n) words.
  void (*binarize)(const uint8_t* pixels, size_t n, uint8_t threshold, uint64_t* out);
  // How this set wants binarized weight rows interleaved (PackBitMatrix()'s row_block).
  size_t bnn_row_block;
  // For every padded row r < w.padded_rows and images b < images: out[b * out_stride + r] = the
  // number of bits in which row r and image b differ (padding rows: the image's popcount). x
  // holds `images` rows of w.words words, back to back. out_stride >= w.padded_rows.
  void (*xor_popcount)(const BitMatrix& w, const uint64_t* x, size_t images, int32_t* out,
                       size_t out_stride);
  // A hidden layer's output bits for one image: bit r = differing[r] <= max_differing[r] for
  // r < n, padding bits 0, WordsForBits(n) words. Both arrays are readable up to n rounded up to
  // a multiple of 64 (max_differing padded with -1 there, differing with counts >= 0).
  void (*sign_bits)(const int32_t* differing, const int32_t* max_differing, size_t n,
                    uint64_t* out);

  // --- Int8 layers ---

  // How this set's GEMM wants its weights (PackInt8Matrix() packs them so).
  Int8Layout int8_layout;
  // out[b * out_stride + r] = sum_k w(r, k) * x[b * x_stride + k], for images b < images and
  // every padded row r < w.padded_rows (padding rows give 0). Each x row holds w.cols int8 values
  // followed by w.padded_cols - w.cols bytes of any value (their weights are 0). `nonnegative`
  // promises every x value (not the padding) is in 0..127, which lets some sets take a faster
  // path. out_stride >= w.padded_rows.
  void (*int8_gemm)(const Int8Matrix& w, const int8_t* x, size_t x_stride, size_t images,
                    bool nonnegative, int32_t* out, size_t out_stride);
  // For rows b < count and channels c < t.channels:
  //   out[b * out_stride + c] = engine::Requantize(acc[b * acc_stride + c] + t.bias[c],
  //                                                t.multiplier[c], t.shift[c], t.lo).
  // Rows are written in increasing order, and writing row b may also overwrite up to
  // kRequantizeOvershoot bytes after its last channel (the caller keeps them writable: they are
  // either the start of row b + 1, written next, or slack). acc_stride >= t.padded_channels.
  void (*requantize)(const int32_t* acc, size_t acc_stride, size_t count, const RequantTable& t,
                     int8_t* out, size_t out_stride);
  // INPUT_QUANTIZE of `n` pixels: out[i] = engine::QuantizePixel(pixels[i], multiplier, shift).
  void (*quantize_input)(const uint8_t* pixels, size_t n, int32_t multiplier, int32_t shift,
                         int8_t* out);
};

// Bytes past a row's end that KernelSet::requantize may overwrite.
inline constexpr size_t kRequantizeOvershoot = 64;

// The sets this CPU can run, slowest first; the last is the one a backend uses by default.
std::vector<const KernelSet*> SupportedKernelSets();
// The set named `name` if this CPU runs it, else nullptr.
const KernelSet* FindKernelSet(std::string_view name);
// Every set name this build knows, whether or not this CPU runs it (for error messages).
std::vector<std::string_view> KnownKernelSetNames();

// The sets themselves, defined by the kernels_<set>.cc compiled for this architecture; callers
// go through SupportedKernelSets(), which checks the CPU first.
const KernelSet& PortableKernels();
#if defined(__x86_64__)
const KernelSet& Avx2Kernels();
const KernelSet& Avx512VnniKernels();
#endif
#if defined(__arm__) || defined(__aarch64__)
const KernelSet& NeonKernels();
#endif
#if defined(__aarch64__)
const KernelSet& NeonDotprodKernels();
#endif

}  // namespace pynq::accel::cpu

#endif  // PYNQ_ACCEL_CPU_KERNEL_SET_H_
