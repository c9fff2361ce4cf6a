// MAXPOOL (op 8): the maximum of each non-overlapping P x P window of a C x H x W int8 tensor,
// out (C, H/P, W/P) (accel/model/MODEL_FORMAT.md "Int8 ops"). On-chip buffer to on-chip buffer, one
// output per P*P cycles: the window's elements are compared one per cycle.
#ifndef PYNQ_OVERLAYS_NN_ENGINE_MAXPOOL_H_
#define PYNQ_OVERLAYS_NN_ENGINE_MAXPOOL_H_

#include <cstdint>

#include "overlays/nn_engine/engine_config.h"

namespace pynq {
namespace engine {

// Largest window side of ABI v1.
constexpr uint32_t kMaxPoolP = 4;

// The layer's arguments; ReadProgram() checked that H and W are multiples of p and
// c * h * w <= kMaxFeatures.
struct MaxPoolArgs {
  uint32_t c, h, w;  // input
  uint32_t p;        // arg[0], 2..kMaxPoolP
};

inline void MaxPool(const MaxPoolArgs& args, const int8_t in[kMaxFeatures],
                    int8_t out[kMaxFeatures]) {
  const uint32_t oh = args.h / args.p;
  const uint32_t ow = args.w / args.p;
Outputs:
  for (uint32_t o = 0; o < kMaxFeatures; ++o) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 1024
    if (o >= args.c * oh * ow) break;
    // invariant: o = (ch * oh + y) * ow + x; the window's top-left is in[(ch*h + y*p)*w + x*p]
    const uint32_t x = o % ow;
    const uint32_t y = o / ow % oh;
    const uint32_t ch = o / (ow * oh);
    const uint32_t corner = (ch * args.h + y * args.p) * args.w + x * args.p;
    int8_t m = in[corner];
  WindowRows:
    for (uint32_t dy = 0; dy < kMaxPoolP; ++dy) {
      if (dy >= args.p) break;
    WindowCols:
      for (uint32_t dx = 0; dx < kMaxPoolP; ++dx) {
#pragma HLS PIPELINE II = 1
        if (dx >= args.p) break;
        const int8_t v = in[corner + dy * args.w + dx];
        m = v > m ? v : m;
      }
    }
    out[o] = m;
  }
}

}  // namespace engine
}  // namespace pynq

#endif  // PYNQ_OVERLAYS_NN_ENGINE_MAXPOOL_H_
