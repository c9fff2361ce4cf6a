// BNN_DENSE (op 2) and BNN_DENSE_SCORES (op 3): the binarized dense layer, XNOR-popcount over
// packed bits with the weights streamed from DDR (accel/model/MODEL_FORMAT.md). Row i of the weights is
// ceil(n_in/64) u64 words; dot_i = n_in - 2 * popcount(row_i XOR input).
//
// Folding: output rows are taken kPe at a time (a tile), and each PE consumes kSimd words of its
// row per cycle, so a tile takes ceil(words / kSimd) cycles of compute.
//   invariant: row = tile * kPe + pe, word = step * kSimd + s
#ifndef PYNQ_OVERLAYS_NN_ENGINE_BNN_DENSE_H_
#define PYNQ_OVERLAYS_NN_ENGINE_BNN_DENSE_H_

#include <cstdint>

#include "overlays/nn_engine/engine_config.h"
#include "overlays/nn_engine/hls_compat.h"
#include "overlays/nn_engine/program.h"

namespace pynq {
namespace engine {

// \tparam Config an EngineConfig
// \param weights  the weights port; this layer's rows start at word `rows_word`, its n_out int32
//                 params (thresholds or biases) at word `params_word`
// \param in       packed input bits (ceil(n_in/64) meaningful words, zero padding)
// \param scores   false: out_bits[i] = dot_i >= threshold_i (BNN_DENSE);
//                 true: out_scores[i] = dot_i + bias_i (BNN_DENSE_SCORES)
template <typename Config, typename Port>
void BnnDense(const Port& weights, uint32_t rows_word, uint32_t params_word, uint32_t n_in,
              uint32_t n_out, bool scores, const uint64_t in[Config::kMaxWords],
              uint64_t out_bits[Config::kMaxWords], int32_t out_scores[kMaxClasses]) {
  const uint32_t words = (n_in + 63) / 64;
  const uint32_t tiles = (n_out + Config::kPe - 1) / Config::kPe;
ClearOut:
  for (uint32_t w = 0; w < Config::kMaxWords; ++w) {
#pragma HLS UNROLL factor = 8
    out_bits[w] = 0;
  }
Tiles:
  for (uint32_t t = 0; t < kMaxFeatures / Config::kPe; ++t) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 512
    if (t >= tiles) break;
    uint32_t differing[Config::kPe];
#pragma HLS ARRAY_PARTITION variable = differing complete
  ClearAcc:
    for (uint32_t p = 0; p < Config::kPe; ++p) {
#pragma HLS UNROLL
      differing[p] = 0;
    }
  Steps:
    for (uint32_t step = 0; step < Config::kMaxWords / Config::kSimd; ++step) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 32
      if (step * Config::kSimd >= words) break;
    Pe:
      for (uint32_t p = 0; p < Config::kPe; ++p) {
#pragma HLS UNROLL
        const uint32_t row = t * Config::kPe + p;
      Simd:
        for (uint32_t s = 0; s < Config::kSimd; ++s) {
#pragma HLS UNROLL
          const uint32_t w = step * Config::kSimd + s;
          if (row < n_out && w < words) {
            differing[p] += PopCount64(weights.Read(rows_word + row * words + w) ^ in[w]);
          }
        }
      }
    }
  Outputs:
    for (uint32_t p = 0; p < Config::kPe; ++p) {
#pragma HLS PIPELINE II = 1
      const uint32_t row = t * Config::kPe + p;
      if (row >= n_out) break;
      const uint64_t pair = weights.Read(params_word + row / 2);
      const int32_t param = static_cast<int32_t>(row % 2 == 0 ? Lo(pair) : Hi(pair));
      const int32_t dot = static_cast<int32_t>(n_in) - 2 * static_cast<int32_t>(differing[p]);
      if (scores) {
        out_scores[row] = dot + param;
      } else {
        out_bits[row / 64] |= static_cast<uint64_t>(dot >= param) << (row % 64);
      }
    }
  }
}

}  // namespace engine
}  // namespace pynq

#endif  // PYNQ_OVERLAYS_NN_ENGINE_BNN_DENSE_H_
