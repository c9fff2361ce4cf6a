// INPUT_QUANTIZE (op 4): reads one image of `n` uint8 pixels from DDR and quantizes it to int8,
// q = clamp(RoundShift(pixel * multiplier, shift), -128, 127) (accel/model/MODEL_FORMAT.md). Pixels
// arrive 8 per 64-bit word, one word per cycle.
#ifndef PYNQ_OVERLAYS_NN_ENGINE_INPUT_QUANTIZE_H_
#define PYNQ_OVERLAYS_NN_ENGINE_INPUT_QUANTIZE_H_

#include <cstdint>

#include "overlays/nn_engine/engine_config.h"
#include "overlays/nn_engine/int8_arith.h"

namespace pynq {
namespace engine {

// The layer's arguments, from its descriptor.
struct InputQuantizeArgs {
  uint32_t n;           // pixels, 1..kMaxFeatures (checked by ReadProgram)
  int32_t multiplier;   // arg[0], 1..2^16
  uint32_t shift;       // arg[1], 0..31
};

// \param input the input port; the image starts at word `first_word`
// \param out   int8 activations, the first n meaningful
template <typename Port>
void InputQuantize(const Port& input, uint32_t first_word, const InputQuantizeArgs& args,
                   int8_t out[kMaxFeatures]) {
PixelWords:
  for (uint32_t pw = 0; pw < kMaxFeatures / 8; ++pw) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 512
    if (pw * 8 >= args.n) break;
    const uint64_t pixels = input.Read(first_word + pw);
  Lanes:
    for (uint32_t b = 0; b < 8; ++b) {
#pragma HLS UNROLL
      // invariant: pixel index j = pw * 8 + b
      const uint8_t pixel = static_cast<uint8_t>(pixels >> (8 * b));
      if (pw * 8 + b < args.n) {
        out[pw * 8 + b] = static_cast<int8_t>(QuantizePixel(pixel, args.multiplier, args.shift));
      }
    }
  }
}

}  // namespace engine
}  // namespace pynq

#endif  // PYNQ_OVERLAYS_NN_ENGINE_INPUT_QUANTIZE_H_
