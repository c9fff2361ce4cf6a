// MAXPOOL (op 8): the maximum of each non-overlapping P x P window of a C x H x W int8 tensor,
// out (C, H/P, W/P) (accel/model/MODEL_FORMAT.md "Int8 ops"). On-chip buffer to on-chip buffer:
// a cycle reads 16 consecutive inputs of one input row (one window read) and advances
// floor(16 / P) outputs (8, 5 or 4) by one row of their windows; after P rows they are written.
//   invariant: step (ch, oy, tile, dy) reads input row ch * H + oy * P + dy from column
//              tile * T * P, T = floor(16 / P) outputs per tile
#ifndef PYNQ_OVERLAYS_NN_ENGINE_MAXPOOL_H_
#define PYNQ_OVERLAYS_NN_ENGINE_MAXPOOL_H_

#include <cstdint>

#include "overlays/nn_engine/act_buffers.h"
#include "overlays/nn_engine/hls_compat.h"
#include "overlays/nn_engine/plan.h"

namespace pynq {
namespace engine {

// Largest window side of ABI v1 (limits.h kMaxPoolSide).
constexpr uint32_t kMaxPoolP = 4;

// The layer's arguments; ReadProgram() checked that H and W are multiples of p and
// c * h * w <= kMaxFeatures.
struct MaxPoolArgs {
  uint32_t c, h, w;  // input (c: all channels, or a tile's)
  uint32_t p;        // arg[0], 2..kMaxPoolP
};

// Outputs one step advances.
inline uint32_t PoolTileOutputs(uint32_t p) { return kActBanks / p; }

// Steps of the pool: every output row's tiles, P input rows each.
inline uint32_t PoolSteps(const MaxPoolArgs& args) {
  const uint32_t oh = args.h / args.p;
  const uint32_t ow = args.w / args.p;
  return args.c * oh * CeilDiv32(ow, PoolTileOutputs(args.p)) * args.p;
}

inline void MaxPool(const MaxPoolArgs& args, const int8_t in[kActRows][kActBanks],
                    int8_t out[kActRows][kActBanks], Clock& clock) {
  const uint32_t ow = args.w / args.p;
  const uint32_t per_tile = PoolTileOutputs(args.p);
  const uint32_t tiles = CeilDiv32(ow, per_tile);
  const uint32_t steps = PoolSteps(args);
  int8_t running[kActBanks];
#pragma HLS ARRAY_PARTITION variable = running complete
Clear:
  for (uint32_t i = 0; i < kActBanks; ++i) {
#pragma HLS UNROLL
    running[i] = 0;
  }
  uint32_t dy = 0, tile = 0, out_row = 0;  // out_row = ch * oh + oy
  uint32_t in_row = 0;                     // ch * h + oy * p + dy
  // II = 1: `in` is read as one 16-byte window (one read per bank), `out` gets at most
  // per_tile <= 8 consecutive elements (WriteRun: at most one write per bank), and the running
  // maxima are registers.
Steps:
  for (uint32_t s = 0; s < kMaxFeatures * kMaxPoolP; ++s) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 4 max = 2048
    if (s >= steps) break;
    clock.Tick(1);
    const Entry window = ReadWindow(in, in_row * args.w + tile * per_tile * args.p);
    Entry maxima = {0, 0};
  Outputs:
    for (uint32_t i = 0; i < kActBanks; ++i) {
#pragma HLS UNROLL
      // Output i of the tile covers window bytes i * p .. i * p + p - 1.
      int8_t m = EntryByte(window, (i * args.p) % kActBanks);
    Columns:
      for (uint32_t dx = 1; dx < kMaxPoolP; ++dx) {
#pragma HLS UNROLL
        const int8_t v = EntryByte(window, (i * args.p + dx) % kActBanks);
        if (dx < args.p && v > m) m = v;
      }
      running[i] = dy == 0 || m > running[i] ? m : running[i];
      const uint64_t byte = static_cast<uint8_t>(running[i]);
      if (i < 8) {
        maxima.lo |= byte << (8 * i);
      } else {
        maxima.hi |= byte << (8 * (i - 8));
      }
    }
    if (dy + 1 == args.p) {
      const uint32_t x = tile * per_tile;
      const uint32_t left = ow - x;
      WriteRun(out, out_row * ow + x, maxima, left < per_tile ? left : per_tile);
      dy = 0;
      in_row -= args.p - 1;
      if (++tile == tiles) {
        tile = 0;
        ++out_row;
        in_row += args.p;
      }
    } else {
      ++dy;
      ++in_row;
    }
  }
  clock.Add(kDepthPool);
}

}  // namespace engine
}  // namespace pynq

#endif  // PYNQ_OVERLAYS_NN_ENGINE_MAXPOOL_H_
