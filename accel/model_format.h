// On-disk constants of the model file, format v1 / engine ABI v1. accel/MODEL_FORMAT.md is the
// specification; this header names its numbers once so the loader, the builder and (later) the
// engine driver agree.
#ifndef PYNQ_ACCEL_MODEL_FORMAT_H_
#define PYNQ_ACCEL_MODEL_FORMAT_H_

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
};

std::string_view OpName(Op op);

// Bits of a binarized vector are packed into 64-bit words (MODEL_FORMAT.md "Ops").
inline constexpr size_t kBitsPerWord = 64;
constexpr size_t WordsForBits(size_t bits) { return (bits + kBitsPerWord - 1) / kBitsPerWord; }

}  // namespace pynq::accel::format

#endif  // PYNQ_ACCEL_MODEL_FORMAT_H_
