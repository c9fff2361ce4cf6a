// INT8_DENSE (op 5) and INT8_DENSE_SCORES (op 6): the int8 dense layer with int32 accumulators,
// weights [n_out][n_in] streamed from DDR one 64-bit word (8 MACs) per cycle, activations from an
// on-chip buffer (accel/model/MODEL_FORMAT.md "Int8 ops").
//   acc_i = bias_i + sum_j w_ij * x_j
//   INT8_DENSE:        out_i = Requantize(acc_i, M_i, n_i, lo)
//   INT8_DENSE_SCORES: scores_i = acc_i
#ifndef PYNQ_OVERLAYS_NN_ENGINE_INT8_DENSE_H_
#define PYNQ_OVERLAYS_NN_ENGINE_INT8_DENSE_H_

#include <cstdint>

#include "overlays/nn_engine/engine_config.h"
#include "overlays/nn_engine/int8_arith.h"

namespace pynq {
namespace engine {

// The layer's arguments, from its descriptor.
struct Int8DenseArgs {
  uint32_t n_in;         // 1..kMaxFeatures (checked by ReadProgram)
  uint32_t n_out;        // 1..kMaxFeatures; INT8_DENSE_SCORES: 1..kMaxClasses
  uint32_t rows_word;    // the weights blob, in words from the start of WEIGHTS
  uint32_t params_word;  // the params blob
  bool relu;             // arg[1] (INT8_DENSE)
  bool scores;           // INT8_DENSE_SCORES
};

// \param rq scratch for the layer's requantization params (a BRAM the engine reuses per layer)
template <typename Port>
void Int8Dense(const Port& weights, const Int8DenseArgs& args, const int8_t in[kMaxFeatures],
               Requantizer& rq, int8_t out[kMaxFeatures], int32_t out_scores[kMaxClasses]) {
  if (!args.scores) LoadRequantizer(weights, args.params_word, args.n_out, args.relu, rq);
Rows:
  for (uint32_t row = 0; row < kMaxFeatures; ++row) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 4096
    if (row >= args.n_out) break;
    const int32_t dot = StreamDot(weights, args.rows_word, row * args.n_in, args.n_in, in);
    const int32_t bias =
        args.scores ? ParamAt(weights, args.params_word, row) : rq.bias[row];
    // int64, then back: a corrupt bias cannot overflow (valid models keep |acc| < 2^27).
    const int32_t acc = static_cast<int32_t>(int64_t{bias} + dot);
    if (args.scores) {
      out_scores[row] = acc;
    } else {
      out[row] = static_cast<int8_t>(Requantize(acc, rq.multiplier[row], rq.shift[row], rq.lo));
    }
  }
}

}  // namespace engine
}  // namespace pynq

#endif  // PYNQ_OVERLAYS_NN_ENGINE_INT8_DENSE_H_
