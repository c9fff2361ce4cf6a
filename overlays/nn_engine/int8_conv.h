// INT8_CONV (op 7): a valid (no padding), stride-1 K x K convolution of a C x H x W int8 tensor
// into OC channels of (H-K+1) x (W-K+1) (accel/model/MODEL_FORMAT.md "Int8 ops"):
//   acc = bias_o + sum_{c,ky,kx} w[o][c][ky][kx] * x[c][y+ky][x+kx];  out = Requantize(acc, ...)
//
// On the MAC array of int8_dense.h (kLanes lanes of eight int8 MACs): a group is kConvChannels
// (2) output channels x kConvPixels (8) adjacent output pixels of one output row, lane
// p = ch * 8 + px. A step is one kernel row (c, ky): the 16 input bytes x[c][y+ky][x0 .. x0+15]
// come from one window read (an on-chip im2col of 8 pixels' kernel rows: the 8 pixels' windows
// overlap, so every byte read feeds up to 8 lanes), lane p takes bytes px .. px + 7 against its
// channel's kernel row (K <= 7 taps, padded to 8 with zero weights). A group takes C * K steps;
// its 16 results drain through the requantization units while the next group runs, as in
// int8_dense.h, so a group takes max(C * K, kLanes / kDrainLanes) cycles.
//   invariant: group = (pair g, output row y, x-tile t), pixel x = 8 t + px, channel 2 g + ch;
//              step s = c * K + ky reads store row store_row + g * ceil(C K / 8) + s / 8,
//              banks 2 (s % 8) and 2 (s % 8) + 1 (plan.h)
#ifndef PYNQ_OVERLAYS_NN_ENGINE_INT8_CONV_H_
#define PYNQ_OVERLAYS_NN_ENGINE_INT8_CONV_H_

#include <cstdint>

#include "overlays/nn_engine/abi/arith.h"
#include "overlays/nn_engine/act_buffers.h"
#include "overlays/nn_engine/bnn_dense.h"
#include "overlays/nn_engine/engine_config.h"
#include "overlays/nn_engine/hls_compat.h"
#include "overlays/nn_engine/int8_dense.h"
#include "overlays/nn_engine/plan.h"

namespace pynq {
namespace engine {

// The layer's arguments in a pass; ReadProgram() checked that k <= h, k <= w,
// c * h * w <= kMaxFeatures and channels * (h-k+1) * (w-k+1) <= kMaxFeatures.
struct ConvArgs {
  uint32_t c, h, w;      // input
  uint32_t k;            // arg[0], 1..7
  uint32_t channels;     // output channels computed: all OC, or a tile's
  uint32_t store_row;    // first store row of these channels' kernels
  uint32_t param_row;    // first params row
  bool relu;             // arg[1]
};

// Groups of a convolution: channel pairs x output rows x 8-pixel tiles of a row.
template <typename Config>
uint32_t ConvGroups(const ConvArgs& args) {
  const uint32_t oh = args.h - args.k + 1;
  const uint32_t ow = args.w - args.k + 1;
  return CeilDiv32(args.channels, Config::kConvChannels) * oh *
         CeilDiv32(ow, Config::kConvPixels);
}

template <typename Config>
void Int8Conv(const ConvArgs& args, const uint64_t store[Config::kStoreRows][Config::kLanes],
              const int32_t bias[Config::kDrainLanes][Config::kParamRows],
              const int32_t multiplier[Config::kDrainLanes][Config::kParamRows],
              const uint8_t shift[Config::kDrainLanes][Config::kParamRows],
              const int8_t in[kActRows][kActBanks], int8_t out[kActRows][kActBanks],
              Clock& clock) {
  constexpr uint32_t kLanes = Config::kLanes;
  constexpr uint32_t kPixels = Config::kConvPixels;
  constexpr uint32_t kDrain = Config::kDrainLanes;
  constexpr uint32_t kDrainSteps = kLanes / kDrain;
  constexpr uint32_t kRowsPerStoreRow = kLanes / Config::kConvChannels;  // kernel rows of a pair
  const uint32_t oh = args.h - args.k + 1;
  const uint32_t ow = args.w - args.k + 1;
  const uint32_t tiles = CeilDiv32(ow, kPixels);
  const uint32_t steps = args.c * args.k;
  const uint32_t pair_rows = CeilDiv32(steps, kRowsPerStoreRow);
  const uint32_t groups = ConvGroups<Config>(args);
  const uint32_t span = steps > kDrainSteps ? steps : kDrainSteps;
  const uint32_t iterations = LaneLoopIterations<Config>(groups, steps);
  const int32_t lo = args.relu ? kReluLo : kNoReluLo;
  int32_t acc[kLanes];
  int32_t pending[kLanes];
#pragma HLS ARRAY_PARTITION variable = acc complete
#pragma HLS ARRAY_PARTITION variable = pending complete
ClearAcc:
  for (uint32_t p = 0; p < kLanes; ++p) {
#pragma HLS UNROLL
    acc[p] = 0;
    pending[p] = 0;
  }
  // The group being computed, and its step: all kept as counters, no division in the loop.
  uint32_t group = 0, pair = 0, y = 0, tile = 0;
  uint32_t step = 0, ky = 0, row_off = 0, lane_bank = 0, step_row = 0;  // row_off = (c H + ky) W
  uint32_t pair_row = args.store_row;  // invariant: store_row + pair * pair_rows
  // The group whose results drain.
  uint32_t pending_pair = 0, pending_y = 0, pending_tile = 0;
  uint32_t drained = kDrainSteps;
  // II = 1: per cycle every store bank is read once at one row (two of the 16 words are used),
  // `in` is read as one 16-byte window (ReadWindow: one read per bank; the loop never writes
  // `in`), each params array once per bank (all four banks at one row, the channel's picked),
  // and `out` gets at most kDrainLanes consecutive elements (WriteRun: at most one write per
  // bank). The recurrences are one-cycle adds (acc, counters).
Lanes:
  for (uint32_t it = 0; it < kMaxLaneLoopIterations; ++it) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 16 max = 4096
    if (it >= iterations) break;
    clock.Tick(1);
    if (group < groups && step < steps) {
      const Entry window = ReadWindow(in, row_off + y * args.w + tile * kPixels);
      uint64_t row_words[kLanes];
#pragma HLS ARRAY_PARTITION variable = row_words complete
    Banks:
      for (uint32_t b = 0; b < kLanes; ++b) {
#pragma HLS UNROLL
        row_words[b] = store[pair_row + step_row][b];
      }
      uint64_t w[kLanes];
      uint64_t x[kLanes];
#pragma HLS ARRAY_PARTITION variable = w complete
#pragma HLS ARRAY_PARTITION variable = x complete
    Pe:
      for (uint32_t p = 0; p < kLanes; ++p) {
#pragma HLS UNROLL
        // invariant: lane p = channel p / 8 of the pair, pixel p % 8 of the tile
        w[p] = row_words[2 * lane_bank + p / kPixels];
        x[p] = EntryBytes8(window, p % kPixels);
      }
      MacLanes<kLanes>(w, x, acc);
    }
    if (drained < kDrainSteps) {
      // Drain step d: lanes 4d .. 4d + 3, one channel, four adjacent pixels.
      const uint32_t ch = drained * kDrain / kPixels;
      const uint32_t first_px = drained * kDrain % kPixels;
      const uint32_t o = pending_pair * Config::kConvChannels + ch;
      const uint32_t x = pending_tile * kPixels + first_px;
      const uint32_t prow = args.param_row + o / kDrain;
      int32_t channel_bias = 0, channel_multiplier = 0;
      uint32_t channel_shift = 0;
    Params:
      for (uint32_t i = 0; i < kDrain; ++i) {
#pragma HLS UNROLL
        if (o % kDrain == i) {
          channel_bias = bias[i][prow];
          channel_multiplier = multiplier[i][prow];
          channel_shift = shift[i][prow];
        }
      }
      Entry values = {0, 0};
    Drain:
      for (uint32_t i = 0; i < kDrain; ++i) {
#pragma HLS UNROLL
        const int32_t acc_i = BiasedAcc(channel_bias, pending[drained * kDrain + i]);
        const int32_t q = Requantize(acc_i, channel_multiplier, channel_shift, lo);
        values.lo |= static_cast<uint64_t>(static_cast<uint8_t>(q)) << (8 * i);
      }
      if (o < args.channels && x < ow) {
        const uint32_t left = ow - x;
        WriteRun(out, (o * oh + pending_y) * ow + x, values, left < kDrain ? left : kDrain);
      }
      ++drained;
    }
    if (group < groups) {
      if (step + 1 == span) {
      Hand:
        for (uint32_t p = 0; p < kLanes; ++p) {
#pragma HLS UNROLL
          pending[p] = acc[p];
          acc[p] = 0;
        }
        pending_pair = pair;
        pending_y = y;
        pending_tile = tile;
        drained = 0;
        ++group;
        step = 0;
        ky = 0;
        row_off = 0;
        lane_bank = 0;
        step_row = 0;
        if (++tile == tiles) {
          tile = 0;
          if (++y == oh) {
            y = 0;
            ++pair;
            pair_row += pair_rows;
          }
        }
      } else {
        ++step;
        // Next kernel row: ky + 1, or the next input channel's first.
        if (++ky == args.k) {
          ky = 0;
          row_off += (args.h - args.k + 1) * args.w;
        } else {
          row_off += args.w;
        }
        if (++lane_bank == kRowsPerStoreRow) {
          lane_bank = 0;
          ++step_row;
        }
      }
    }
  }
  clock.Add(kDepthMac);
}

}  // namespace engine
}  // namespace pynq

#endif  // PYNQ_OVERLAYS_NN_ENGINE_INT8_CONV_H_
