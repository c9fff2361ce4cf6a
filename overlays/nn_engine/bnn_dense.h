// BNN_DENSE (op 2) and BNN_DENSE_SCORES (op 3): the binarized dense layer, XNOR-popcount over
// packed bits (accel/model/MODEL_FORMAT.md): dot_i = n_in - 2 * popcount(row_i XOR input).
//
// Folding (FINN's PE x SIMD): the rows are taken kLanes at a time (a group), lane p computing row
// group * kLanes + p from store bank p, one 64-bit word (SIMD 1) per cycle, so a group takes
// ceil(n_in / 64) cycles. The kLanes results then drain kDrainLanes per cycle (threshold compare
// or bias add) while the lanes work on the next group; a group therefore takes
// max(words, kLanes / kDrainLanes) cycles.
//   invariant: row = group * kLanes + p, its word w at store row store_row + group * words + w
#ifndef PYNQ_OVERLAYS_NN_ENGINE_BNN_DENSE_H_
#define PYNQ_OVERLAYS_NN_ENGINE_BNN_DENSE_H_

#include <cstdint>

#include "overlays/nn_engine/act_buffers.h"
#include "overlays/nn_engine/engine_config.h"
#include "overlays/nn_engine/hls_compat.h"
#include "overlays/nn_engine/plan.h"

namespace pynq {
namespace engine {

// The arguments of one dense layer (binarized or int8) in a pass.
struct DenseArgs {
  uint32_t n_in;
  uint32_t rows;       // output rows computed: all n_out, or a tile's
  uint32_t store_row;  // first store row of these rows' weights
  uint32_t param_row;  // first params row of their params
  bool scores;         // *_SCORES: int32 scores out
  bool relu;           // INT8_DENSE's arg[1]
};

// Iterations of the lanes' loop for `groups` groups of `steps` words each: every group takes at
// least kLanes / kDrainLanes cycles (its drain), and the last group's drain follows.
template <typename Config>
uint32_t LaneLoopIterations(uint32_t groups, uint32_t steps) {
  const uint32_t drain = Config::kLanes / Config::kDrainLanes;
  return groups * (steps > drain ? steps : drain) + drain;
}

// Upper bound of any layer's lane loop (ReadProgram's limits), for the loops' static bounds.
constexpr uint32_t kMaxLaneLoopIterations = 1u << 24;

// \param in     packed input bits, ceil(n_in / 64) meaningful words (padding bits 0)
// \param out    BNN_DENSE: the output bits, ceil(rows / 64) words (bits past `rows` 0)
// \param scores BNN_DENSE_SCORES: `rows` scores, dot_i + bias_i
// Thresholds / biases are params bank i % kDrainLanes, row param_row + i / kDrainLanes.
template <typename Config>
void BnnDense(const DenseArgs& args, const uint64_t store[Config::kStoreRows][Config::kLanes],
              const int32_t bias[Config::kDrainLanes][Config::kParamRows],
              const uint64_t in[kBitRows][kBitBanks], uint64_t out[kBitRows][kBitBanks],
              int32_t scores[kScoreRows][kScoreBanks], Clock& clock) {
  constexpr uint32_t kLanes = Config::kLanes;
  constexpr uint32_t kDrain = Config::kDrainLanes;
  constexpr uint32_t kDrainSteps = kLanes / kDrain;
  static_assert(kDrain == kScoreBanks, "a drain step writes one score per score bank");
  const uint32_t steps = CeilDiv32(args.n_in, 64);
  const uint32_t groups = CeilDiv32(args.rows, kLanes);
  const uint32_t span = steps > kDrainSteps ? steps : kDrainSteps;
  const uint32_t iterations = LaneLoopIterations<Config>(groups, steps);
  uint32_t acc[kLanes];
  uint32_t pending[kLanes];
#pragma HLS ARRAY_PARTITION variable = acc complete
#pragma HLS ARRAY_PARTITION variable = pending complete
ClearAcc:
  for (uint32_t p = 0; p < kLanes; ++p) {
#pragma HLS UNROLL
    acc[p] = 0;
    pending[p] = 0;
  }
  uint32_t group = 0;
  uint32_t step = 0;
  uint32_t group_row = args.store_row;  // invariant: store_row + group * steps
  uint32_t pending_group = 0;
  uint32_t drained = kDrainSteps;  // drain steps done for pending_group; kDrainSteps: none due
  uint64_t bits = 0;               // the output word the drain assembles
  // II = 1: per cycle each store bank is read once (lane p reads bank p, array partitioned by
  // bank), the input bits once per bank (a buffer the loop never writes), each params bank once
  // (the drain's rows are consecutive, row % kDrainLanes = i: bank i), and one output word
  // (BNN_DENSE) or one score per score bank (bank i) is written. The only recurrences are
  // one-cycle adds (acc, counters).
Lanes:
  for (uint32_t it = 0; it < kMaxLaneLoopIterations; ++it) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 8 max = 4096
    if (it >= iterations) break;
    clock.Tick(1);
    if (group < groups && step < steps) {
      const uint64_t x = ReadBits(in, step);
    Pe:
      for (uint32_t p = 0; p < kLanes; ++p) {
#pragma HLS UNROLL
        acc[p] += PopCount64(store[group_row + step][p] ^ x);
      }
    }
    if (drained < kDrainSteps) {
      const uint32_t first = pending_group * kLanes + drained * kDrain;
      if (!args.scores && first % 64 == 0) bits = 0;
    Drain:
      for (uint32_t i = 0; i < kDrain; ++i) {
#pragma HLS UNROLL
        // invariant: row = first + i, so row % kDrainLanes = i
        const uint32_t row = first + i;
        const int32_t dot = static_cast<int32_t>(args.n_in) -
                            2 * static_cast<int32_t>(pending[drained * kDrain + i]);
        const int32_t param = bias[i][args.param_row + row / kDrain];
        if (row < args.rows) {
          if (args.scores) {
            scores[row / kScoreBanks][i] = dot + param;
          } else {
            bits |= static_cast<uint64_t>(dot >= param) << (row % 64);
          }
        }
      }
      if (!args.scores) WriteBits(out, first / 64, bits);
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
        pending_group = group;
        drained = 0;
        ++group;
        group_row += steps;
        step = 0;
      } else {
        ++step;
      }
    }
  }
  clock.Add(kDepthMac);
}

}  // namespace engine
}  // namespace pynq

#endif  // PYNQ_OVERLAYS_NN_ENGINE_BNN_DENSE_H_
