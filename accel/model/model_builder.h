// Builds model files in memory, for tests and tools: a structured ModelSpec in, the exact bytes of
// accel/model/MODEL_FORMAT.md out. The loader (model.h) is tested against files built here,
// including ones deliberately broken after building.
//
//   ModelSpec spec = RandomBnnSpec({.seed = 7, .hidden = {64}});
//   ModelSpec lenet = RandomInt8Spec({.seed = 7, .stages = {Int8Conv(6, 5), Int8Pool(2)}});
//   std::vector<uint8_t> file = SerializeModel(spec);
//   file[100] ^= 1;                 // corrupt a byte ...
//   RewriteChecksum(file);          // ... and make the CRC match, to reach the deeper checks
#ifndef PYNQ_ACCEL_MODEL_MODEL_BUILDER_H_
#define PYNQ_ACCEL_MODEL_MODEL_BUILDER_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "accel/model/model.h"
#include "accel/model/model_format.h"

namespace pynq::accel {

struct LayerSpec {
  engine::Op op;
  Shape in;
  Shape out;
  // Raw blob bytes; placed 64-byte aligned in WEIGHTS in layer order, weights then params.
  std::vector<uint8_t> weights;
  std::vector<uint8_t> params;
  std::array<int32_t, 3> arg{};
};

struct ModelSpec {
  std::string name = "test-model";
  std::string version = "1";
  std::string description;
  Shape input{1, 28, 28};
  std::vector<std::string> labels;
  // Written as the v2 preprocessing record; format_version 1 leaves the record out.
  InputPreprocessing preprocessing;
  uint16_t format_version = format::kFormatVersion;
  std::vector<LayerSpec> layers;
};

// Serializes `spec` without validating it, so tests can build inconsistent files on purpose.
std::vector<uint8_t> SerializeModel(const ModelSpec& spec);

// Recomputes the trailing CRC-32 of a file after a test edited it.
void RewriteChecksum(std::vector<uint8_t>& file);

struct RandomBnnOptions {
  uint64_t seed = 1;
  Shape input{1, 28, 28};
  // Widths of the hidden BNN_DENSE layers, in order; the scores layer follows.
  std::vector<uint32_t> hidden = {64};
  uint32_t num_classes = 10;
  // Pixels >= this are +1.
  int32_t binarize_threshold = 128;
};

// A valid binarized model with uniformly random weight bits (padding zero), thresholds near the
// middle of each layer's dot-product range and small random biases: every unit toggles.
ModelSpec RandomBnnSpec(const RandomBnnOptions& options);

// One hidden stage of a random int8 model; build them with Int8Dense(), Int8Conv(), Int8Pool().
struct Int8StageSpec {
  engine::Op op;      // kInt8Dense, kInt8Conv or kMaxPool.
  uint32_t size = 0;  // kInt8Dense: outputs; kInt8Conv: output channels.
  int32_t side = 0;   // kInt8Conv: kernel side K; kMaxPool: window side P.
  bool relu = true;   // kInt8Dense, kInt8Conv: clamp at 0.
};

inline Int8StageSpec Int8Dense(uint32_t outputs, bool relu = true) {
  return {.op = engine::Op::kInt8Dense, .size = outputs, .relu = relu};
}
inline Int8StageSpec Int8Conv(uint32_t channels, int32_t kernel, bool relu = true) {
  return {.op = engine::Op::kInt8Conv, .size = channels, .side = kernel, .relu = relu};
}
inline Int8StageSpec Int8Pool(int32_t window) {
  return {.op = engine::Op::kMaxPool, .side = window, .relu = false};
}

struct RandomInt8Options {
  uint64_t seed = 1;
  Shape input{1, 28, 28};
  // Hidden stages after INPUT_QUANTIZE, in order; INT8_DENSE_SCORES follows.
  std::vector<Int8StageSpec> stages = {Int8Dense(32)};
  uint32_t num_classes = 10;
};

// A valid int8 model: INPUT_QUANTIZE, the stages, INT8_DENSE_SCORES. Weights are uniform over all
// of int8 (-128 included); requantization multipliers and shifts put most outputs inside the int8
// range, so clamps, ReLU and rounding all act. A few channels carry the extremes the format allows
// (shift 0, shift 62, multiplier 2^31-1, bias +-2^24) so kernels are checked at the edges too.
ModelSpec RandomInt8Spec(const RandomInt8Options& options);

// Packs ±1 signs (true = +1) into the rows-of-u64 layout, `n_in` bits per row.
std::vector<uint8_t> PackBitRows(const std::vector<std::vector<bool>>& rows, size_t n_in);

// Little-endian bytes of int32 values, the layout of params blobs.
std::vector<uint8_t> Int32Bytes(const std::vector<int32_t>& values);

// The bytes of int8 values, the layout of int8 weight blobs.
std::vector<uint8_t> Int8Bytes(const std::vector<int8_t>& values);

// The params blob of INT8_DENSE and INT8_CONV: bias[], multiplier[], shift[] back to back.
std::vector<uint8_t> RequantParamsBytes(const std::vector<int32_t>& bias,
                                        const std::vector<int32_t>& multiplier,
                                        const std::vector<int32_t>& shift);

}  // namespace pynq::accel

#endif  // PYNQ_ACCEL_MODEL_MODEL_BUILDER_H_
