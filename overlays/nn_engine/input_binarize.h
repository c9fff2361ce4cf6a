// INPUT_BINARIZE (op 1): reads one image of `n` uint8 pixels from DDR and packs it into bits,
// bit j = pixel[j] >= threshold (accel/model/MODEL_FORMAT.md). Pixels arrive 8 per 64-bit word, so
// one word is consumed per cycle; the packed output has zero padding bits.
#ifndef PYNQ_OVERLAYS_NN_ENGINE_INPUT_BINARIZE_H_
#define PYNQ_OVERLAYS_NN_ENGINE_INPUT_BINARIZE_H_

#include <cstdint>

#include "overlays/nn_engine/engine_config.h"

namespace pynq {
namespace engine {

// \tparam Config an EngineConfig
// \param input     the input port; the image starts at word `first_word`
// \param n         pixels, 1..kMaxFeatures (checked by ReadProgram)
// \param threshold binarization threshold, 1..255
// \param bits      out: Config::kMaxWords packed words, the first ceil(n/64) meaningful
template <typename Config, typename Port>
void InputBinarize(const Port& input, uint32_t first_word, uint32_t n, uint32_t threshold,
                   uint64_t bits[Config::kMaxWords]) {
ClearBits:
  for (uint32_t w = 0; w < Config::kMaxWords; ++w) {
#pragma HLS UNROLL factor = 8
    bits[w] = 0;
  }
PixelWords:
  for (uint32_t pw = 0; pw < Config::kMaxInputWords; ++pw) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 512
    if (pw * 8 >= n) break;
    const uint64_t pixels = input.Read(first_word + pw);
    uint64_t packed = 0;
  Lanes:
    for (uint32_t b = 0; b < 8; ++b) {
#pragma HLS UNROLL
      // invariant: pixel index j = pw * 8 + b; bits past n stay 0 (the padding rule)
      const uint32_t pixel = static_cast<uint32_t>((pixels >> (8 * b)) & 0xFFu);
      const bool inside = pw * 8 + b < n;
      packed |= static_cast<uint64_t>(inside && pixel >= threshold) << b;
    }
    // 8 pixels fill one byte of the packed word: word pw/8, byte pw%8.
    bits[pw / 8] |= packed << (8 * (pw % 8));
  }
}

}  // namespace engine
}  // namespace pynq

#endif  // PYNQ_OVERLAYS_NN_ENGINE_INPUT_BINARIZE_H_
