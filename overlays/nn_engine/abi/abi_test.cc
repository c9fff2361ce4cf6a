// The engine ABI's arithmetic and encodings, compiled as C++14 like the HLS sources that include
// it (see CMakeLists.txt), so a C++17 construct in an ABI header fails this build.
#include <cstdint>
#include <limits>

#include "gtest/gtest.h"
#include "overlays/nn_engine/abi/arith.h"
#include "overlays/nn_engine/abi/limits.h"
#include "overlays/nn_engine/abi/memory_layout.h"
#include "overlays/nn_engine/abi/ops.h"
#include "overlays/nn_engine/abi/registers.h"

namespace pynq {
namespace engine {
namespace {

// Values worked out by hand from MODEL_FORMAT.md: RoundShift(x, n) = (x + 2^(n-1)) >> n, a floor,
// so halves round up (towards +infinity) on both sides of zero.
TEST(ArithTest, RoundShiftRoundsHalvesUp) {
  EXPECT_EQ(RoundShift(5, 1), 3);    // 2.5 -> 3
  EXPECT_EQ(RoundShift(-5, 1), -2);  // -2.5 -> -2
  EXPECT_EQ(RoundShift(-3, 1), -1);  // -1.5 -> -1
  EXPECT_EQ(RoundShift(-7, 2), -2);  // -1.75 -> -2
  EXPECT_EQ(RoundShift(6, 2), 2);    // 1.5 -> 2
  EXPECT_EQ(RoundShift(-6, 2), -1);  // -1.5 -> -1
  EXPECT_EQ(RoundShift(9, 0), 9);    // n = 0: unchanged, no rounding term
  EXPECT_EQ(RoundShift(-9, 0), -9);
  // The largest shift with the largest product the format allows: no overflow.
  const int64_t big = int64_t{1 << 27} * std::numeric_limits<int32_t>::max();
  EXPECT_EQ(RoundShift(big, 62), 0);
  EXPECT_EQ(RoundShift(int64_t{3} << 60, 62), 1);     // 0.75 -> 1
  EXPECT_EQ(RoundShift(-(int64_t{1} << 61), 62), 0);  // -0.5 -> 0
}

TEST(ArithTest, RequantizeScalesRoundsAndClamps) {
  // 1000 * 3 / 2^5 = 93.75 -> 94.
  EXPECT_EQ(Requantize(1000, 3, 5, kNoReluLo), 94);
  EXPECT_EQ(Requantize(-1000, 3, 5, kNoReluLo), -94);  // -93.75 -> -94
  EXPECT_EQ(Requantize(-1000, 3, 5, kReluLo), 0);      // ReLU
  EXPECT_EQ(Requantize(2000, 3, 5, kNoReluLo), 127);   // 187.5 saturates
  EXPECT_EQ(Requantize(-2000, 3, 5, kNoReluLo), -128);
  EXPECT_EQ(Requantize(-129, 1, 0, kNoReluLo), -128);
  EXPECT_EQ(Requantize(-2, 1, 2, kNoReluLo), 0);  // -0.5 -> 0
  EXPECT_EQ(Requantize(std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::max(),
                       62, kNoReluLo),
            1);  // (2^31-1)^2 / 2^62 = 0.99999... -> 1
}

// QuantizePixel computes in 32 bits what RoundShift computes in 64, over the whole range the
// loader allows (a few multipliers, every pixel and shift).
TEST(ArithTest, QuantizePixelEqualsRoundShiftOverItsRange) {
  for (int32_t multiplier : {1, 2, 255, 32639, kMaxInputMultiplier}) {
    for (uint32_t shift = 0; shift <= static_cast<uint32_t>(kMaxInputShift); ++shift) {
      for (uint32_t pixel = 0; pixel <= 255; ++pixel) {
        const int64_t wide = RoundShift(int64_t{pixel} * multiplier, shift);
        ASSERT_EQ(QuantizePixel(static_cast<uint8_t>(pixel), multiplier, shift),
                  wide > kInt8Max ? kInt8Max : wide)
            << "pixel " << pixel << " multiplier " << multiplier << " shift " << shift;
      }
    }
  }
}

TEST(OpsTest, CodesNamesAndTensorKinds) {
  EXPECT_FALSE(IsAbiOp(0));
  EXPECT_TRUE(IsAbiOp(kFirstOp));
  EXPECT_TRUE(IsAbiOp(kLastOp));
  EXPECT_FALSE(IsAbiOp(kLastOp + 1));
  EXPECT_STREQ(OpName(Op::kInt8Conv), "INT8_CONV");
  EXPECT_STREQ(OpName(static_cast<Op>(99)), "UNKNOWN");
  // Each ABI op's bit, and nothing else, is in the v1 mask.
  for (uint32_t code = 0; code < 32; ++code) {
    EXPECT_EQ(MaskHasOp(kAbiV1Ops, code), IsAbiOp(code)) << code;
  }
  EXPECT_EQ(InputKind(Op::kBnnDense), TensorKind::kBits);
  EXPECT_EQ(OutputKind(Op::kInputBinarize), TensorKind::kBits);
  EXPECT_EQ(InputKind(Op::kInputQuantize), TensorKind::kPixels);
  EXPECT_EQ(OutputKind(Op::kMaxPool), TensorKind::kInt8);
  EXPECT_EQ(OutputKind(Op::kInt8DenseScores), TensorKind::kScores);
}

TEST(RegistersTest, CapsAndStatusWordsRoundTrip) {
  const uint32_t caps = Caps(kAbiV1Ops, 8, 2);
  EXPECT_EQ(CapsOpMask(caps), kAbiV1Ops);
  EXPECT_EQ(CapsPe(caps), 8u);
  EXPECT_EQ(CapsSimd(caps), 2u);
  EXPECT_TRUE(CapsHasOp(caps, static_cast<uint32_t>(Op::kMaxPool)));
  EXPECT_FALSE(CapsHasOp(Caps(OpBit(Op::kBnnDense), 1, 1), static_cast<uint32_t>(Op::kMaxPool)));
  // Codes past the mask's 16 bits are never "implemented", whatever the high caps bits hold.
  EXPECT_FALSE(CapsHasOp(0xFFFFFFFFu, 16));
  EXPECT_FALSE(CapsHasOp(0xFFFFFFFFu, 40));
  const uint32_t status = MakeStatus(kStatusBadShape, 3, 7);
  EXPECT_EQ(StatusCode(status), kStatusBadShape);
  EXPECT_EQ(StatusLayer(status), 3u);
  EXPECT_EQ(StatusOp(status), 7u);
}

// Vitis HLS lays the arguments out in order from 0x10: a 64-bit pointer in two words and a
// reserved one, a 32-bit input scalar in a word and a reserved one, an output scalar in a data
// and an ap_vld word (check_regmap.py compares with the generated header).
TEST(RegistersTest, ArgumentsFollowTheVitisLayoutInParameterOrder) {
  const uint32_t pointers[] = {kRegProgramLo, kRegWeightsLo, kRegInputLo, kRegOutputLo};
  for (uint32_t i = 0; i < 4; ++i) EXPECT_EQ(pointers[i], 0x10 + 12 * i);
  const uint32_t scalars[] = {kRegBatch, kRegCommand, kRegTag, kRegStatus, kRegChecksum,
                              kRegId,    kRegVersion, kRegCaps};
  for (uint32_t i = 0; i < 8; ++i) EXPECT_EQ(scalars[i], 0x40 + 8 * i);
  EXPECT_EQ(kRegScratchLo, kRegCaps + 8);
  const uint32_t revision2[] = {kRegSlot,      kRegKey,         kRegWeightsBase, kRegParamsBase,
                                kRegStoreRows, kRegStoreParams, kRegNeedRows,    kRegNeedParams};
  for (uint32_t i = 0; i < 8; ++i) EXPECT_EQ(revision2[i], kRegScratchLo + 12 + 8 * i);
  EXPECT_EQ(kRegisterBlockBytes, kRegNeedParams + 8);
  // The engine's outputs, data and ap_vld words, and nothing the driver writes.
  for (uint32_t offset = 0; offset < kRegisterBlockBytes; offset += 4) {
    const bool output = (offset >= kRegStatus && offset <= kRegCaps + 4) ||
                        (offset >= kRegStoreRows && offset <= kRegNeedParams + 4);
    EXPECT_EQ(IsOutputRegister(offset), output) << offset;
  }
  EXPECT_EQ(kEngineVersion, 0x00010002u);
}

TEST(MemoryLayoutTest, ChecksumsAreFletcherSumsOfTheirValues) {
  // Scores: seeded with the tag; sum1 = tag + 1 + 2 = 8, sum2 = 6 + 8 = 14.
  ScoresChecksum scores(5);
  scores.Add(1);
  scores.Add(2);
  EXPECT_EQ(scores.Value(), ((14u << 16) | (14u >> 16)) ^ 8u);
  // Weights: a word's low half, then its high half, then the params.
  WeightsChecksum weights;
  weights.AddWord((uint64_t{2} << 32) | 1);
  weights.AddParam(-1);
  Fletcher32 same(0);
  same.Add(1);
  same.Add(2);
  same.Add(0xFFFFFFFFu);
  EXPECT_EQ(weights.Value(), same.Value());
  EXPECT_EQ(ScratchBytes(64), 2u * 64 * 4096);
}

TEST(MemoryLayoutTest, StridesAreWholeBursts) {
  EXPECT_EQ(InputStride(784), 832u);
  EXPECT_EQ(OutputStride(10), 64u);
  EXPECT_EQ(OutputBytes(3, 10), 3 * 64u + kTrailerBytes);
  EXPECT_EQ(kProgramHeaderBytes + kMaxLayers * kLayerBytes, 16u + 16 * 64);
}

}  // namespace
}  // namespace engine
}  // namespace pynq
