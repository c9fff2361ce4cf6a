// INT8_DENSE (op 5) and INT8_DENSE_SCORES (op 6): the int8 dense layer with int32 accumulators
// (accel/model/MODEL_FORMAT.md "Int8 ops"):
//   acc_i = bias_i + sum_j w_ij * x_j
//   INT8_DENSE:        out_i = Requantize(acc_i, M_i, n_i, lo)
//   INT8_DENSE_SCORES: scores_i = acc_i
//
// The MAC array: kLanes rows at a time (a group), lane p computing row group * kLanes + p from
// store bank p, eight int8 MACs per cycle (one store word against eight inputs, Dot8), so a
// group takes ceil(n_in / 8) cycles and the array does kLanes x 8 = 128 MACs per cycle. The
// kLanes accumulators then drain through kDrainLanes requantization units while the lanes work
// on the next group: a group takes max(words, kLanes / kDrainLanes) cycles (bnn_dense.h's loop,
// with multiplies for popcounts). The arithmetic is the ABI's (abi/arith.h), the same code the
// CPU backend runs.
//   invariant: row = group * kLanes + p, its word w at store row store_row + group * words + w
#ifndef PYNQ_OVERLAYS_NN_ENGINE_INT8_DENSE_H_
#define PYNQ_OVERLAYS_NN_ENGINE_INT8_DENSE_H_

#include <cstdint>

#include "overlays/nn_engine/abi/arith.h"
#include "overlays/nn_engine/act_buffers.h"
#include "overlays/nn_engine/bnn_dense.h"
#include "overlays/nn_engine/engine_config.h"
#include "overlays/nn_engine/hls_compat.h"
#include "overlays/nn_engine/plan.h"

namespace pynq {
namespace engine {

// acc = bias + dot in int64 and back: a corrupt bias cannot overflow (valid models keep
// |acc| < 2^27), then the requantization (INT8_DENSE, INT8_CONV).
inline int32_t BiasedAcc(int32_t bias, int32_t dot) {
  return static_cast<int32_t>(int64_t{bias} + dot);
}

// \param in     int8 activations, n_in meaningful (those past n_in meet zero weights)
// \param out    INT8_DENSE: `rows` int8 outputs
// \param scores INT8_DENSE_SCORES: `rows` scores
// Params of row i: bank i % kDrainLanes, row param_row + i / kDrainLanes.
template <typename Config>
void Int8Dense(const DenseArgs& args, const uint64_t store[Config::kStoreRows][Config::kLanes],
               const int32_t bias[Config::kDrainLanes][Config::kParamRows],
               const int32_t multiplier[Config::kDrainLanes][Config::kParamRows],
               const uint8_t shift[Config::kDrainLanes][Config::kParamRows],
               const int8_t in[kActRows][kActBanks], int8_t out[kActRows][kActBanks],
               int32_t scores[kScoreRows][kScoreBanks], Clock& clock) {
  constexpr uint32_t kLanes = Config::kLanes;
  constexpr uint32_t kDrain = Config::kDrainLanes;
  constexpr uint32_t kDrainSteps = kLanes / kDrain;
  static_assert(kDrain == kScoreBanks, "a drain step writes one score per score bank");
  const uint32_t steps = CeilDiv32(args.n_in, 8);
  const uint32_t groups = CeilDiv32(args.rows, kLanes);
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
  uint32_t group = 0;
  uint32_t step = 0;
  uint32_t group_row = args.store_row;  // invariant: store_row + group * steps
  uint32_t pending_group = 0;
  uint32_t drained = kDrainSteps;  // drain steps done for pending_group; kDrainSteps: none due
  // II = 1: per cycle each store bank is read once (lane p, bank p); the inputs are one 16-byte
  // window of `in` (ReadWindow: one read per bank; the loop never writes `in`); each params
  // array is read once per bank (the drain's rows are consecutive, row % kDrainLanes = i: bank
  // i); `out` gets kDrainLanes consecutive elements (WriteRun: at most one write per bank) or
  // `scores` one per score bank. The recurrences are one-cycle adds (acc, counters).
Lanes:
  for (uint32_t it = 0; it < kMaxLaneLoopIterations; ++it) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 8 max = 4096
    if (it >= iterations) break;
    clock.Tick(1);
    if (group < groups && step < steps) {
      const Entry window = ReadWindow(in, 8 * step);
      uint64_t w[kLanes];
      uint64_t x[kLanes];
#pragma HLS ARRAY_PARTITION variable = w complete
#pragma HLS ARRAY_PARTITION variable = x complete
    Pe:
      for (uint32_t p = 0; p < kLanes; ++p) {
#pragma HLS UNROLL
        w[p] = store[group_row + step][p];
        x[p] = window.lo;  // the same eight inputs for every row
      }
      MacLanes<kLanes>(w, x, acc);
    }
    if (drained < kDrainSteps) {
      const uint32_t first = pending_group * kLanes + drained * kDrain;
      Entry values = {0, 0};
    Drain:
      for (uint32_t i = 0; i < kDrain; ++i) {
#pragma HLS UNROLL
        // invariant: row = first + i, so row % kDrainLanes = i
        const uint32_t row = first + i;
        const uint32_t prow = args.param_row + row / kDrain;
        const int32_t acc_i = BiasedAcc(bias[i][prow], pending[drained * kDrain + i]);
        if (args.scores) {
          if (row < args.rows) scores[row / kScoreBanks][i] = acc_i;
        } else {
          const int32_t q = Requantize(acc_i, multiplier[i][prow], shift[i][prow], lo);
          values.lo |= static_cast<uint64_t>(static_cast<uint8_t>(q)) << (8 * i);
        }
      }
      if (!args.scores && first < args.rows) {
        const uint32_t left = args.rows - first;
        WriteRun(out, first, values, left < kDrain ? left : kDrain);
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

#endif  // PYNQ_OVERLAYS_NN_ENGINE_INT8_DENSE_H_
