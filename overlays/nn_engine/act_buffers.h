// The on-chip activation buffers, as banks that every access addresses so that Vitis HLS can
// prove that a pipelined loop touches each bank at most once per cycle (the array is partitioned
// on its second dimension, the bank):
//   - int8 tensors: kActBanks (16) banks, element e in bank e % 16, row e / 16. A window of 16
//     consecutive elements starting anywhere holds exactly one element of every bank
//     (hls_compat.h BankedWindow: each bank read once at its own row, then a rotation).
//   - packed bits: 2 banks of 64-bit words, word w in bank w % 2, row w / 2.
//   - scores: kScoreBanks (4) banks of int32, score i in bank i % 4, row i / 4.
//
//   const Entry window = ReadWindow(act, e);     // elements e .. e + 15 (wrapping)
//   WriteRun(act, e, values, 4);                 // elements e .. e + 3 = bytes 0..3 of values
//
// Elements past a tensor's end hold whatever an earlier layer left: the layers read them only
// where a zero weight multiplies them or a mask drops them.
#ifndef PYNQ_OVERLAYS_NN_ENGINE_ACT_BUFFERS_H_
#define PYNQ_OVERLAYS_NN_ENGINE_ACT_BUFFERS_H_

#include <cstdint>

#include "overlays/nn_engine/abi/limits.h"
#include "overlays/nn_engine/hls_compat.h"

namespace pynq {
namespace engine {

constexpr uint32_t kActBanks = 16;
constexpr uint32_t kActRows = kMaxFeatures / kActBanks;
constexpr uint32_t kBitBanks = 2;
constexpr uint32_t kBitRows = kMaxFeatures / 64 / kBitBanks;
constexpr uint32_t kScoreBanks = 4;
constexpr uint32_t kScoreRows = kMaxClasses / kScoreBanks;

// Elements e .. e + 15 (mod kMaxFeatures) of an int8 tensor: one read per bank.
inline Entry ReadWindow(const int8_t act[kActRows][kActBanks], uint32_t e) {
  return BankedWindow<kActRows>(act, e);
}

// Elements e .. e + n - 1 (n <= 16, no wrap past kMaxFeatures) = bytes 0 .. n - 1 of `values`:
// at most one write per bank.
inline void WriteRun(int8_t act[kActRows][kActBanks], uint32_t e, const Entry& values,
                     uint32_t n) {
  BankedWrite<kActRows>(act, e, values, n);
}

// Packed word w.
inline uint64_t ReadBits(const uint64_t bits[kBitRows][kBitBanks], uint32_t w) {
  const uint64_t even = bits[w / kBitBanks][0];
  const uint64_t odd = bits[w / kBitBanks][1];
  return w % kBitBanks == 0 ? even : odd;
}

inline void WriteBits(uint64_t bits[kBitRows][kBitBanks], uint32_t w, uint64_t value) {
  if (w % kBitBanks == 0) {
    bits[w / kBitBanks][0] = value;
  } else {
    bits[w / kBitBanks][1] = value;
  }
}

}  // namespace engine
}  // namespace pynq

#endif  // PYNQ_OVERLAYS_NN_ENGINE_ACT_BUFFERS_H_
