// The layout of the buffers the engine reads and writes in DDR: burst alignment, the strides of
// images and score rows, the trailer after the scores, the scratch a streamed RUN needs, and the
// checksums over scores and over loaded weights. The driver lays its DMA buffers out by these,
// and the engine reads and writes by them.
//
//   const uint32_t stride = InputStride(model_input_bytes);   // image i at input + i * stride
//   ScoresChecksum sum(tag);  for (int32_t s : scores) sum.Add(s);
//   scratch = engine.Allocate(ScratchBytes(max_batch));       // for streamed RUNs
//
// Part of the engine's ABI (this folder): plain C++14, no dependencies, so Vitis HLS compiles it.
#ifndef PYNQ_OVERLAYS_NN_ENGINE_ABI_MEMORY_LAYOUT_H_
#define PYNQ_OVERLAYS_NN_ENGINE_ABI_MEMORY_LAYOUT_H_

#include <cstdint>

#include "overlays/nn_engine/abi/limits.h"

namespace pynq {
namespace engine {

// Every buffer the engine touches starts on a 64-byte boundary (its widest burst), and so does
// every image and every score row inside them.
constexpr uint32_t kBurstBytes = 64;
constexpr uint32_t AlignToBurst(uint32_t bytes) {
  return (bytes + kBurstBytes - 1) / kBurstBytes * kBurstBytes;
}
// The PROGRAM section (a model file's, copied to DDR as it is): a header of kProgramHeaderBytes
// (u32 layer count, then zeros) and one descriptor of kLayerBytes per layer
// (accel/model/MODEL_FORMAT.md "PROGRAM"). The engine reads it as little-endian u64 words.
constexpr uint32_t kProgramHeaderBytes = 16;
constexpr uint32_t kLayerBytes = 64;

// Image i of a RUN starts at input + i * InputStride(bytes of one image).
constexpr uint32_t InputStride(uint32_t image_bytes) { return AlignToBurst(image_bytes); }
// Scores of image i start at output + i * OutputStride(classes): `classes` little-endian int32.
constexpr uint32_t OutputStride(uint32_t classes) { return AlignToBurst(classes * 4); }
// After the last row (at output + batch * OutputStride) the engine writes a 64-byte trailer:
// u64 word 0 = tag | (batch << 32), word 1 = the checksum also in kRegChecksum, the rest 0.
constexpr uint32_t kTrailerBytes = 64;
constexpr uint32_t OutputBytes(uint32_t batch, uint32_t classes) {
  return batch * OutputStride(classes) + kTrailerBytes;
}

// A streamed RUN (registers.h kSlotStreamed) keeps the activations between its tiles in DDR: two
// areas of `batch` images of up to kMaxFeatures bytes each. The engine chooses the layout inside.
constexpr uint32_t kScratchImageBytes = kMaxFeatures;
constexpr uint64_t ScratchBytes(uint32_t batch) {
  return uint64_t{2} * batch * kScratchImageBytes;
}

// Fletcher-style pair of 32-bit sums over a sequence of 32-bit values: a flipped, swapped or
// stale value changes it.
struct Fletcher32 {
  uint32_t sum1;
  uint32_t sum2;
  explicit Fletcher32(uint32_t seed) : sum1(seed), sum2(0) {}
  void Add(uint32_t value) {
    sum1 += value;
    sum2 += sum1;
  }
  uint32_t Value() const { return ((sum2 << 16) | (sum2 >> 16)) ^ sum1; }
};

// The checksum over a RUN's scores (all rows in order, `classes` values each), seeded with the
// tag.
struct ScoresChecksum {
  Fletcher32 sums;
  explicit ScoresChecksum(uint32_t tag) : sums(tag) {}
  void Add(int32_t score) { sums.Add(static_cast<uint32_t>(score)); }
  uint32_t Value() const { return sums.Value(); }
};

// The checksum over what a LOAD copied to the on-chip store, seeded with 0: for each layer with
// weights (ops.h HasWeights()) in program order, every u64 word of its weights blob (ceil(weights_bytes / 8) words, low half first),
// then every i32 of its params blob. The driver computes it from the model file to know that the
// resident copy is the model it synced to DDR.
struct WeightsChecksum {
  Fletcher32 sums{0};
  void AddWord(uint64_t word) {
    sums.Add(static_cast<uint32_t>(word));
    sums.Add(static_cast<uint32_t>(word >> 32));
  }
  void AddParam(int32_t param) { sums.Add(static_cast<uint32_t>(param)); }
  uint32_t Value() const { return sums.Value(); }
};

}  // namespace engine
}  // namespace pynq

#endif  // PYNQ_OVERLAYS_NN_ENGINE_ABI_MEMORY_LAYOUT_H_
