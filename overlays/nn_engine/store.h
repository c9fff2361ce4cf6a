// The engine's on-chip weight store: what stays in BRAM (UltraRAM on the KV260) between calls.
// kLanes banks of 64-bit weight words, kDrainLanes banks of params (bias, multiplier, shift per
// channel), and the table of resident copies: which program's weights sit in which rows, under
// which key (registers.h "Commands").
//
//   EngineStore<Config> store;                 // the virtual board keeps one per board
//   RunEngine<Config>(..., store.weights, store.bias, store.multiplier, store.shift,
//                     store.slots, ...);
//   store.ForgetResidents();                   // what a reset of the engine does
//
// Layout of the weights and params: plan.h. The synthesized top function (nn_engine.cc) keeps
// the arrays as static variables, which Vitis HLS implements as memories that keep their
// contents between calls.
#ifndef PYNQ_OVERLAYS_NN_ENGINE_STORE_H_
#define PYNQ_OVERLAYS_NN_ENGINE_STORE_H_

#include <cstdint>

#include "overlays/nn_engine/abi/registers.h"
#include "overlays/nn_engine/engine_config.h"

namespace pynq {
namespace engine {

// One resident copy: key 0 is an empty slot.
struct ResidentSlot {
  uint32_t key;
  uint32_t weights_base;
  uint32_t params_base;
  uint32_t rows;
  uint32_t params;
};

// Whether two ranges of rows [a, a + an) and [b, b + bn) share a row.
inline bool RowsOverlap(uint32_t a, uint32_t an, uint32_t b, uint32_t bn) {
  return a < b + bn && b < a + an;
}

template <typename Config>
struct EngineStore {
  uint64_t weights[Config::kStoreRows][Config::kLanes];
  int32_t bias[Config::kDrainLanes][Config::kParamRows];
  int32_t multiplier[Config::kDrainLanes][Config::kParamRows];
  uint8_t shift[Config::kDrainLanes][Config::kParamRows];
  ResidentSlot slots[kResidentSlots];

  EngineStore() { ForgetResidents(); }
  void ForgetResidents() {
    for (ResidentSlot& slot : slots) slot = ResidentSlot{0, 0, 0, 0, 0};
  }
};

}  // namespace engine
}  // namespace pynq

#endif  // PYNQ_OVERLAYS_NN_ENGINE_STORE_H_
