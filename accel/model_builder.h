// Builds model files in memory, for tests and tools: a structured ModelSpec in, the exact bytes of
// accel/MODEL_FORMAT.md out. The loader (model.h) is tested against files built here, including
// ones deliberately broken after building.
//
//   ModelSpec spec = RandomBnnSpec({.seed = 7, .hidden = {64}});
//   std::vector<uint8_t> file = SerializeModel(spec);
//   file[100] ^= 1;                 // corrupt a byte ...
//   RewriteChecksum(file);          // ... and make the CRC match, to reach the deeper checks
#ifndef PYNQ_ACCEL_MODEL_BUILDER_H_
#define PYNQ_ACCEL_MODEL_BUILDER_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "accel/model.h"
#include "accel/model_format.h"

namespace pynq::accel {

struct LayerSpec {
  format::Op op;
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

// Packs ±1 signs (true = +1) into the rows-of-u64 layout, `n_in` bits per row.
std::vector<uint8_t> PackBitRows(const std::vector<std::vector<bool>>& rows, size_t n_in);

// Little-endian bytes of int32 values, the layout of params blobs.
std::vector<uint8_t> Int32Bytes(const std::vector<int32_t>& values);

}  // namespace pynq::accel

#endif  // PYNQ_ACCEL_MODEL_BUILDER_H_
