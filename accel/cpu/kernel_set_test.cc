// Every kernel set this CPU runs against plain reference loops and the ABI's scalar arithmetic
// (overlays/nn_engine/abi/arith.h), on random and edge-case inputs: the same bits and integers
// everywhere, and no write past what each kernel's contract allows.
#include "accel/cpu/kernel_set.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "accel/model/model_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "overlays/nn_engine/abi/arith.h"

namespace pynq::accel::cpu {
namespace {

class KernelSetTest : public ::testing::TestWithParam<const KernelSet*> {
 protected:
  const KernelSet& set() const { return *GetParam(); }
};

// Fills with a byte that no kernel writes by accident often: what is left of it after a kernel
// ran shows what the kernel did not touch.
constexpr uint8_t kCanary = 0xa5;

TEST_P(KernelSetTest, BinarizeMatchesThresholdsAndKeepsPaddingZero) {
  std::mt19937_64 rng(11);
  for (const size_t n : {1, 15, 16, 17, 63, 64, 65, 80, 130, 784, 1000}) {
    std::vector<uint8_t> pixels(n);
    for (uint8_t& p : pixels) p = static_cast<uint8_t>(rng());
    pixels[0] = 0;
    pixels[n - 1] = 255;
    for (const int threshold : {0, 1, 128, 254, 255}) {
      SCOPED_TRACE(absl::StrCat("n=", n, " threshold=", threshold));
      const size_t words = engine::WordsForBits(n);
      std::vector<uint64_t> out(words + 1, ~uint64_t{0});
      set().binarize(pixels.data(), n, static_cast<uint8_t>(threshold), out.data());
      for (size_t j = 0; j < words * engine::kBitsPerWord; ++j) {
        const bool bit = (out[j / 64] >> (j % 64)) & 1;
        ASSERT_EQ(bit, j < n && pixels[j] >= threshold) << "bit " << j;
      }
      EXPECT_EQ(out[words], ~uint64_t{0}) << "wrote past the last word";
    }
  }
}

TEST_P(KernelSetTest, XorPopcountCountsEveryRowAgainstEveryImage) {
  std::mt19937_64 rng(12);
  for (const size_t rows : {1, 3, 4, 8, 9, 17, 64, 70}) {
    for (const size_t words : {1, 2, 13, 31, 32, 33, 64}) {
      const size_t images = 1 + rng() % 9;
      std::vector<uint64_t> w(rows * words), x(images * words);
      for (uint64_t& v : w) v = rng();
      for (uint64_t& v : x) v = rng();
      if (rows > 2) std::fill(w.begin() + words, w.begin() + 2 * words, ~uint64_t{0});
      const BitMatrix packed = PackBitMatrix(w, rows, words, set().bnn_row_block);
      const size_t stride = packed.padded_rows + 5;
      std::vector<int32_t> out(images * stride, -1);
      set().xor_popcount(packed, x.data(), images, out.data(), stride);
      for (size_t b = 0; b < images; ++b) {
        for (size_t r = 0; r < stride; ++r) {
          SCOPED_TRACE(absl::StrCat("rows=", rows, " words=", words, " image ", b, " row ", r));
          if (r >= packed.padded_rows) {
            ASSERT_EQ(out[b * stride + r], -1) << "wrote past the padded rows";
            continue;
          }
          int32_t expected = 0;
          for (size_t k = 0; k < words; ++k) {
            expected += std::popcount((r < rows ? w[r * words + k] : 0) ^ x[b * words + k]);
          }
          ASSERT_EQ(out[b * stride + r], expected);
        }
      }
    }
  }
}

TEST_P(KernelSetTest, SignBitsFireAtOrBelowTheMaximum) {
  std::mt19937 rng(13);
  for (const size_t n : {1, 7, 63, 64, 65, 128, 200}) {
    const size_t padded = engine::WordsForBits(n) * engine::kBitsPerWord;
    std::vector<int32_t> differing(padded), max_differing(padded, -1);
    for (size_t r = 0; r < padded; ++r) differing[r] = static_cast<int32_t>(rng() % 50);
    for (size_t r = 0; r < n; ++r) {
      max_differing[r] = static_cast<int32_t>(rng() % 60) - 5;
      if (r % 7 == 0) max_differing[r] = differing[r];  // Exactly at the bound: fires.
    }
    std::vector<uint64_t> out(engine::WordsForBits(n) + 1, 0x1234);
    set().sign_bits(differing.data(), max_differing.data(), n, out.data());
    for (size_t r = 0; r < padded; ++r) {
      const bool bit = (out[r / 64] >> (r % 64)) & 1;
      ASSERT_EQ(bit, r < n && differing[r] <= max_differing[r]) << "n=" << n << " row " << r;
    }
    EXPECT_EQ(out.back(), 0x1234u) << "wrote past the last word";
  }
}

// Values for an int8 GEMM test: random, with the extremes that overflow careless lanes.
int8_t RandomInt8(std::mt19937& rng, bool nonnegative) {
  switch (rng() % 8) {
    case 0: return nonnegative ? 127 : -128;
    case 1: return 127;
    case 2: return 0;
    default:
      return nonnegative ? static_cast<int8_t>(rng() % 128) : static_cast<int8_t>(rng());
  }
}

TEST_P(KernelSetTest, Int8GemmIsExactForAnyShapeSignAndPadding) {
  std::mt19937 rng(14);
  for (const size_t rows : {1, 4, 5, 8, 9, 16, 17, 31, 64, 65, 130}) {
    for (const size_t cols : {1, 3, 4, 5, 16, 17, 25, 150, 256, 784}) {
      for (const bool nonnegative : {true, false}) {
        const size_t images = rows * cols % 11 == 0 ? 33 : 1 + rng() % 9;
        std::vector<int8_t> w(rows * cols);
        // One matrix in four is all -128 or all 127: every pair of products at its extreme.
        const int extreme = static_cast<int>(rng() % 4);
        for (int8_t& v : w) {
          v = extreme == 0 ? int8_t{-128} : extreme == 1 ? int8_t{127} : RandomInt8(rng, false);
        }
        const Int8Matrix packed = PackInt8Matrix(w, rows, cols, {}, set().int8_layout);
        // x rows hold cols values, then padding of any value up to the stride.
        const size_t x_stride = packed.padded_cols + 3;
        std::vector<int8_t> x(images * x_stride);
        for (size_t b = 0; b < images; ++b) {
          for (size_t k = 0; k < x_stride; ++k) {
            x[b * x_stride + k] = k < cols ? RandomInt8(rng, nonnegative)
                                           : static_cast<int8_t>(rng() % 2 ? 0x80 : 0xff);
          }
        }
        const size_t out_stride = packed.padded_rows + 3;
        std::vector<int32_t> out(images * out_stride, 0x5a5a5a5a);
        set().int8_gemm(packed, x.data(), x_stride, images, nonnegative, out.data(), out_stride);
        for (size_t b = 0; b < images; ++b) {
          for (size_t r = 0; r < out_stride; ++r) {
            SCOPED_TRACE(absl::StrCat(rows, "x", cols, nonnegative ? " nonnegative" : " signed",
                                      " image ", b, " row ", r));
            if (r >= packed.padded_rows) {
              ASSERT_EQ(out[b * out_stride + r], 0x5a5a5a5a) << "wrote past the padded rows";
              continue;
            }
            int32_t expected = 0;
            for (size_t k = 0; r < rows && k < cols; ++k) {
              expected += int32_t{w[r * cols + k]} * int32_t{x[b * x_stride + k]};
            }
            ASSERT_EQ(out[b * out_stride + r], expected);
          }
        }
      }
    }
  }
}

// A requantization table of `channels` channels with random parameters across their whole
// ranges, or with every shift >= 33 (RequantTable::all_shifts_high) when `high` is set.
RequantTable RandomTable(std::mt19937& rng, size_t channels, bool high, int32_t lo,
                         std::vector<int32_t>& bias, std::vector<int32_t>& multiplier,
                         std::vector<int32_t>& shift) {
  bias.resize(channels);
  multiplier.resize(channels);
  shift.resize(channels);
  for (size_t c = 0; c < channels; ++c) {
    bias[c] = static_cast<int32_t>(rng() % (1 << 25)) - (1 << 24);
    switch (rng() % 5) {
      case 0: multiplier[c] = 1; break;
      case 1: multiplier[c] = 0x7fffffff; break;
      case 2: multiplier[c] = static_cast<int32_t>(1 + rng() % 1000); break;
      default: multiplier[c] = static_cast<int32_t>(1 + rng() % 0x7fffffff); break;
    }
    shift[c] = high ? static_cast<int32_t>(33 + rng() % 30) : static_cast<int32_t>(rng() % 63);
  }
  if (!high) shift[0] = static_cast<int32_t>(rng() % 33);  // At least one below 33.
  return MakeRequantTable({.bias = bias, .multiplier = multiplier, .shift = shift}, lo);
}

// An accumulator whose sum with `bias` stays inside the loader's bound |acc + bias| < 2^27, often
// near the values where RoundShift() rounds: k * 2^n / M and half-way between.
int32_t RandomAccumulator(std::mt19937& rng, int32_t bias, int32_t multiplier, int32_t shift) {
  constexpr int64_t kBound = (int64_t{1} << 27) - 1;
  int64_t total;
  if (rng() % 3 == 0) {
    // A target quotient near the int8 range, back through the scale: lands on rounding edges.
    const int64_t q = static_cast<int64_t>(rng() % 400) - 200;
    const long double scaled = std::ldexp(static_cast<long double>(q) + 0.5L * (rng() % 3), shift);
    // Clamped before the conversion: a large shift over a small multiplier is far out of range.
    const long double edge = std::clamp(scaled / multiplier, -static_cast<long double>(kBound),
                                        static_cast<long double>(kBound));
    total = static_cast<int64_t>(edge) + static_cast<int64_t>(rng() % 3) - 1;
  } else {
    total = static_cast<int64_t>(rng() % (2 * kBound + 1)) - kBound;
  }
  total = std::clamp(total, -kBound, kBound);
  return static_cast<int32_t>(total - bias);
}

TEST_P(KernelSetTest, RequantizeEqualsTheAbiOverWideRandomRanges) {
  std::mt19937 rng(15);
  size_t checked = 0;
  for (int round = 0; round < 400; ++round) {
    const size_t channels = std::vector<size_t>{1, 3, 6, 8, 13, 16, 33, 120}[round % 8];
    const bool high = round % 2 == 0;
    const int32_t lo = round % 4 < 2 ? engine::kReluLo : engine::kNoReluLo;
    std::vector<int32_t> bias, multiplier, shift;
    const RequantTable t = RandomTable(rng, channels, high, lo, bias, multiplier, shift);
    ASSERT_EQ(t.all_shifts_high, high);
    const size_t count = 1 + rng() % 40;
    const size_t acc_stride = t.padded_channels;
    std::vector<int32_t> acc(count * acc_stride);
    for (size_t b = 0; b < count; ++b) {
      for (size_t c = 0; c < acc_stride; ++c) {
        // Lanes past the channels hold anything: the kernels may read but must not use them.
        acc[b * acc_stride + c] =
            c < channels ? RandomAccumulator(rng, bias[c], multiplier[c], shift[c])
                         : static_cast<int32_t>(rng());
      }
    }
    const size_t out_stride = channels + 5;
    std::vector<int8_t> out(count * out_stride + kRequantizeOvershoot + 16,
                            static_cast<int8_t>(kCanary));
    set().requantize(acc.data(), acc_stride, count, t, out.data(), out_stride);
    for (size_t b = 0; b < count; ++b) {
      for (size_t c = 0; c < channels; ++c) {
        const int32_t expected = engine::Requantize(acc[b * acc_stride + c] + bias[c],
                                                    multiplier[c],
                                                    static_cast<uint32_t>(shift[c]), lo);
        ASSERT_EQ(out[b * out_stride + c], expected)
            << "channel " << c << " acc " << acc[b * acc_stride + c] << " bias " << bias[c]
            << " M " << multiplier[c] << " n " << shift[c] << " lo " << lo;
        ++checked;
      }
    }
    // The last row may overwrite kRequantizeOvershoot bytes after its last channel, no more.
    const size_t end = (count - 1) * out_stride + channels + kRequantizeOvershoot;
    for (size_t i = end; i < out.size(); ++i) {
      ASSERT_EQ(static_cast<uint8_t>(out[i]), kCanary) << "wrote " << i - end << " bytes too far";
    }
  }
  EXPECT_GT(checked, 100000u);
}

TEST_P(KernelSetTest, RequantizeEqualsTheAbiOnEveryShiftAndClampEdge) {
  // Every shift 0..62 with the largest and smallest multipliers, and accumulators at the
  // int8 range's edges and at the loader's bound.
  std::vector<int32_t> accs = {0, 1, -1, 127, 128, -128, -129, 255, 256, -256, (1 << 27) - 1,
                               -(1 << 27) + 1, 1 << 20, -(1 << 20)};
  for (int32_t n = 0; n <= engine::kMaxRequantShift; ++n) {
    for (const int32_t m : {1, 2, 3, 0x40000000, 0x7fffffff}) {
      for (const int32_t lo : {engine::kReluLo, engine::kNoReluLo}) {
        // Accumulators whose product lands exactly half-way, and one either side of it.
        std::vector<int32_t> values = accs;
        if (n > 0 && n <= 40 && m == 1) {
          for (const int64_t q : {-129, -128, -1, 0, 1, 126, 127, 128}) {
            const int64_t half = q * (int64_t{1} << n) + (int64_t{1} << (n - 1));
            for (const int64_t d : {-1, 0, 1}) {
              if (std::abs(half + d) < (int64_t{1} << 27)) {
                values.push_back(static_cast<int32_t>(half + d));
              }
            }
          }
        }
        const size_t channels = values.size();
        std::vector<int32_t> bias(channels, 0), multiplier(channels, m), shift(channels, n);
        const RequantTable t =
            MakeRequantTable({.bias = bias, .multiplier = multiplier, .shift = shift}, lo);
        std::vector<int32_t> acc(t.padded_channels, 0);
        std::copy(values.begin(), values.end(), acc.begin());
        std::vector<int8_t> out(channels + kRequantizeOvershoot);
        set().requantize(acc.data(), t.padded_channels, 1, t, out.data(), channels);
        for (size_t c = 0; c < channels; ++c) {
          ASSERT_EQ(out[c], engine::Requantize(values[c], m, static_cast<uint32_t>(n), lo))
              << "acc " << values[c] << " M " << m << " n " << n << " lo " << lo;
        }
      }
    }
  }
}

TEST_P(KernelSetTest, QuantizeInputEqualsTheAbiForEveryPixelAndShift) {
  std::mt19937 rng(16);
  std::vector<int32_t> multipliers = {1, 2, 3, 255, 256, 32639, 65535, 65536};
  for (int i = 0; i < 8; ++i) multipliers.push_back(static_cast<int32_t>(1 + rng() % 65536));
  std::vector<uint8_t> pixels(256 + 41);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i);
  for (const int32_t m : multipliers) {
    for (int32_t s = 0; s <= engine::kMaxInputShift; ++s) {
      // Lengths that end inside a vector and exactly on one.
      for (const size_t n : {size_t{1}, size_t{7}, size_t{33}, pixels.size()}) {
        std::vector<int8_t> out(n + 8, static_cast<int8_t>(kCanary));
        set().quantize_input(pixels.data(), n, m, s, out.data());
        for (size_t j = 0; j < n; ++j) {
          ASSERT_EQ(out[j], engine::QuantizePixel(pixels[j], m, static_cast<uint32_t>(s)))
              << "pixel " << int{pixels[j]} << " M " << m << " shift " << s << " n " << n;
        }
        for (size_t j = n; j < out.size(); ++j) {
          ASSERT_EQ(static_cast<uint8_t>(out[j]), kCanary) << "wrote past n=" << n;
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(EverySetThisCpuRuns, KernelSetTest,
                         ::testing::ValuesIn(SupportedKernelSets()),
                         [](const ::testing::TestParamInfo<const KernelSet*>& info) {
                           std::string name = info.param->name;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(KernelSetRegistryTest, PortableFirstBestLastAndFoundByName) {
  const std::vector<const KernelSet*> sets = SupportedKernelSets();
  ASSERT_FALSE(sets.empty());
  EXPECT_STREQ(sets.front()->name, "portable");
  for (const KernelSet* set : sets) EXPECT_EQ(FindKernelSet(set->name), set);
  EXPECT_EQ(FindKernelSet("no-such-set"), nullptr);
  const std::vector<std::string_view> known = KnownKernelSetNames();
  for (const KernelSet* set : sets) {
    EXPECT_NE(std::find(known.begin(), known.end(), set->name), known.end()) << set->name;
  }
#if defined(__x86_64__)
  EXPECT_THAT(known, ::testing::ElementsAre("portable", "avx2", "avx512vnni"));
#endif
}

}  // namespace
}  // namespace pynq::accel::cpu
