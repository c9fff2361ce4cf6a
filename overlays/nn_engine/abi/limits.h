// The limits of engine ABI v1 (accel/model/MODEL_FORMAT.md): what a model file may ask of the
// engine, set by the engine's on-chip buffers and by the integer ranges its arithmetic is proven
// for. The model loader rejects a file beyond them; the engine checks the ones its fixed-size
// buffers depend on again (program.h), so a corrupt program cannot index past them.
//
//   static_assert(kMaxFeatures % kBitsPerWord == 0, "...");
//   if (layers > kMaxLayers) ...
//
// Part of the engine's ABI (this folder): plain C++14, no dependencies, so Vitis HLS compiles it.
#ifndef PYNQ_OVERLAYS_NN_ENGINE_ABI_LIMITS_H_
#define PYNQ_OVERLAYS_NN_ENGINE_ABI_LIMITS_H_

#include <cstddef>
#include <cstdint>

namespace pynq {
namespace engine {

// Layers of one program.
constexpr uint32_t kMaxLayers = 16;
// Elements of any tensor between layers (and of the input image).
constexpr uint32_t kMaxFeatures = 4096;
// Class scores the last layer writes.
constexpr uint32_t kMaxClasses = 1024;
// Images of one engine call.
constexpr uint32_t kMaxBatch = 1024;

// Bound on every threshold and bias, so integer arithmetic on them never overflows.
constexpr int32_t kMaxParamMagnitude = 1 << 24;

// INPUT_QUANTIZE: q = clamp(RoundShift(pixel * arg[0], arg[1])), arg[0] in 1..2^16, arg[1] 0..31.
constexpr int32_t kMaxInputMultiplier = 1 << 16;
constexpr int32_t kMaxInputShift = 31;
// Requantize(acc, M, n, lo): M in 1..2^31-1, n in 0..62.
constexpr int32_t kMaxRequantShift = 62;
// INT8_CONV kernel side K = arg[0]; MAXPOOL window side P = arg[0].
constexpr int32_t kMaxKernelSide = 7;
constexpr int32_t kMinPoolSide = 2;
constexpr int32_t kMaxPoolSide = 4;
// The params blob of INT8_DENSE and INT8_CONV: bias[], multiplier[], shift[], n_out i32 each.
constexpr uint32_t kRequantParamArrays = 3;

// Bits of a binarized vector are packed into 64-bit little-endian words, bit j of the vector in
// bit j % 64 of word j / 64; padding bits are 0.
constexpr uint32_t kBitsPerWord = 64;
constexpr size_t WordsForBits(size_t bits) { return (bits + kBitsPerWord - 1) / kBitsPerWord; }

static_assert(kMaxFeatures % kBitsPerWord == 0, "activation buffers hold whole words");

}  // namespace engine
}  // namespace pynq

#endif  // PYNQ_OVERLAYS_NN_ENGINE_ABI_LIMITS_H_
