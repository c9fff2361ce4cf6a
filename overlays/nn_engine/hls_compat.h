// The one place where the engine's sources differ between Vitis HLS synthesis and C simulation
// with plain g++. Everything else in overlays/nn_engine/ is the same text for both.
//
// HLS pragmas are left in the sources as `#pragma HLS ...`; g++ ignores them (the CMake target
// builds with -Wno-unknown-pragmas, since GCC 12 cannot silence that warning from a header).
#ifndef PYNQ_OVERLAYS_NN_ENGINE_HLS_COMPAT_H_
#define PYNQ_OVERLAYS_NN_ENGINE_HLS_COMPAT_H_

#include <cstdint>

namespace pynq {
namespace engine {

// Number of set bits of a 64-bit word: a single instruction on the host; under synthesis an
// unrolled sum that Vitis HLS maps to an adder tree of LUTs.
inline uint32_t PopCount64(uint64_t x) {
#ifdef __SYNTHESIS__
  uint32_t count = 0;
Bits:
  for (int b = 0; b < 64; ++b) {
#pragma HLS UNROLL
    count += static_cast<uint32_t>((x >> b) & 1u);
  }
  return count;
#else
  return static_cast<uint32_t>(__builtin_popcountll(x));
#endif
}

}  // namespace engine
}  // namespace pynq

#endif  // PYNQ_OVERLAYS_NN_ENGINE_HLS_COMPAT_H_
