// On-disk constants of the model file, format v2 (v1 is still read): its magic, versions, section sizes and header
// offsets, and the limits of its META section. accel/model/MODEL_FORMAT.md is the specification;
// this header names its numbers once so the loader and the builder agree. What the file says to
// the engine (op codes, the limits of PROGRAM, the integer arithmetic) is the engine's ABI,
// overlays/nn_engine/abi/, which the loader, the backends and the engine all include.
//
//   if (header.substr(0, kMagic.size()) != kMagic) ...
#ifndef PYNQ_ACCEL_MODEL_MODEL_FORMAT_H_
#define PYNQ_ACCEL_MODEL_MODEL_FORMAT_H_

#include <bit>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "overlays/nn_engine/abi/limits.h"
#include "overlays/nn_engine/abi/memory_layout.h"
#include "overlays/nn_engine/abi/ops.h"
#include "overlays/nn_engine/abi/registers.h"

namespace pynq::accel::format {

// The loader reinterprets weight blobs in place; every supported target (x86-64, ARMv7, ARMv8)
// is little-endian like the file.
static_assert(std::endian::native == std::endian::little, "the model file is little-endian");

inline constexpr std::string_view kMagic{"PYNQMDL\0", 8};
// Written by the builder and the Python tools; the loader reads both. v2 added the input
// preprocessing record at the end of META (MODEL_FORMAT.md "Input preprocessing").
inline constexpr uint16_t kFormatVersion = 2;
inline constexpr uint16_t kOldestFormatVersion = 1;
// The model file carries the engine ABI major it was built for (registers.h kEngineAbiMajor).
inline constexpr uint16_t kEngineAbiVersion = engine::kEngineAbiMajor;

inline constexpr size_t kHeaderBytes = 64;
inline constexpr size_t kChecksumBytes = 4;
inline constexpr size_t kProgramHeaderBytes = engine::kProgramHeaderBytes;
inline constexpr size_t kLayerBytes = engine::kLayerBytes;
// WEIGHTS and every blob in it start on this boundary (the engine's widest m_axi burst).
inline constexpr size_t kWeightsAlignment = engine::kBurstBytes;

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

}  // namespace pynq::accel::format

#endif  // PYNQ_ACCEL_MODEL_MODEL_FORMAT_H_
