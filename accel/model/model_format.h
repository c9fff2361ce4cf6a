// On-disk constants of the model file, format v1 / engine ABI v1. accel/model/MODEL_FORMAT.md is the
// specification; this header names its numbers once so the loader, the builder and (later) the
// engine driver agree.
#ifndef PYNQ_ACCEL_MODEL_MODEL_FORMAT_H_
#define PYNQ_ACCEL_MODEL_MODEL_FORMAT_H_

#include <bit>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace pynq::accel::format {

// The loader reinterprets weight blobs in place; every supported target (x86-64, ARMv7, ARMv8)
// is little-endian like the file.
static_assert(std::endian::native == std::endian::little, "the model file is little-endian");

inline constexpr std::string_view kMagic{"PYNQMDL\0", 8};
inline constexpr uint16_t kFormatVersion = 1;
inline constexpr uint16_t kEngineAbiVersion = 1;

inline constexpr size_t kHeaderBytes = 64;
inline constexpr size_t kChecksumBytes = 4;
inline constexpr size_t kProgramHeaderBytes = 16;
inline constexpr size_t kLayerBytes = 64;
// WEIGHTS and every blob in it start on this boundary (the engine's widest m_axi burst).
inline constexpr size_t kWeightsAlignment = 64;

// Byte offsets of the header fields.
inline constexpr size_t kFormatVersionOffset = 8;
inline constexpr size_t kAbiVersionOffset = 10;
inline constexpr size_t kHeaderBytesOffset = 12;
inline constexpr size_t kFileBytesOffset = 16;
inline constexpr size_t kMetaOffsetOffset = 20;
inline constexpr size_t kReservedOffset = 44;

// Limits of META.
inline constexpr size_t kMaxNameBytes = 64;
inline constexpr size_t kMaxVersionBytes = 32;
inline constexpr size_t kMaxDescriptionBytes = 1024;
inline constexpr size_t kMaxLabelBytes = 64;
inline constexpr uint32_t kMaxInputChannels = 4;
inline constexpr uint32_t kMaxInputSide = 256;
inline constexpr uint32_t kMinClasses = 2;
inline constexpr uint32_t kMaxClasses = 1024;

// Limits of PROGRAM, set by the engine's on-chip buffers.
inline constexpr uint32_t kMaxLayers = 16;
inline constexpr uint32_t kMaxFeatures = 4096;
// Bound on every threshold and bias, so integer arithmetic on them never overflows.
inline constexpr int32_t kMaxParamMagnitude = 1 << 24;

enum class Op : uint32_t {
  kInputBinarize = 1,
  kBnnDense = 2,
  kBnnDenseScores = 3,
  kInputQuantize = 4,
  kInt8Dense = 5,
  kInt8DenseScores = 6,
  kInt8Conv = 7,
  kMaxPool = 8,
};
inline constexpr uint32_t kFirstOp = 1;
inline constexpr uint32_t kLastOp = 8;

std::string_view OpName(Op op);

// Limits of the int8 ops (MODEL_FORMAT.md "Int8 ops").
// INPUT_QUANTIZE: q = clamp(RoundShift(pixel * arg[0], arg[1])), arg[0] in 1..2^16, arg[1] 0..31.
inline constexpr int32_t kMaxInputMultiplier = 1 << 16;
inline constexpr int32_t kMaxInputShift = 31;
// Requantize(acc, M, n, lo): M in 1..2^31-1, n in 0..62.
inline constexpr int32_t kMaxRequantShift = 62;
// INT8_CONV kernel side K = arg[0]; MAXPOOL window side P = arg[0].
inline constexpr int32_t kMaxKernelSide = 7;
inline constexpr int32_t kMinPoolSide = 2;
inline constexpr int32_t kMaxPoolSide = 4;
// The params blob of INT8_DENSE and INT8_CONV: bias[], multiplier[], shift[], n_out i32 each.
inline constexpr size_t kRequantParamArrays = 3;

// Bits of a binarized vector are packed into 64-bit words (MODEL_FORMAT.md "Ops").
inline constexpr size_t kBitsPerWord = 64;
constexpr size_t WordsForBits(size_t bits) { return (bits + kBitsPerWord - 1) / kBitsPerWord; }

}  // namespace pynq::accel::format

#endif  // PYNQ_ACCEL_MODEL_MODEL_FORMAT_H_
