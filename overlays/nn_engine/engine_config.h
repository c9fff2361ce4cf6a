// Compile-time configuration of the engine: its parallelism and the limits of its on-chip
// buffers, as typed structs (in the manner of hls4ml's layer configs), never macros.
//
//   using Config = DefaultEngineConfig;         // what the shipped bitstreams are built with
//   static_assert(Config::kPe * Config::kSimd <= 64, "...");
//
// A different parallelism is a different struct passed as the template argument of
// RunEngine(); the driver learns the one in the bitstream from the caps register.
#ifndef PYNQ_OVERLAYS_NN_ENGINE_ENGINE_CONFIG_H_
#define PYNQ_OVERLAYS_NN_ENGINE_ENGINE_CONFIG_H_

#include <cstdint>

#include "overlays/nn_engine/abi/limits.h"
#include "overlays/nn_engine/abi/ops.h"

namespace pynq {
namespace engine {

// The ops this engine build executes (all of ABI v1); others are rejected with
// kStatusUnsupportedOp.
constexpr uint32_t kImplementedOps = kAbiV1Ops;

// \tparam kPe   output neurons a binarized dense layer computes in parallel (processing elements)
// \tparam kSimd 64-bit weight words each PE consumes per cycle
// \tparam kAxiWords 64-bit words the m_axi port moves per cycle (64-bit HP port on Zynq-7000: 1;
//               128-bit HP port on Zynq UltraScale+: 2)
template <uint32_t Pe, uint32_t Simd, uint32_t AxiWords>
struct EngineConfig {
  static constexpr uint32_t kPe = Pe;
  static constexpr uint32_t kSimd = Simd;
  static constexpr uint32_t kAxiWords = AxiWords;
  // Packed-bit activations of the widest layer.
  static constexpr uint32_t kMaxWords = kMaxFeatures / 64;
  // Taps of an int8 convolution multiplied per cycle (from the on-chip input tensor and kernel).
  static constexpr uint32_t kConvLanes = 8;
  // One image is read as 8-pixel words.
  static constexpr uint32_t kMaxInputWords = kMaxFeatures / 8;
  static_assert(kPe >= 1 && kPe <= 64, "PE must be 1..64");
  static_assert(kSimd >= 1 && kMaxWords % kSimd == 0, "SIMD must divide the activation words");
  static_assert(kAxiWords == 1 || kAxiWords == 2 || kAxiWords == 4, "AXI port of 64/128/256 bits");
};

// What the shipped bitstreams (PYNQ-Z2 and KV260) are built with.
using DefaultEngineConfig = EngineConfig<8, 2, 1>;

}  // namespace engine
}  // namespace pynq

#endif  // PYNQ_OVERLAYS_NN_ENGINE_ENGINE_CONFIG_H_
